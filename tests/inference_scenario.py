"""A small synthetic study with planted user sessions and background services, for inference tests.

Devices have sessions (foreground intervals with IO events) during which the user browses
(DNS + HTTP bursts to user sites, with Referer and HTML/images), and background services that
run all day: a 60-s beacon, a 300-s push check, and an hourly update check with jitter.
"""

from __future__ import annotations

import calendar
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from ucnstudy import Study

T0 = calendar.timegm(datetime(2015, 11, 10).timetuple())  # 00:00 UTC
SITES = [f"www.site{i}.co.uk" for i in range(20)]
BACKGROUND = [("beacon.tracker.net", 60.0), ("push.example-push.com", 300.0), ("upd.vendor.com", 3600.0)]


def scenario(devices: int = 3, days: int = 2, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    dns, http, fg, io = [], [], [], []
    for dev in range(1, devices + 1):
        for day in range(days):
            for _ in range(2):
                start = T0 + day * 86400 + int(rng.integers(8 * 3600, 21 * 3600))
                end = start + int(rng.integers(900, 2400))
                fg.append((dev, start, end, "firefox", False, False))
                io += [(dev, float(t)) for t in np.arange(start, end, 40.0)]
                t = float(start)
                while t < end:
                    t += float(rng.exponential(45))
                    host = SITES[int(rng.integers(len(SITES)))]
                    dns.append((dev, t, host))
                    for k in range(int(rng.integers(1, 5))):
                        mime = "text/html" if k == 0 else "image/png"
                        http.append((dev, t + 0.2 + k * 0.3, host, k > 0, mime, float(rng.lognormal(9, 1.5))))
        for host, period in BACKGROUND:
            times = np.arange(T0, T0 + days * 86400, period) + rng.normal(0, 1.5, int(days * 86400 / period))
            dns += [(dev, float(t), host) for t in times]
            http += [(dev, float(t) + 0.1, host, False, "application/json", 420.0) for t in times]
    return {
        "dns": pd.DataFrame(dns, columns=["devid", "ts", "host"]),
        "http": pd.DataFrame(http, columns=["devid", "ts", "host", "referer", "mimetype", "size"]),
        "fg": pd.DataFrame(fg, columns=["devid", "start", "end", "appname", "fullscreen", "idle"]),
        "io": pd.DataFrame(io, columns=["devid", "ts"]),
    }


def _ts(seconds: pd.Series) -> pa.Array:
    return pa.array((seconds.to_numpy(float) * 1e6).astype("int64"), pa.timestamp("us"))


def load_scenario(study: Study, frames: dict[str, pd.DataFrame]) -> None:
    devices = sorted(set(frames["fg"]["devid"]))
    d, h, fg, io = frames["dns"], frames["http"], frames["fg"], frames["io"]
    tables = [
        ("users", pa.table({"id": [1], "username": ["ann"], "country": ["uk"]})),
        ("devices", pa.table({"id": devices, "login": [f"ann.dev{i}" for i in devices],
                              "devtype": ["laptop"] * len(devices), "shared": [False] * len(devices)})),
        ("user_devices", pa.table({"user_id": [1] * len(devices), "device_id": devices})),
        ("dnsreqs", pa.table({"devid": d["devid"], "ts": _ts(d["ts"]), "query": d["host"]})),
        ("httpreqs", pa.table({
            "devid": h["devid"], "ts": _ts(h["ts"]), "req_url_host": h["host"], "source": ["demo"] * len(h),
            "req_referer": np.where(h["referer"], "http://x/", None), "res_mimetype": h["mimetype"],
            "res_size": h["size"].astype("int64")})),
        ("gt_foreground", pa.table({"devid": fg["devid"], "starttime": _ts(fg["start"]),
                                    "endtime": _ts(fg["end"]), "appname": fg["appname"],
                                    "fullscreen": fg["fullscreen"], "idle": fg["idle"]})),
        ("gt_io", pa.table({"devid": io["devid"], "ts": _ts(io["ts"]), "io_device": ["mouse"] * len(io)})),
    ]
    study.import_rows("table", "inference-scenario", tables, sha256="inference-scenario")
