"""Packet and byte counters per aligned time window (devicetraffic, deviceapptraffic).

A window starts at floor(ts / W) * W (bug 6: the original stamped records with a lagging
window end). Blocks are summed with Arrow group-bys; a window is written once no packet can
still fall into it: when the newest packet seen is LATENESS past its end. Packets that arrive
later than that (a capture reordered by more than two minutes) are counted and reported,
and their window then has a second row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LATENESS_US = 120 * 1_000_000
COUNTERS = ("packets_out", "bytes_out", "packets_in", "bytes_in")


def direction_counters(outgoing: np.ndarray, ip_len: np.ndarray) -> dict[str, np.ndarray]:
    """Per packet: 1/ip_len in the out or the in columns."""
    out = outgoing.astype(np.int64)
    inn = 1 - out
    return {"packets_out": out, "bytes_out": ip_len * out, "packets_in": inn, "bytes_in": ip_len * inn}


class WindowCounter:
    """Sums of the four counters per (window start, key columns)."""

    def __init__(self, width_us: int, keys: tuple[str, ...] = ()) -> None:
        if width_us <= 0:
            raise ValueError("the window must be a positive number of seconds")
        self.width, self.keys = width_us, keys
        self.pending: list[pa.Table] = []
        self.flushed_before = np.iinfo(np.int64).min  # windows below this were written
        self.late_packets = 0

    def add(self, ts_us: np.ndarray, keys: dict[str, np.ndarray], counters: dict[str, np.ndarray]
            ) -> None:
        if not len(ts_us):
            return
        start = ts_us // self.width * self.width
        self.late_packets += int(np.count_nonzero(start < self.flushed_before))
        table = pa.table({"win": start, **keys, **counters})
        self.pending.append(self._sum(table))

    def _sum(self, table: pa.Table) -> pa.Table:
        grouped = table.group_by(["win", *self.keys], use_threads=False).aggregate(
            [(c, "sum") for c in COUNTERS])
        return grouped.rename_columns([f"{c}" if c not in {f"{k}_sum" for k in COUNTERS}
                                       else c[:-4] for c in grouped.column_names])

    def flush(self, newest_us: int | None) -> pa.Table | None:
        """Windows complete given the newest packet time (None: end of capture, all of them)."""
        if not self.pending:
            return None
        merged = self._sum(pa.concat_tables(self.pending)) if len(self.pending) > 1 else self.pending[0]
        if newest_us is None:
            self.pending = []
            done = merged
        else:
            limit = newest_us - LATENESS_US - self.width  # window start <= limit: complete
            is_done = pc.less_equal(merged["win"], limit)
            done = merged.filter(is_done)
            rest = merged.filter(pc.invert(is_done))
            self.pending = [rest] if rest.num_rows else []
            self.flushed_before = max(self.flushed_before, limit + 1)
        return done if done.num_rows else None
