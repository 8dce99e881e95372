"""Flows: packets of one device-oriented 5-tuple until an idle gap longer than the timeout.

The gap is compared in microseconds (total time, bug 7: the original's timedelta.seconds
ignored days, so a gap of 1 day + 10 s did not split a flow). Per block, open flows and the
block's packets are sorted together by tuple (stable, so arrival order is kept), split where
the tuple changes or the gap exceeds the timeout, and reduced with numpy. A flow is written
when it cannot grow any more: a later flow of the same tuple exists, or the newest packet of
the capture is more than timeout + lateness past its end. Flows never span capture files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ucnstudy.sources.pcap.counters import COUNTERS, LATENESS_US, group_order, hash_columns

KEYS = ("local_hi", "local_lo", "remote_hi", "remote_lo", "proto", "local_port", "remote_port")


def key_hash(keys: dict[str, np.ndarray]) -> np.ndarray:
    """The 64-bit hash of the device-oriented tuple (sorting and payload bookkeeping)."""
    return hash_columns(keys, KEYS)


@dataclass
class FlowRows:
    """Finished flows as arrays: tuple fields, first and last packet time, counters."""

    cols: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.cols["start"])


class FlowTable:
    def __init__(self, timeout_us: int = 300 * 1_000_000) -> None:
        self.timeout = timeout_us
        self.open: dict[str, np.ndarray] | None = None

    def add(self, ts_us: np.ndarray, keys: dict[str, np.ndarray], counters: dict[str, np.ndarray],
            newest_us: int | None) -> FlowRows | None:
        """Merge a block's packets; return the flows that are finished."""
        rows = {**{k: keys[k].astype(np.uint64) for k in KEYS}, "start": ts_us, "end": ts_us,
                **{c: counters[c] for c in COUNTERS}}
        if self.open is not None:
            rows = {k: np.concatenate([self.open[k], rows[k]]) for k in rows}
        return self._segment(rows, newest_us)

    def finish(self) -> FlowRows | None:
        if self.open is None:
            return None
        done, self.open = self.open, None
        return FlowRows(done)

    def _segment(self, rows: dict[str, np.ndarray], newest_us: int | None) -> FlowRows | None:
        order, key_starts = group_order(rows, KEYS)
        rows = {k: v[order] for k, v in rows.items()}
        n = len(rows["start"])
        new_key = np.zeros(n, bool)
        new_key[key_starts] = True
        gap = np.zeros(n, np.int64)
        gap[1:] = rows["start"][1:] - rows["end"][:-1]
        starts = np.flatnonzero(new_key | (gap > self.timeout))
        seg = {k: rows[k][starts] for k in KEYS}
        seg["start"] = np.minimum.reduceat(rows["start"], starts)
        seg["end"] = np.maximum.reduceat(rows["end"], starts)
        for c in COUNTERS:
            seg[c] = np.add.reduceat(rows[c], starts)
        # a segment is the last of its tuple when the next segment starts a new tuple
        last_of_key = np.ones(len(starts), bool)
        last_of_key[:-1] = new_key[starts[1:]]
        if newest_us is None:
            done = np.ones(len(starts), bool)
        else:
            done = ~last_of_key | (seg["end"] < newest_us - self.timeout - LATENESS_US)
        self.open = {k: v[~done] for k, v in seg.items()} if not done.all() else None
        return FlowRows({k: v[done] for k, v in seg.items()}) if done.any() else None
