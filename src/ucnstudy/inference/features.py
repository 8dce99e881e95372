"""Per-event features for the learned detector, computed from all events of the study.

Host features (per device and host unless noted): beacon score (NaN with too few events),
whether the periodicity filter would drop the event, log event count, popularity (share of
devices that contacted the host, across the study), share of local hours 0-23 in which the
host was contacted. Event features: DNS or HTTP, Referer present, MIME class, log size, the
enrichment's flags (-1 when not computed), log seconds since the previous and to the next
event of the device, events and newly seen hosts of the device within +-`window` seconds, the
local hour, and the device type.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ucnstudy.inference.beacon import beacon_scores
from ucnstudy.inference.periodicity import PeriodicityFilter

MIME_CLASSES = ("html", "javascript", "css", "image", "json", "xml", "font", "video", "audio", "text")
DEVTYPES = ("phone", "tablet", "laptop", "pc")


def mime_class(mimetype: pd.Series) -> np.ndarray:
    m = mimetype.str.lower()
    code = np.zeros(len(m), np.int8)  # 0: unknown / none
    for i, key in enumerate(MIME_CLASSES, 1):
        code[(code == 0) & m.str.contains(key, regex=False).to_numpy()] = i
    code[(code == 0) & (m.str.len() > 0).to_numpy()] = len(MIME_CLASSES) + 1
    return code


def _flag(col: pd.Series) -> np.ndarray:
    return col.astype("float64").fillna(-1.0).to_numpy()  # boolean NA -> -1


def _window_counts(dev: np.ndarray, ts: np.ndarray, new_host: np.ndarray, window: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Events and newly seen hosts of the same device within +-window s (rows sorted by dev, ts)."""
    code = np.unique(dev, return_inverse=True)[1].astype(np.int64)
    key = (code << 42) | np.round(ts * 1000).astype(np.int64)  # exact: device code, then ms
    w = round(window * 1000)
    lo = np.searchsorted(key, key - w, side="left")
    hi = np.searchsorted(key, key + w, side="right")
    csum = np.concatenate([[0], np.cumsum(new_host)])
    return hi - lo, csum[hi] - csum[lo]


def local_hours(ts: np.ndarray, devid: np.ndarray, timezones: Mapping[int, str]) -> np.ndarray:
    hours = np.empty(ts.size, np.int8)
    stamps = pd.to_datetime(ts, unit="s", utc=True)
    for d in np.unique(devid):
        sel = devid == d
        hours[sel] = stamps[sel].tz_convert(timezones.get(int(d), "UTC")).hour
    return hours


def event_features(events: pd.DataFrame, devtypes: Mapping[int, str] | None = None,
                   timezones: Mapping[int, str] | None = None, window: float = 60.0) -> pd.DataFrame:
    """One feature row per event (same order as `events`, which is sorted by devid, ts)."""
    ev = events
    dev, ts = ev["devid"].to_numpy(), ev["ts"].to_numpy(float)
    hours = local_hours(ts, dev, timezones or {})
    pair = pd.MultiIndex.from_arrays([ev["devid"], ev["host"]])
    b = beacon_scores(ev).set_index(["devid", "host"])
    host_n = pd.Series(1, index=pair).groupby(level=[0, 1]).size()
    hour_share = pd.Series(hours, index=pair).groupby(level=[0, 1]).nunique() / 24
    n_dev = max(ev["devid"].nunique(), 1)
    popularity = ev.groupby("host")["devid"].nunique() / n_dev
    prev_gap = np.diff(ts, prepend=np.nan)
    next_gap = -np.diff(ts[::-1], prepend=np.nan)[::-1]
    prev_gap[np.r_[True, dev[1:] != dev[:-1]]] = np.nan
    next_gap[np.r_[dev[1:] != dev[:-1], True]] = np.nan
    by_pair = ev.groupby(["devid", "host"], sort=False)["ts"].diff()
    new_host = (by_pair.isna() | (by_pair > window)).to_numpy()
    around, new_around = _window_counts(dev, ts, new_host, window)
    dtype = [(devtypes or {}).get(int(d), "") for d in dev]
    return pd.DataFrame({
        "beacon": b["score"].reindex(pair).to_numpy(),
        "periodic": ~PeriodicityFilter().keep(ev),
        "host_log_n": np.log1p(host_n.reindex(pair).to_numpy()),
        "host_hour_share": hour_share.reindex(pair).to_numpy(),
        "popularity": ev["host"].map(popularity).to_numpy(),
        "http": (ev["kind"] == "http").to_numpy(),
        "referer": ev["referer"].to_numpy(bool),
        "mime": mime_class(ev["mimetype"]),
        "log_size": np.log1p(ev["size"].to_numpy(float)),
        "user_flag": _flag(ev["user_flag"]),
        "listed": _flag(ev["listed"]),
        "log_prev_gap": np.log1p(prev_gap),
        "log_next_gap": np.log1p(next_gap),
        "events_around": around,
        "new_hosts_around": new_around,
        "hour": hours,
        "devtype": np.array([DEVTYPES.index(t) if t in DEVTYPES else -1 for t in dtype], np.int8),
    })
