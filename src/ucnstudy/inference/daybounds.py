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


def split_by_local_day(iv: Intervals, tz: str) -> pd.DataFrame:
    """Pieces of the intervals cut at local midnights: date, start, end (epoch s, end exclusive).

    Vectorised: only the rare intervals that cross midnight are cut one by one.
    """
    if not len(iv):
        return pd.DataFrame(columns=["date", "start", "end"])
    first = pd.to_datetime(iv.starts, unit="s", utc=True).tz_convert(tz).normalize()
    last = pd.to_datetime(iv.ends - 1, unit="s", utc=True).tz_convert(tz).normalize()
    same = np.asarray(first == last)
    pieces = [pd.DataFrame({"date": first[same].date, "start": iv.starts[same], "end": iv.ends[same]})]
    rows: dict[str, list] = {"date": [], "start": [], "end": []}
    for a, b, day, end_day in zip(iv.starts[~same], iv.ends[~same], first[~same], last[~same], strict=True):
        lo = int(a)
        while day.tz_localize(None) < end_day.tz_localize(None):
            nxt = (day.tz_localize(None) + pd.Timedelta(days=1)).tz_localize(
                tz, ambiguous=False, nonexistent="shift_forward")
            rows["date"].append(day.date())
            rows["start"].append(lo)
            rows["end"].append(int(nxt.timestamp()))
            day, lo = nxt, int(nxt.timestamp())
        rows["date"].append(end_day.date())
        rows["start"].append(lo)
        rows["end"].append(int(b))
    pieces.append(pd.DataFrame(rows))
    return pd.concat(pieces, ignore_index=True)


def day_bounds(iv: Intervals, tz: str, begin_hour: int = 4) -> pd.DataFrame:
    """date, begin, end (epoch seconds) of each local date with activity."""
    pieces = split_by_local_day(iv, tz)
    if pieces.empty:
        return pd.DataFrame(columns=["date", "begin", "end"])
    dates = pd.unique(pieces["date"])
    wall = {d: int((pd.Timestamp(d) + pd.Timedelta(hours=begin_hour))  # 04:00 wall time, DST-right
                   .tz_localize(tz, ambiguous=False, nonexistent="shift_forward").timestamp()) for d in dates}
    cutoff = pieces["date"].map(wall).to_numpy(np.int64)
    late = pieces["end"].to_numpy() > cutoff
    pieces["late_begin"] = np.where(late, np.maximum(pieces["start"], cutoff), np.iinfo(np.int64).max)
    g = pieces.groupby("date")
    out = pd.DataFrame({
        "first": g["start"].min(), "late": g["late_begin"].min(), "end": g["end"].max() - 1,
    })
    has_late = out["late"] < np.iinfo(np.int64).max
    out["begin"] = out["late"].where(has_late, out["first"])
    return out.reset_index()[["date", "begin", "end"]]


def day_accuracy(pred: Mapping[int, Intervals], truth: Mapping[int, Intervals],
                 tolerances: Sequence[int] = (60, 900, 3600),
                 timezones: Mapping[int, str] | None = None, begin_hour: int = 4) -> pd.DataFrame:
    """Per ground-truth device and `all`: days, extra_days, begin/end accuracy per tolerance."""
    per_day = []
    extra: dict[str, int] = {}
    for dev in sorted(truth):
        tz = (timezones or {}).get(dev, "UTC")
        t = day_bounds(truth[dev], tz, begin_hour)
        p = day_bounds(pred.get(dev, Intervals.empty()), tz, begin_hour)
        m = t.merge(p, on="date", how="left", suffixes=("_true", "_pred"))
        m["device"] = str(dev)
        extra[str(dev)] = int((~p["date"].isin(t["date"])).sum())
        per_day.append(m)
    if not per_day:
        return pd.DataFrame()
    days = pd.concat(per_day, ignore_index=True)
    rows = []
    for device, d in [*days.groupby("device", sort=False), ("all", days)]:
        row = {"device": device, "days": len(d),
               "extra_days": sum(extra.values()) if device == "all" else extra[device]}
        for tol in tolerances:
            for side in ("begin", "end"):
                diff = (d[f"{side}_pred"].astype(float) - d[f"{side}_true"].astype(float)).abs()
                row[f"{side}_acc_{tol}s"] = float((diff <= tol).mean()) if len(d) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
