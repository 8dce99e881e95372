"""Sets of seconds as sorted, disjoint, half-open integer intervals [start, end).

Everything in inference is expressed in whole seconds since the Unix epoch (UTC). An interval
set is a pair of int64 arrays (starts, ends) with starts sorted, starts < ends, and
ends[i] < starts[i + 1] (touching intervals are merged). All operations are vectorised numpy
(sort + cumulative sums), O(n log n) in the number of intervals, never a loop over seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

I64 = np.int64


@dataclass(frozen=True)
class Intervals:
    starts: np.ndarray
    ends: np.ndarray

    @staticmethod
    def empty() -> Intervals:
        return Intervals(np.empty(0, I64), np.empty(0, I64))

    @staticmethod
    def of(starts: np.ndarray | list[int], ends: np.ndarray | list[int], tolerance: int = 0) -> Intervals:
        """The union of possibly overlapping, unsorted intervals (see `union`)."""
        return union(np.asarray(starts, I64), np.asarray(ends, I64), tolerance)

    @staticmethod
    def from_seconds(seconds: np.ndarray | list[int]) -> Intervals:
        s = np.asarray(seconds, I64)
        return union(s, s + 1)

    def __len__(self) -> int:
        return int(self.starts.size)

    @property
    def total(self) -> int:
        """Number of seconds covered."""
        return int((self.ends - self.starts).sum())

    def seconds(self) -> np.ndarray:
        """Every covered second (only for small sets: tests and plots)."""
        if not len(self):
            return np.empty(0, I64)
        pairs = zip(self.starts, self.ends, strict=True)
        return np.concatenate([np.arange(a, b, dtype=I64) for a, b in pairs])

    def dilate(self, tolerance: int) -> Intervals:
        """Every second within `tolerance` seconds of a covered second."""
        if tolerance <= 0 or not len(self):
            return self
        return union(self.starts - tolerance, self.ends + tolerance)

    def clip(self, lo: int, hi: int) -> Intervals:
        s = np.maximum(self.starts, lo)
        e = np.minimum(self.ends, hi)
        keep = s < e
        return Intervals(s[keep], e[keep])

    def complement(self, lo: int, hi: int) -> Intervals:
        """The seconds of [lo, hi) not covered (the absence periods of a ground truth)."""
        inner = self.clip(lo, hi)
        starts = np.concatenate([[lo], inner.ends]).astype(I64)
        ends = np.concatenate([inner.starts, [hi]]).astype(I64)
        keep = starts < ends
        return Intervals(starts[keep], ends[keep])

    def contains(self, seconds: np.ndarray) -> np.ndarray:
        """Boolean mask: which of the given seconds are covered."""
        idx = np.searchsorted(self.starts, np.asarray(seconds, I64), side="right") - 1
        ok = idx >= 0
        out = np.zeros(idx.shape, bool)
        out[ok] = np.asarray(seconds, I64)[ok] < self.ends[idx[ok]]
        return out


def union(starts: np.ndarray, ends: np.ndarray, tolerance: int = 0) -> Intervals:
    """Plain interval union; intervals whose gap is <= tolerance seconds are merged.

    This replaces the original's two-pointer `calculate_block_intervals` (bug 26): sort by
    start, a new block begins where the start exceeds the running maximum end + tolerance.
    """
    starts = np.asarray(starts, I64)
    ends = np.asarray(ends, I64)
    keep = starts < ends
    starts, ends = starts[keep], ends[keep]
    if not starts.size:
        return Intervals.empty()
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    running_end = np.maximum.accumulate(ends)
    new_block = np.empty(starts.size, bool)
    new_block[0] = True
    new_block[1:] = starts[1:] > running_end[:-1] + max(tolerance, 0)
    first = np.flatnonzero(new_block)
    last = np.append(first[1:] - 1, starts.size - 1)
    return Intervals(starts[first], running_end[last])


def sweep(*sets: Intervals) -> tuple[np.ndarray, np.ndarray]:
    """Elementary segments of the given sets: (lengths, coverage bitmask per segment).

    Bit k of a segment's mask is set when set k covers it. Every boolean combination of the
    sets (intersection, difference, ...) is a sum of lengths over masks, in one sort.
    """
    if len(sets) > 30:
        raise ValueError("sweep handles at most 30 sets")
    points, deltas = [], []
    for k, s in enumerate(sets):
        bit = np.int64(1 << k)
        points += [s.starts, s.ends]
        deltas += [np.full(len(s), bit, I64), np.full(len(s), -bit, I64)]
    p = np.concatenate(points) if points else np.empty(0, I64)
    if not p.size:
        return np.empty(0, I64), np.empty(0, I64)
    d = np.concatenate(deltas)
    order = np.argsort(p, kind="stable")
    p, d = p[order], d[order]
    mask = np.cumsum(d)  # disjoint sets: each bit's running count is 0 or 1
    lengths = np.diff(p)
    return lengths, mask[:-1]


def intersect(a: Intervals, b: Intervals) -> Intervals:
    return _select(a, b, lambda m: (m & 3) == 3)


def subtract(a: Intervals, b: Intervals) -> Intervals:
    return _select(a, b, lambda m: (m & 3) == 1)


def _select(a: Intervals, b: Intervals, want: object) -> Intervals:
    points = np.concatenate([a.starts, a.ends, b.starts, b.ends])
    if not points.size:
        return Intervals.empty()
    d = np.concatenate([np.full(len(a), 1, I64), np.full(len(a), -1, I64),
                        np.full(len(b), 2, I64), np.full(len(b), -2, I64)])
    order = np.argsort(points, kind="stable")
    points, d = points[order], d[order]
    mask = np.cumsum(d)[:-1]
    sel = want(mask)  # type: ignore[operator]
    return union(points[:-1][sel], points[1:][sel])


def window_rule(seconds: np.ndarray, window: int) -> Intervals:
    """The original's `get_interval_list_predefined_gap`, corrected (bug 27).

    Each event covers its own second; when the next event is <= window seconds later, every
    second up to (not including) the next event is covered too. A single event yields its
    second (the original yielded nothing) and duplicates are harmless.
    """
    s = np.unique(np.asarray(seconds, np.int64))
    if not s.size:
        return Intervals.empty()
    ends = s + 1
    gaps = np.diff(s)
    bridged = gaps <= window
    ends[:-1][bridged] = s[1:][bridged]
    return union(s, np.maximum(ends, s + 1))
