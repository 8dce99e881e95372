"""A beacon score per (device, host), in the spirit of RITA's beacon analysis.

Background services talk to their servers at regular intervals with similar payloads; people
do not. For each (device, host) with at least `min_events` events:

* inter-event times (IATs) longer than `offline_factor` (3) times the pair's median IAT are
  left out as offline gaps (a laptop asleep or off stops its services; RITA assumes an always-on
  host); `offline_factor=None` keeps every IAT;
* timing score = mean of
  - 1 - |Bowley skewness| of the IATs: (q1 + q3 - 2 q2) / (q3 - q1), 0 when q3 == q1 (a
    perfectly regular series);
  - 1 - MADM / median of the IATs, clipped to [0, 1] (MADM: median absolute deviation about
    the median);
  - coverage: IATs / (their total / median IAT), clipped to [0, 1]: a beacon fills its online
    time at its period;
* size score (HTTP response sizes, when at least `min_events` are known) = mean of
  1 - |Bowley skewness| and 1 - MADM / median of the sizes;
* score = mean of the timing and size scores (the timing score alone when no sizes).

The filter drops every event of a (device, host) whose score is >= `threshold`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def _robust_scores(values: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Per group: 1 - |Bowley skew| and 1 - MADM/median of the values."""
    g = values.groupby(groups, sort=False)
    q1, q2, q3 = g.quantile(0.25), g.median(), g.quantile(0.75)
    spread = q3 - q1
    skew = ((q1 + q3 - 2 * q2) / spread.where(spread > 0)).fillna(0.0)
    madm = (values - groups.map(q2)).abs().groupby(groups, sort=False).median()
    madm = madm.reindex(q2.index)
    dispersion = (madm / q2.where(q2 > 0)).where(q2 > 0, (madm > 0).astype(float))
    return pd.DataFrame({
        "skew_score": 1 - skew.abs().clip(0, 1),
        "madm_score": 1 - dispersion.clip(0, 1),
        "median": q2,
    })


def beacon_scores(events: pd.DataFrame, min_events: int = 10, offline_factor: float | None = 3.0
                  ) -> pd.DataFrame:
    """One row per (devid, host) with enough events: n, timing, size and overall scores."""
    ev = events[["devid", "host", "ts", "size"]].sort_values(["devid", "host", "ts"], kind="stable")
    key = ev["devid"].astype(str) + "\x00" + ev["host"]
    n = key.map(key.value_counts())
    ev, key = ev[n.to_numpy() >= min_events], key[n.to_numpy() >= min_events]
    if ev.empty:
        return pd.DataFrame(columns=["devid", "host", "n", "timing", "size", "score"])
    iat = ev["ts"].diff()
    first = key.ne(key.shift())
    iat, iat_key = iat[~first.to_numpy()], key[~first.to_numpy()]
    if offline_factor:  # gaps far above the usual IAT: the device was off or asleep
        usual = iat_key.map(iat.groupby(iat_key, sort=False).median())
        on = (iat <= usual * offline_factor).to_numpy()
        iat, iat_key = iat[on], iat_key[on]
    timing = _robust_scores(iat, iat_key)
    active = iat.groupby(iat_key, sort=False).sum()  # seconds the kept IATs cover
    count = iat_key.value_counts()
    expected = active / timing["median"].where(timing["median"] > 0)
    coverage = (count.reindex(active.index) / expected).fillna(1.0).clip(0, 1)
    timing_score = (timing["skew_score"] + timing["madm_score"] + coverage.reindex(timing.index)) / 3
    sized = ev["size"].notna()
    size_count = sized.groupby(key, sort=False).sum()
    size_score = pd.Series(np.nan, index=timing.index)
    if sized.any():
        s = _robust_scores(ev["size"][sized], key[sized])
        ok = size_count.reindex(s.index) >= min_events
        size_score.loc[s.index[ok]] = ((s["skew_score"] + s["madm_score"]) / 2)[ok]
    score = timing_score.where(size_score.isna(), (timing_score + size_score) / 2)
    firsts = ev[first.to_numpy()].set_index(key[first.to_numpy()].to_numpy())
    out = pd.DataFrame({
        "devid": firsts.loc[timing.index, "devid"].to_numpy(),
        "host": firsts.loc[timing.index, "host"].to_numpy(),
        "n": key.value_counts().reindex(timing.index).to_numpy(),
        "timing": timing_score.to_numpy(),
        "size": size_score.reindex(timing.index).to_numpy(),
        "score": score.to_numpy(),
    })
    return out.sort_values(["devid", "host"]).reset_index(drop=True)


@dataclass(frozen=True)
class BeaconFilter:
    threshold: float = 0.8
    min_events: int = 10
    offline_factor: float | None = 3.0
    name: str = "beacon"

    def keep(self, events: pd.DataFrame) -> np.ndarray:
        scores = beacon_scores(events, self.min_events, self.offline_factor)
        beacons = scores[scores["score"] >= self.threshold]
        if beacons.empty:
            return np.ones(len(events), bool)
        pairs = pd.MultiIndex.from_arrays([beacons["devid"], beacons["host"]])
        mine = pd.MultiIndex.from_arrays([events["devid"], events["host"]])
        return ~mine.isin(pairs)
