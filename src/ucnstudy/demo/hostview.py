"""The other tables of an end-host agent (HostView) on laptops and PCs: sockets and running apps.

HostView sampled open sockets and running processes every 60 s. Sockets map each connection to
its process at the first sample after it opened; running-app samples name the foreground app
(from gt_foreground) and a few resident background processes.
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa

from ucnstudy.demo.network import Network
from ucnstudy.demo.population import Device
from ucnstudy.demo.sessions import Sessions, to_timestamp

SAMPLE_SECONDS = 60
RESIDENT = {"windows": ("svchost.exe",), "darwin": ("WindowServer",)}


def _pid(names: np.ndarray) -> np.ndarray:
    """A stable process id per app name (one hash per distinct name)."""
    unique, inverse = np.unique(names.astype(str), return_inverse=True)
    pids = np.array([1000 + zlib.crc32(n.encode()) % 30000 for n in unique], dtype=np.int64)
    return pids[inverse]


def sockets(device: Device, net: Network) -> pa.Table:
    n = net.conn_start.size
    t = net.tuples
    ts = np.ceil(net.conn_start / SAMPLE_SECONDS) * SAMPLE_SECONDS
    app = np.where(t.app[:n] == None, "unknown", t.app[:n])  # noqa: E711 (object array)
    return pa.table(
        {
            "devid": pa.array(np.full(n, device.id, np.int64)),
            "ts": to_timestamp(ts),
            "appname": pa.array(app.astype(object), pa.string()),
            "pid": pa.array(_pid(app)),
            "srcip": pa.array(t.srcip[:n], pa.string()),
            "dstip": pa.array(t.dstip[:n], pa.string()),
            "proto": pa.array(t.proto[:n], pa.int32()),
            "srcport": pa.array(t.srcport[:n], pa.int32()),
            "dstport": pa.array(t.dstport[:n], pa.int32()),
            "flowid": pa.array(t.flowid[:n], pa.string()),
        }
    )


def running_apps(
    rng: np.random.Generator, device: Device, sessions: Sessions, gt: dict[str, pa.Table]
) -> pa.Table:
    lo = np.ceil(sessions.online_start / SAMPLE_SECONDS).astype(np.int64)
    hi = np.floor(sessions.online_end / SAMPLE_SECONDS).astype(np.int64)
    n = np.maximum(hi - lo, 0)
    sample = (np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)) * SAMPLE_SECONDS
    fg = gt["gt_foreground"]
    fg_start = fg["starttime"].to_numpy().astype("datetime64[us]").astype(np.int64) / 1e6
    k = np.clip(np.searchsorted(fg_start, sample, side="right") - 1, 0, max(fg.num_rows - 1, 0))
    fg_app = fg["appname"].to_numpy(zero_copy_only=False)[k] if fg.num_rows else np.full(sample.size, None)
    fullscreen = fg["fullscreen"].to_numpy(zero_copy_only=False)[k] if fg.num_rows else np.zeros(sample.size)
    io_ts = gt["gt_io"]["ts"].to_numpy().astype("datetime64[us]").astype(np.int64) / 1e6
    recent = np.searchsorted(io_ts, sample) - np.searchsorted(io_ts, sample - SAMPLE_SECONDS) > 0
    resident = np.array(RESIDENT[device.os], dtype=object)
    m = resident.size
    apps = np.concatenate([fg_app, np.tile(resident, sample.size)])
    ts = np.concatenate([sample, np.repeat(sample, m)]).astype(float)
    is_fg = np.concatenate([np.ones(sample.size, bool), np.zeros(sample.size * m, bool)])
    order = np.argsort(ts, kind="stable")
    total = ts.size
    return pa.table(
        {
            "devid": pa.array(np.full(total, device.id, np.int64)),
            "ts": to_timestamp(ts[order]),
            "appname": pa.array(apps[order], pa.string()),
            "pid": pa.array(_pid(apps)[order]),
            "memory": pa.array((rng.lognormal(18, 1.0, total)).astype(np.int64)),
            "cpu": pa.array(np.round(rng.gamma(1.2, 2.0, total), 2)),
            "is_foreground": pa.array(is_fg[order]),
            "is_fullscreen": pa.array(
                np.concatenate([fullscreen.astype(bool), np.zeros(sample.size * m, bool)])[order]
            ),
            "has_io": pa.array(np.concatenate([recent, np.zeros(sample.size * m, bool)])[order]),
        }
    )
