"""Background requests: services polling with jitter whether or not the user is active.

`always` services poll over the device's online intervals, `session` ones over its sessions and
`wake` ones fire when a session starts; persistent services keep one connection per online
interval and send keepalives on it (DNS only when they connect). Occasional large update
downloads come from the update services.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ucnstudy.demo.population import Device
from ucnstudy.demo.requests import BACKGROUND, Requests, join_strings, numbers
from ucnstudy.demo.services import SERVICES, Service
from ucnstudy.demo.sessions import Sessions
from ucnstudy.demo.world import SERVICE_BASE, World

PORTS = {"http": 80, "https": 443, "dns": 53}


def background_requests(
    rng: np.random.Generator, device: Device, sessions: Sessions, world: World
) -> Requests:
    parts = []
    for index in device.services:  # a few dozen services at most: not a per-event loop
        service = SERVICES[index]
        ts, conn = _poll_times(rng, service, sessions)
        if ts.size:
            parts.append(_requests(rng, device, world, index, service, ts, conn))
    return Requests.concat(parts) if parts else Requests.empty()


def _poll_times(
    rng: np.random.Generator, service: Service, sessions: Sessions
) -> tuple[np.ndarray, np.ndarray]:
    """Poll times and a connection key per poll (per online interval when persistent)."""
    if service.mode == "wake":
        ts = sessions.start + rng.uniform(0.5, 4.0, sessions.start.size)
        return ts, np.arange(ts.size)
    if service.mode == "session":
        lo, hi = sessions.start, sessions.end
    else:
        lo, hi = sessions.online_start, sessions.online_end
    period = service.period
    phase = rng.uniform(0, period, lo.size)
    n = np.maximum(0, np.floor((hi - lo - phase) / period).astype(np.int64) + 1)
    interval = np.repeat(np.arange(lo.size), n)
    k = np.arange(interval.size) - np.repeat(np.cumsum(n) - n, n)
    ts = lo[interval] + phase[interval] + k * period + rng.normal(0, service.jitter * period, k.size)
    ts = np.clip(ts, lo[interval], hi[interval] - 0.5)
    if service.persistent:  # connect right away, then keepalives on the same connection
        connect = lo + rng.uniform(0.2, 3.0, lo.size)
        ts = np.concatenate([connect, ts])
        interval = np.concatenate([np.arange(lo.size), interval])
        return ts, interval
    return ts, np.arange(ts.size)


def _requests(
    rng: np.random.Generator,
    device: Device,
    world: World,
    index: int,
    service: Service,
    ts: np.ndarray,
    conn: np.ndarray,
) -> Requests:
    n = ts.size
    size = (max(service.size, 1) * rng.lognormal(0, 0.4, n)).astype(np.int64) * (service.size > 0)
    if service.big_probability:
        big = rng.random(n) < service.big_probability
        size = np.where(big, (service.big_size * rng.lognormal(0, 0.5, n)).astype(np.int64), size)
    http = service.scheme == "http"
    req = Requests(
        ts=ts,
        host=np.full(n, world.catalog.idx(service.host), np.int64),
        port=np.full(n, PORTS.get(service.scheme, service.port)),
        proto=np.full(n, service.proto),
        conn=(np.int64(index + 2) << 44) + conn.astype(np.int64),
        origin=np.full(n, BACKGROUND),
        component=np.full(n, SERVICE_BASE + index, np.int64),
        size=size,
        upload=rng.integers(200, 1_500, n),
        dns_only=np.full(n, service.scheme == "dns"),
        http=np.full(n, http),
        app=np.full(n, (service.app or None) if device.has_hostview else None, dtype=object),
    )
    if http:
        path = join_strings(service.path, numbers(rng.integers(1, 10**9, n)))
        status = np.where(service.size == 0, 204, np.where(rng.random(n) < 0.05, 304, 200))
        req.http_columns = {
            "req_method": pa.array(np.full(n, "GET", dtype=object), pa.string()),
            "req_url": join_strings(f"http://{service.host}", path),
            "req_url_host": pa.array(np.full(n, service.host, dtype=object), pa.string()),
            "req_url_path": path,
            "req_ua": pa.array(np.full(n, service.ua or None, dtype=object), pa.string()),
            "req_referer": pa.nulls(n, pa.string()),
            "res_status_code": pa.array(status, pa.int32()),
            "res_mimetype": pa.array(np.full(n, service.mime or None, dtype=object), pa.string()),
        }
    return req
