"""Network quality of the demo: TCP performance per flow, and a planted effect of QoS on sessions.

The network a device is on follows its owner's day plan, as its VPN locations do: home
broadband at home, the institution's network at work, the mobile operator elsewhere and on the
way (phones only; other devices are at home or at work). Each network has its access RTT, loss
rate and capacity (`PROFILES`: cellular slower and lossier than home Wi-Fi, fixed work networks
best); home networks are congested in the local evening. On a share of days (`HEAVY_SHARE`,
drawn per device and local day) the device's network suffers heavy loss all day long. The
QoS-sensitive users (`qos_sensitive`) end their sessions of those days sooner: the sessions
keep `EFFECT_FACTOR` of their planned length. Each draw has its own random stream, so the rest of
the demo is the same with or without the planted effect.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ucnstudy.demo.population import Device
from ucnstudy.demo.rhythms import LocalDays
from ucnstudy.demo.sessions import Sessions
from ucnstudy.demo.traffic import HEADER, MSS

HOME, WORK, CELLULAR = 0, 1, 2
# network: (access RTT ms on Wi-Fi, on a fixed access, loss rate, capacity Mbit/s)
PROFILES = {HOME: (6.0, 1.0, 0.004, 25.0), WORK: (3.0, 0.5, 0.0005, 90.0),
            CELLULAR: (45.0, 45.0, 0.012, 8.0)}
INTERNET_RTT_MS = 20.0  # capture point (VPN server) to servers, whatever the access
EVENING_HOURS = (19, 23)  # local hours [from, to) of congestion on home networks
EVENING_RTT, EVENING_LOSS = 2.5, 3.0
HEAVY_SHARE, HEAVY_LOSS, HEAVY_RTT = 0.3, 0.06, 1.5
EFFECT_FACTOR = 0.4  # sessions of sensitive users under heavy loss keep this share of their length
BULK_AFTER = 10  # segments of a transfer before it is in bulk (the initial window)


def qos_sensitive(user_id: int) -> bool:
    """Users whose activities are shortened by heavy loss (odd ids); the others are not."""
    return user_id % 2 == 1


def heavy_days(seed: int, device: Device, block: int, days: LocalDays) -> np.ndarray:
    """Which local days of the block the device's network suffers heavy loss (all day long)."""
    return np.random.default_rng([seed, device.id, block, 7]).random(days.n) < HEAVY_SHARE


def day_of(days: LocalDays, t: np.ndarray) -> np.ndarray:
    """Index of the local day of each time t (clipped to the block)."""
    lo, _ = days.day_bounds_utc()
    return np.clip(np.searchsorted(lo, t, side="right") - 1, 0, days.n - 1)


def shorten(s: Sessions, factor: np.ndarray) -> Sessions:
    """Sessions i keep factor[i] of their length; their segments are cut at the new end."""
    end = s.start + (s.end - s.start) * factor
    seg = s.segments
    keep = seg.start < end[seg.session]
    segments = replace(seg, start=seg.start[keep], kind=seg.kind[keep], session=seg.session[keep],
                       app=seg.app[keep], end=np.minimum(seg.end[keep], end[seg.session[keep]]))
    return replace(s, end=end, segments=segments)


