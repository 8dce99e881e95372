"""The original's periodicity ("spike") filter, corrected (reference 4.4 phase B, bugs 28-31).

Per (device, host) time series:
 1. round every inter-event time (IAT) to a coarse grid (`round_iats`);
 2. the gap is the first rounded IAT whose ECDF exceeds `gap_quantile` (0.9);
 3. split the series into intervals wherever a rounded IAT exceeds the gap;
 4. in an interval with 2-5 IATs a value v != 0 holding > `share_small` (50%) of them, or with
    more than 5 IATs a value holding > `share_large` (30%), is a potential spike;
 5. theo = round(interval duration / v), real = the number of IATs equal to v; the margin is
    0.2 if theo <= 10, 0.15 if theo <= 100, else 0.1;
 6. if real >= theo * (1 - margin) the whole interval is periodic and dropped; otherwise only
    the events whose IAT to their predecessor rounds to v are dropped;
 7. repeat until nothing changes.

Corrections: the series is the whole (device, host) history, or calendar-aligned blocks of
`block` seconds (final_algorithm's 5-minute blocks without its duplicated and lost boundary
events, bug 28); DNS and HTTP events keep their own host (bug 29); a host is shared across
devices (the "collaborative blacklist") only when `share_hosts` and only when a whole interval
was periodic, not when any spike was removed (bug 29); the window is not reversed and the scan
is linear per series (bug 31).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Grid values above 5 s; an IAT x > 5 maps to the grid value g_i with x in (b_{i-1}, b_i], b the
# midpoints (the first interval is (5, 15] -> 10 as in the original's get_approximation).
ORIGINAL_GRID: tuple[int, ...] = (
    10, 20, 30, 40, 60, 90, 120, 150, 180, 210, 240,
    *range(300, 601, 60), *range(750, 1201, 150), *range(1500, 3001, 300),
    *range(3600, 7201, 900), *range(9000, 18001, 1800), *range(21600, 36001, 3600), 43200,
)


def round_iats(iats: np.ndarray, grid: tuple[int, ...] = ORIGINAL_GRID, exact_upto: float = 5.0
               ) -> np.ndarray:
    """IATs <= exact_upto rounded to integers (half up), larger ones to the grid."""
    x = np.asarray(iats, float)
    g = np.asarray(grid, float)
    bounds = np.append((g[:-1] + g[1:]) / 2, np.inf)
    coarse = g[np.searchsorted(bounds, x, side="left").clip(0, g.size - 1)]
    return np.where(x <= exact_upto, np.floor(x + 0.5), coarse)


def ecdf_gap(rounded: np.ndarray, quantile: float) -> float:
    """The first value whose ECDF y is > quantile."""
    values, counts = np.unique(rounded, return_counts=True)
    y = np.cumsum(counts) / rounded.size
    return float(values[np.argmax(y > quantile)])


@dataclass(frozen=True)
class PeriodicityFilter:
    gap_quantile: float = 0.9
    share_small: float = 0.5  # intervals with 2..small_max IATs
    share_large: float = 0.3  # intervals with more IATs
    small_max: int = 5
    margins: tuple[float, float, float] = (0.2, 0.15, 0.1)  # theo <= 10, <= 100, larger
    grid: tuple[int, ...] = ORIGINAL_GRID
    block: int | None = None  # None: whole series; else calendar-aligned blocks of this size (s)
    share_hosts: bool = False  # drop a periodic host on every device (collaborative list)
    max_rounds: int = 100
    name: str = "periodicity"

    def margin(self, theo: float) -> float:
        return self.margins[0] if theo <= 10 else self.margins[1] if theo <= 100 else self.margins[2]

    def keep(self, events: pd.DataFrame) -> np.ndarray:
        keep = np.ones(len(events), bool)
        periodic_hosts: set[str] = set()
        ts = events["ts"].to_numpy(float)
        keys = [events["devid"], events["host"]]
        if self.block:
            keys.append(pd.Series(np.floor(ts / self.block), index=events.index))
        for key, idx in events.groupby(keys, sort=False).indices.items():
            if idx.size < 3:
                continue
            order = idx[np.argsort(ts[idx], kind="stable")]
            alive, periodic = self.filter_series(ts[order])
            keep[order] = alive
            if periodic:
                periodic_hosts.add(key[1])
        if self.share_hosts and periodic_hosts:
            keep &= ~events["host"].isin(periodic_hosts).to_numpy()
        return keep

    def filter_series(self, ts: np.ndarray) -> tuple[np.ndarray, bool]:
        """Keep mask of one sorted series, and whether a whole interval was periodic."""
        alive = np.ones(ts.size, bool)
        periodic = False
        for _ in range(self.max_rounds):
            pos = np.flatnonzero(alive)
            if pos.size < 3:
                break
            drop, whole = self._one_round(ts[pos])
            if not drop.any():
                break
            alive[pos[drop]] = False
            periodic |= whole
        return alive, periodic

    def _one_round(self, t: np.ndarray) -> tuple[np.ndarray, bool]:
        r = round_iats(np.diff(t), self.grid)
        gap = ecdf_gap(r, self.gap_quantile)
        cuts = np.flatnonzero(r > gap) + 1  # first point of each later interval
        firsts = np.concatenate([[0], cuts])
        lasts = np.concatenate([cuts - 1, [t.size - 1]])
        drop = np.zeros(t.size, bool)
        whole_any = False
        for a, b in zip(firsts, lasts, strict=True):
            whole = self._interval(t, r, int(a), int(b), drop)
            whole_any |= whole
        return drop, whole_any

    def _interval(self, t: np.ndarray, r: np.ndarray, a: int, b: int, drop: np.ndarray) -> bool:
        iats = r[a:b]  # IATs between points a..b of this interval
        n = iats.size
        if n < 2:
            return False
        values, counts = np.unique(iats, return_counts=True)
        share = self.share_small if n <= self.small_max else self.share_large
        spikes = (values != 0) & (counts / n > share)
        if not spikes.any():
            return False
        best = np.flatnonzero(spikes)[np.argmax(counts[spikes])]
        v, real = float(values[best]), int(counts[best])
        theo = int(np.floor((t[b] - t[a]) / v + 0.5))  # half up, not banker's
        if real >= theo * (1 - self.margin(theo)):
            drop[a:b + 1] = True
            return True
        drop[a + 1:b + 1][iats == v] = True
        return False
