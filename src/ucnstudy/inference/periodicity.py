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
        """Keep mask of the events: every (device, host[, block]) series filtered at once."""
        keep = np.ones(len(events), bool)
        ts = events["ts"].to_numpy(float)
        keys = [events["devid"], events["host"]]
        if self.block:
            keys.append(pd.Series(np.floor(ts / self.block), index=events.index))
        # ngroup is NaN for a key with a missing value: such events are in no series (kept)
        group = events.groupby(keys, sort=False).ngroup().fillna(-1).to_numpy(np.int64)
        size = np.bincount(group + 1)[group + 1]
        rows = np.flatnonzero((group >= 0) & (size >= 3))
        # series after series, each in time order (lexsort is stable: ties keep the row order)
        order = rows[np.lexsort((ts[rows], group[rows]))]
        first = np.ones(order.size, bool)
        first[1:] = group[order[1:]] != group[order[:-1]]
        series = np.cumsum(first) - 1
        alive, periodic = self._filter_all(ts[order], series, int(first.sum()))
        keep[order] = alive
        if self.share_hosts and periodic.any():
            hosts = events["host"].to_numpy()[order[first]][periodic]
            keep &= ~events["host"].isin(set(hosts)).to_numpy()
        return keep

    def filter_series(self, ts: np.ndarray) -> tuple[np.ndarray, bool]:
        """Keep mask of one sorted series, and whether a whole interval was periodic."""
        if ts.size < 3:
            return np.ones(ts.size, bool), False
        alive, periodic = self._filter_all(np.asarray(ts, float), np.zeros(ts.size, np.int64), 1)
        return alive, bool(periodic[0])

    def _filter_all(self, ts: np.ndarray, series: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Rounds over every series at once (series: contiguous ids 0..count-1 along ts, each in
        time order) until none changes, as if each series were filtered on its own: a series
        leaves when fewer than 3 events are left or a round drops nothing. Returns the keep mask
        and, per series, whether a whole interval was periodic."""
        alive = np.ones(ts.size, bool)
        periodic = np.zeros(count, bool)
        active = np.ones(count, bool)
        for _ in range(self.max_rounds):
            pos = np.flatnonzero(alive & active[series])
            active &= np.bincount(series[pos], minlength=count) >= 3
            pos = pos[active[series[pos]]]
            if pos.size == 0:
                break
            drop, whole = self._round(ts[pos], series[pos], count)
            active &= np.bincount(series[pos[drop]], minlength=count) > 0
            alive[pos[drop]] = False
            periodic |= whole
        return alive, periodic

    def _round(self, t: np.ndarray, s: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """One round on the alive events of several series: (drop mask, whole interval per series)."""
        m = t.size
        same = s[1:] == s[:-1]
        j = np.flatnonzero(same)  # IAT j lies between events j and j + 1 of one series
        r = round_iats(t[j + 1] - t[j], self.grid)
        rs = s[j]
        # the gap: the first rounded IAT of the series whose ECDF exceeds the quantile, i.e. the
        # sorted IAT of the first rank i with (i + 1) / n > quantile (the minimum if none)
        by_value = np.lexsort((r, rs))
        n_iats = np.bincount(rs, minlength=count)
        start = np.cumsum(n_iats) - n_iats
        sorted_s = rs[by_value]
        rank = np.arange(r.size) - start[sorted_s]
        above = np.flatnonzero((rank + 1) / n_iats[sorted_s] > self.gap_quantile)
        at = start.copy()
        present, first_above = np.unique(sorted_s[above], return_index=True)
        at[present] = above[first_above]
        gap = r[by_value][np.minimum(at, max(r.size - 1, 0))]
        cut = r > gap[rs]
        # intervals: split at each series start and after each IAT above the gap
        new = np.ones(m, bool)
        new[1:] = ~same
        new[j[cut] + 1] = True
        interval = np.cumsum(new) - 1
        firsts = np.flatnonzero(new)
        lasts = np.append(firsts[1:] - 1, m - 1)
        n = lasts - firsts  # IATs inside each interval
        # distinct rounded IATs of each interval with their counts
        jj, v = j[~cut], r[~cut]
        iv = interval[jj]
        o = np.lexsort((v, iv))
        iv_o, v_o = iv[o], v[o]
        head = np.ones(o.size, bool)
        head[1:] = (iv_o[1:] != iv_o[:-1]) | (v_o[1:] != v_o[:-1])
        heads = np.flatnonzero(head)
        g_iv, g_v = iv_o[heads], v_o[heads]
        g_count = np.diff(np.append(heads, o.size))
        g_n = n[g_iv]
        share = np.where(g_n <= self.small_max, self.share_small, self.share_large)
        spike = np.flatnonzero((g_n >= 2) & (g_v != 0) & (g_count / np.maximum(g_n, 1) > share))
        # per interval the spike with the largest count (the smallest value among equals)
        spike = spike[np.lexsort((g_v[spike], -g_count[spike], g_iv[spike]))]
        best = spike[np.append(True, g_iv[spike][1:] != g_iv[spike][:-1])] if spike.size else spike
        b_iv, b_v, real = g_iv[best], g_v[best], g_count[best]
        theo = np.floor((t[lasts[b_iv]] - t[firsts[b_iv]]) / b_v + 0.5)  # half up, not banker's
        small, mid, large = self.margins
        margin = np.where(theo <= 10, small, np.where(theo <= 100, mid, large))
        whole = real >= theo * (1 - margin)
        dropped_interval = np.zeros(firsts.size, bool)
        dropped_interval[b_iv[whole]] = True
        drop = dropped_interval[interval]
        # otherwise only the events whose IAT to their predecessor rounds to the spike value
        spike_value = np.full(firsts.size, np.nan)
        spike_value[b_iv[~whole]] = b_v[~whole]
        drop[jj[v == spike_value[iv]] + 1] = True
        whole_series = np.zeros(count, bool)
        whole_series[s[firsts[b_iv[whole]]]] = True
        return drop, whole_series