def _interval_of(start: np.ndarray, end: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For times t: the index of the last interval starting at or before t, and whether t is in it."""
    if not start.size:
        return np.zeros(t.size, np.int64), np.zeros(t.size, bool)
    i = np.clip(np.searchsorted(start, t, side="right") - 1, 0, start.size - 1)
    return i, (t >= start[i]) & (t < end[i])


def network_at(device: Device, plan: tuple[np.ndarray, ...], t: np.ndarray) -> np.ndarray:
    """HOME, WORK or CELLULAR at times t, from the owner's place visits."""
    start, end, place = plan
    i, inside = _interval_of(start, end, t)
    where = np.where(inside, place[i] if place.size else "", "")
    if device.devtype != "phone":
        return np.where(where == "work", WORK, HOME)
    return np.select([where == "home", where == "work"], [HOME, WORK], CELLULAR)


def _evening(days: LocalDays, t: np.ndarray) -> np.ndarray:
    lo, _ = days.day_bounds_utc()
    hour = (t - lo[day_of(days, t)]) // 3600
    return (hour >= EVENING_HOURS[0]) & (hour < EVENING_HOURS[1])


def conditions(device: Device, plan: tuple[np.ndarray, ...], days: LocalDays, heavy: np.ndarray,
               t: np.ndarray) -> tuple[np.ndarray, ...]:
    """(access RTT ms, loss rate, capacity Mbit/s) of the device's network at times t."""
    net = network_at(device, plan, t)
    fixed = device.devtype == "pc"
    prof = np.array([PROFILES[n] for n in (HOME, WORK, CELLULAR)])
    rtt = prof[net, 1 if fixed else 0]
    loss, cap = prof[net, 2], prof[net, 3]
    evening = (net == HOME) & _evening(days, t)
    rtt = np.where(evening, rtt * EVENING_RTT, rtt)
    loss = np.where(evening, loss * EVENING_LOSS, loss)
    bad = heavy[day_of(days, t)]
    return np.where(bad, rtt * HEAVY_RTT, rtt), np.where(bad, HEAVY_LOSS, loss), cap


def _samples(rng: np.random.Generator, base: np.ndarray, n: np.ndarray, side: str
             ) -> dict[str, np.ndarray]:
    """RTT sample statistics around `base`; NaN (NULL) without samples."""
    mean = np.where(n > 0, base * rng.lognormal(0, 0.25, base.size), np.nan)
    lo = mean * rng.uniform(0.6, 0.95, base.size)
    hi = mean * (1 + rng.lognormal(-0.5, 0.5, base.size))
    one = n == 1
    return {f"rtt_{side}_n": n.astype(np.int32), f"rtt_{side}_min_ms": np.where(one, mean, lo),
            f"rtt_{side}_mean_ms": mean, f"rtt_{side}_max_ms": np.where(one, mean, hi)}


def _first_of_connection(flowid: pa.ChunkedArray) -> np.ndarray:
    """True on the first row of each flowid (rows are in start order; hashing, no string sort)."""
    ids = pc.index_in(flowid, pc.unique(flowid)).to_numpy()
    first = np.zeros(ids.size, bool)
    first[np.unique(ids, return_index=True)[1]] = True
    return first


def tcp_performance(rng: np.random.Generator, flows: pa.Table, access_ms: np.ndarray,
                    loss: np.ndarray, capacity: np.ndarray) -> pa.Table:
    """flows with the TCP performance columns of its TCP flows (NULL on other flows)."""
    udp = flows["proto"].to_numpy() != 6
    start = flows["startts"].cast(pa.int64()).to_numpy() / 1e6
    secs = flows["endts"].cast(pa.int64()).to_numpy() / 1e6 - start
    later = ~_first_of_connection(flows["flowid"])  # only the first flow saw the handshake
    internet = INTERNET_RTT_MS * rng.lognormal(0, 0.4, udp.size)
    cols: dict[str, np.ndarray] = {
        "hs_rtt_internet_ms": np.where(later, np.nan, internet * rng.uniform(0.9, 1.2, udp.size)),
        "hs_rtt_access_ms": np.where(later, np.nan, access_ms * rng.uniform(0.9, 1.3, udp.size)),
    }
    retrans: dict[str, np.ndarray] = {}
    for d in ("out", "in"):
        pk = flows[f"packets_{d}"].to_numpy()
        retrans[d] = rng.binomial(pk, loss)
        payload = np.maximum(flows[f"bytes_{d}"].to_numpy() - HEADER * pk, 0)
        seg = np.where(pk > 0, np.minimum(MSS, payload // np.maximum(pk, 1)), 0)
        cols |= _direction(rng, d, pk, retrans[d], seg, payload, secs, access_ms + internet,
                           loss, capacity)
    other = {"out": "in", "in": "out"}
    for d in ("out", "in"):  # a receiver sends duplicate ACKs for the other side's losses
        cols[f"dupacks_{d}"] = rng.binomial(3 * retrans[other[d]], 0.7)
        cols[f"ooo_pkts_{d}"] = rng.binomial(retrans[d], 0.3)
    n_in = np.maximum(flows["packets_in"].to_numpy() // 2 - retrans["in"], 0)
    n_out = np.maximum(flows["packets_out"].to_numpy() // 4 - retrans["out"], 0)
    cols |= _samples(rng, internet, n_out, "internet") | _samples(rng, access_ms, n_in, "access")
    for name, values in cols.items():
        mask = udp | np.isnan(values) if values.dtype.kind == "f" else udp
        flows = flows.append_column(name, pa.array(values, mask=mask))
    return flows


def _direction(rng: np.random.Generator, d: str, pk: np.ndarray, retrans: np.ndarray,
               seg: np.ndarray, payload: np.ndarray, secs: np.ndarray, rtt_ms: np.ndarray,
               loss: np.ndarray, capacity: np.ndarray) -> dict[str, np.ndarray]:
    """Losses and bulk/application-limited time of one direction (Mathis et al. throughput)."""
    mathis = MSS * 8 / (rtt_ms / 1e3) * 1.22 / np.sqrt(np.maximum(loss, 1e-6))
    throughput = np.minimum(capacity * 1e6, mathis) * rng.uniform(0.7, 1.0, pk.size)
    bulk_bytes = np.where(pk > BULK_AFTER, np.maximum(payload - BULK_AFTER * MSS, 0), 0)
    bulk_secs = np.minimum(bulk_bytes * 8 / throughput, 0.9 * secs)
    return {f"retrans_pkts_{d}": retrans, f"retrans_bytes_{d}": retrans * seg,
            f"zerowin_{d}": rng.binomial(1, np.where(bulk_bytes > 0, 0.002, 0.0)),
            f"bulk_secs_{d}": bulk_secs, f"applimited_secs_{d}": np.maximum(secs - bulk_secs, 0.0),
            f"bulk_bytes_{d}": bulk_bytes.astype(np.int64)}
