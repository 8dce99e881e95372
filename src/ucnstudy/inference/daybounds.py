"""Begin-of-day and end-of-day accuracy (reference 4.4 phase A and the per-day evaluation).

For each device and local calendar date with activity, "begin" is the first active second at or
after `begin_hour` (04:00) local time, or the day's first active second when there is none
after it; "end" is the last active second of the date. A day's begin (end) is correct when the
detected one is within `tolerance` seconds of the true one. Differences are taken between
absolute instants, so month boundaries and DST are right (bug 33's day-of-month difference is
gone). accuracy = correct days / days with ground truth; a true day without any detection is
a miss, and detected days without ground truth are counted as `extra_days`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ucnstudy.inference.intervals import Intervals


def split_by_local_day(iv: Intervals, tz: str, begin_hour: int = 4) -> pd.DataFrame:
    """Pieces of the intervals cut at local midnights: date, start, end (epoch s, end exclusive)
    and cutoff (the begin_hour wall-clock instant of that date).

    Vectorised: the local midnights of the whole span are computed once (DST-correct), and each
    interval is cut at the midnights strictly inside it.
    """
    return pd.DataFrame(_split(iv, tz, begin_hour))


def _split(iv: Intervals, tz: str, begin_hour: int) -> dict[str, np.ndarray]:
    if not len(iv):
        e = np.empty(0, np.int64)
        return {"date": np.empty(0, "datetime64[D]"), "start": e, "end": e, "cutoff": e}
    first = pd.Timestamp(int(iv.starts[0]), unit="s", tz="UTC").tz_convert(tz).normalize()
    last = pd.Timestamp(int(iv.ends[-1]), unit="s", tz="UTC").tz_convert(tz).normalize()
    days = pd.date_range(first.tz_localize(None), last.tz_localize(None) + pd.Timedelta(days=1), freq="D")
    mids = _epoch(days, tz)
    cutoffs = _epoch(days + pd.Timedelta(hours=begin_hour), tz)
    lo = np.searchsorted(mids, iv.starts, side="right")
    hi = np.searchsorted(mids, iv.ends, side="left")
    cuts = hi - lo
    pieces = cuts + 1
    owner = np.repeat(np.arange(len(iv)), pieces)
    k = np.arange(owner.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)  # piece index in interval
    starts = np.where(k == 0, iv.starts[owner], mids[np.clip(lo[owner] + k - 1, 0, mids.size - 1)])
    last_piece = k == cuts[owner]
    ends = np.where(last_piece, iv.ends[owner], mids[np.clip(lo[owner] + k, 0, mids.size - 1)])
    day = np.searchsorted(mids, starts, side="right") - 1
    return {"date": days.values.astype("datetime64[D]")[day], "start": starts, "end": ends,
            "cutoff": cutoffs[day]}


def _epoch(wall: pd.DatetimeIndex, tz: str) -> np.ndarray:
    local = wall.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    return local.as_unit("s").asi8.astype(np.int64)


def _bounds(pieces: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of keys (..., date): begin (first second >= cutoff, else first) and end."""
    late = pieces["end"].to_numpy() > pieces["cutoff"].to_numpy()
    never = np.iinfo(np.int64).max
    pieces = pieces.assign(late=np.where(late, np.maximum(pieces["start"], pieces["cutoff"]), never))
    g = pieces.groupby(keys, sort=True)
    out = pd.DataFrame({"first": g["start"].min(), "late": g["late"].min(), "end": g["end"].max() - 1})
    out["begin"] = out["late"].where(out["late"] < never, out["first"])
    return out.reset_index()[[*keys, "begin", "end"]]


def day_bounds(iv: Intervals, tz: str, begin_hour: int = 4) -> pd.DataFrame:
    """date, begin, end (epoch seconds) of each local date with activity."""
    pieces = split_by_local_day(iv, tz, begin_hour)
    if pieces.empty:
        return pd.DataFrame(columns=["date", "begin", "end"])
    out = _bounds(pieces, ["date"])
    out["date"] = [d.date() for d in pd.to_datetime(out["date"])]
    return out


def _all_bounds(sets: Mapping[int, Intervals], devices: list[int], tz: Mapping[int, str],
                begin_hour: int) -> pd.DataFrame:
    parts = [(d, _split(sets[d], tz.get(d, "UTC"), begin_hour))
             for d in devices if d in sets and len(sets[d])]
    if not parts:
        return pd.DataFrame(columns=["device", "date", "begin", "end"])
    cols = {k: np.concatenate([p[k] for _, p in parts]) for k in ("date", "start", "end", "cutoff")}
    cols["device"] = np.concatenate([np.full(p["start"].size, d, np.int64) for d, p in parts])
    out = _bounds(pd.DataFrame(cols), ["device", "date"])
    out["device"] = out["device"].astype(str)
    return out


def day_accuracy(pred: Mapping[int, Intervals], truth: Mapping[int, Intervals],
                 tolerances: Sequence[int] = (60, 900, 3600),
                 timezones: Mapping[int, str] | None = None, begin_hour: int = 4) -> pd.DataFrame:
    """Per ground-truth device and `all`: days, extra_days, begin/end accuracy per tolerance."""
    devices = sorted(truth)
    t = _all_bounds(truth, devices, timezones or {}, begin_hour)
    if t.empty:
        return pd.DataFrame()
    p = _all_bounds(pred, devices, timezones or {}, begin_hour)
    days = t.merge(p, on=["device", "date"], how="left", suffixes=("_true", "_pred"))
    extra = p.merge(t[["device", "date"]], on=["device", "date"], how="left", indicator=True)
    extra = (extra["_merge"] == "left_only").groupby(extra["device"]).sum()
    rows = []
    for device, d in [*days.groupby("device", sort=False), ("all", days)]:
        row = {"device": device, "days": len(d),
               "extra_days": int(extra.sum() if device == "all" else extra.get(device, 0))}
        for tol in tolerances:
            for side in ("begin", "end"):
                diff = (d[f"{side}_pred"].astype(float) - d[f"{side}_true"].astype(float)).abs()
                row[f"{side}_acc_{tol}s"] = float((diff <= tol).mean())
        rows.append(row)
    return pd.DataFrame(rows)
