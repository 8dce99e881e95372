"""Ground truth: when a person was really using a device, from the end-host agent's records.

Active intervals per device are the plain union (tolerance `merge_tolerance`) of
  * foreground intervals of gt_foreground: every focused window (`foreground="focused"`) or
    only fullscreen ones (`foreground="fullscreen"`, the original's `activities.fullscreen = 1`),
    without the idle ones unless `include_idle`;
  * input events of gt_io: each event extended to [ts, ts + io_window) (`io_mode="extend"`), or
    the original's expansion (`io_mode="bridge"`: consecutive events <= io_window apart fill the
    seconds between them, an isolated event covers its own second);
and optionally intersected with the seconds where devicetraffic has a row
(`intersect_traffic`, the original's final ground truth of 14 June; bug 34's duplicates cannot
occur since the result is a set of intervals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ucnstudy.inference.intervals import Intervals, intersect, union, window_rule
from ucnstudy.inference.params import GroundTruthParams
from ucnstudy.store import Study

GroundTruth = dict[int, Intervals]


def io_intervals(seconds: np.ndarray, params: GroundTruthParams) -> Intervals:
    s = np.asarray(seconds, np.int64)
    if params.io_mode == "bridge":
        return window_rule(s, params.io_window)
    return union(s, s + max(params.io_window, 1))


def foreground_intervals(fg: pd.DataFrame, params: GroundTruthParams) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (s) of the gt_foreground rows that count as active."""
    if params.foreground == "none" or fg.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    keep = np.ones(len(fg), bool)
    if params.foreground == "fullscreen":
        keep &= fg["fullscreen"].fillna(False).to_numpy(bool)
    if not params.include_idle:
        keep &= ~fg["idle"].fillna(False).to_numpy(bool)
    start = np.floor(fg["start"].to_numpy(float)[keep]).astype(np.int64)
    end = np.ceil(fg["end"].to_numpy(float)[keep]).astype(np.int64)
    return start, end


def build_ground_truth(fg: pd.DataFrame, io: pd.DataFrame, params: GroundTruthParams,
                       traffic: pd.DataFrame | None = None) -> GroundTruth:
    """Active intervals per device from frames with float-second columns.

    fg: devid, start, end, fullscreen, idle; io: devid, ts; traffic: devid, ts (one per second).
    """
    out: GroundTruth = {}
    devices = sorted(set(fg["devid"]).union(io["devid"]))
    fg_by = dict(tuple(fg.groupby("devid"))) if len(fg) else {}
    io_by = dict(tuple(io.groupby("devid"))) if len(io) else {}
    tr_by = dict(tuple(traffic.groupby("devid"))) if traffic is not None and len(traffic) else {}
    for dev in devices:
        fs, fe = foreground_intervals(fg_by.get(dev, fg.iloc[:0]), params)
        sec = np.floor(io_by[dev]["ts"].to_numpy(float)).astype(np.int64) if dev in io_by else []
        io_iv = io_intervals(np.asarray(sec, np.int64), params)
        gt = union(np.concatenate([fs, io_iv.starts]), np.concatenate([fe, io_iv.ends]),
                   params.merge_tolerance)
        if params.intersect_traffic:
            secs = tr_by[dev]["ts"].to_numpy(float) if dev in tr_by else np.empty(0)
            gt = intersect(gt, Intervals.from_seconds(np.floor(secs).astype(np.int64)))
        if len(gt):
            out[int(dev)] = gt
    return out


def _seconds(col: pd.Series) -> pd.Series:
    return (pd.to_datetime(col) - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)


def has_ground_truth(study: Study) -> bool:
    for name in ("gt_foreground", "gt_io"):
        if study.has_table(name) and int(study.table(name).count().execute()) > 0:
            return True
    return False


def load_ground_truth(study: Study, params: GroundTruthParams | None = None) -> GroundTruth:
    """Ground-truth active intervals of every device that has agent records."""
    params = params or GroundTruthParams()
    fg = pd.DataFrame(columns=["devid", "start", "end", "fullscreen", "idle"])
    io = pd.DataFrame(columns=["devid", "ts"])
    if study.has_table("gt_foreground"):
        raw = study.table("gt_foreground").select("devid", "starttime", "endtime", "fullscreen",
                                                  "idle").to_pandas()
        fg = pd.DataFrame({"devid": raw["devid"], "start": _seconds(raw["starttime"]),
                           "end": _seconds(raw["endtime"]), "fullscreen": raw["fullscreen"],
                           "idle": raw["idle"]})
    if study.has_table("gt_io"):
        raw = study.table("gt_io").select("devid", "ts").to_pandas()
        io = pd.DataFrame({"devid": raw["devid"], "ts": _seconds(raw["ts"])})
    traffic = None
    if params.intersect_traffic and study.has_table("devicetraffic"):
        devs = sorted(set(fg["devid"]).union(io["devid"]))
        t = study.table("devicetraffic")
        raw = t.filter(t.devid.isin([int(d) for d in devs])).select("devid", "ts").to_pandas()
        traffic = pd.DataFrame({"devid": raw["devid"], "ts": _seconds(raw["ts"])})
    return build_ground_truth(fg, io, params, traffic)
