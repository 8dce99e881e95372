"""Packet and byte counters per aligned time window (devicetraffic, deviceapptraffic).

A window starts at floor(ts / W) * W (bug 6: the original stamped records with a lagging
window end). Blocks are summed with numpy group-bys; a window is written once no packet can
still fall into it: when the newest packet seen is LATENESS past its end. Packets that arrive
later than that (a capture reordered by more than two minutes) are counted and reported,
and their window then has a second row.
"""

from __future__ import annotations

import numpy as np

LATENESS_US = 120 * 1_000_000
COUNTERS = ("packets_out", "bytes_out", "packets_in", "bytes_in")
_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xA24BAED4963EE407)

Columns = dict[str, np.ndarray]


def direction_counters(outgoing: np.ndarray, ip_len: np.ndarray) -> Columns:
    """Per packet: 1/ip_len in the out or the in columns."""
    out = outgoing.astype(np.int64)
    inn = 1 - out
    return {"packets_out": out, "bytes_out": ip_len * out, "packets_in": inn, "bytes_in": ip_len * inn}


def hash_columns(cols: Columns, names: tuple[str, ...]) -> np.ndarray:
    """A 64-bit hash of the named columns, used to sort; equality is always checked on fields."""
    h = np.zeros(len(cols[names[0]]), np.uint64)
    with np.errstate(over="ignore"):
        for name, mult in zip(names, _MIX, strict=False):
            h = (h ^ cols[name].astype(np.uint64)) * np.uint64(mult)
            h ^= h >> np.uint64(29)
    return h


def group_order(cols: Columns, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(order, run starts): rows sorted so equal keys are adjacent (arrival order kept within a
    key), and the positions in that order where a new key begins."""
    h = hash_columns(cols, names)
    order = np.argsort(h, kind="stable")
    new = np.ones(len(order), bool)
    same_hash = h[order][1:] == h[order][:-1]
    new[1:] = ~same_hash
    for name in names:
        col = cols[name][order]
        differs = col[1:] != col[:-1]
        if np.any(same_hash & differs):  # a hash collision: sort on the fields themselves
            order = np.lexsort([cols[k] for k in reversed(names)])
            return order, _starts_by_fields(cols, names, order)
    return order, np.flatnonzero(new)


def _starts_by_fields(cols: Columns, names: tuple[str, ...], order: np.ndarray) -> np.ndarray:
    new = np.zeros(len(order), bool)
    new[0] = True
    for name in names:
        col = cols[name][order]
        new[1:] |= col[1:] != col[:-1]
    return np.flatnonzero(new)


def group_sum(cols: Columns, keys: tuple[str, ...], sums: tuple[str, ...]) -> Columns:
    """One row per distinct key: the key columns and the sums of the `sums` columns."""
    if not len(cols[keys[0]]):
        return cols
    order, starts = group_order(cols, keys)
    out = {k: cols[k][order[starts]] for k in keys}
    for name in sums:
        out[name] = np.add.reduceat(cols[name][order], starts)
    return out


class WindowCounter:
    """Sums of the four counters per (window start, key columns)."""

    def __init__(self, width_us: int, keys: tuple[str, ...] = ()) -> None:
        if width_us <= 0:
            raise ValueError("the window must be a positive number of seconds")
        self.width, self.keys = width_us, ("win", *keys)
        self.pending: list[Columns] = []
        self.flushed_before = np.iinfo(np.int64).min  # windows below this were written
        self.late_packets = 0

    def add(self, ts_us: np.ndarray, keys: Columns, counters: Columns) -> None:
        if not len(ts_us):
            return
        start = ts_us // self.width * self.width
        self.late_packets += int(np.count_nonzero(start < self.flushed_before))
        self.pending.append(group_sum({"win": start, **keys, **counters}, self.keys, COUNTERS))

    def flush(self, newest_us: int | None) -> Columns | None:
        """Windows complete given the newest packet time (None: end of capture, all of them)."""
        if not self.pending:
            return None
        if len(self.pending) > 1:
            merged = {k: np.concatenate([p[k] for p in self.pending]) for k in self.pending[0]}
            merged = group_sum(merged, self.keys, COUNTERS)
        else:
            merged = self.pending[0]
        if newest_us is None:
            self.pending, done = [], merged
        else:
            limit = newest_us - LATENESS_US - self.width  # window start <= limit: complete
            is_done = merged["win"] <= limit
            done = {k: v[is_done] for k, v in merged.items()}
            rest = {k: v[~is_done] for k, v in merged.items()}
            self.pending = [rest] if len(rest["win"]) else []
            self.flushed_before = max(self.flushed_before, limit + 1)
        return done if len(done["win"]) else None
