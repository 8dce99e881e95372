"""Where devices are: Moves-like places of each user (home, work, elsewhere) on their phone, and
network locations (VPN sessions with the public address and AS name of the network) per device.

A user's day follows a plan in local time: home, then work on weekdays when employed, maybe an
outing (shop, gym, ...), home again. A device's network follows its owner: home broadband at
home, the institution's network at work, the mobile operator elsewhere (phones only).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ucnstudy.demo.population import MOBILE_NETWORKS, WORK_NETWORKS, Device, User
from ucnstudy.demo.rhythms import LocalDays
from ucnstudy.demo.sessions import merge_intervals, to_timestamp

COUNTRY_NAMES = {"fr": "France", "uk": "United Kingdom"}


def day_plan(seed: int, user: User, days: LocalDays, block: int) -> tuple[np.ndarray, ...]:
    """Place visits of a user: (start, end, place name) in UTC; the same for all their devices."""
    rng = np.random.default_rng([seed, user.id, block, 3])
    n = days.n
    working = (~days.weekend) & user.employed
    leave = np.where(working, 8.25 * 3600 + rng.normal(0, 1800, n), rng.uniform(10, 16, n) * 3600)
    arrive = leave + rng.uniform(900, 2700, n)
    depart = np.where(working, 17.5 * 3600 + rng.normal(0, 2700, n), arrive)
    outing = rng.random(n) < np.where(working, 0.35, 0.7)
    out_start = depart + rng.uniform(600, 1800, n)
    out_end = out_start + np.where(outing, rng.uniform(2700, 3 * 3600, n), 0)
    back = out_end + np.where(outing, rng.uniform(600, 1800, n), 0)
    elsewhere = [p for p in user.places if p not in ("home", "work")]
    where = np.array(elsewhere, dtype=object)[rng.integers(len(elsewhere), size=n)]
    day = np.arange(n)
    parts = [  # (local start, local end, place, kept)
        (np.zeros(n), leave, np.full(n, "home", object), np.ones(n, bool)),
        (arrive, depart, np.full(n, "work", object), working),
        (out_start, out_end, where, outing),
        (back, np.full(n, 86400.0), np.full(n, "home", object), np.ones(n, bool)),
    ]
    start = np.concatenate([days.to_utc(day[k], s[k]) for s, _, _, k in parts])
    end = np.concatenate([days.to_utc(day[k], e[k]) for _, e, _, k in parts])
    place = np.concatenate([p[k] for _, _, p, k in parts])
    ok = end > start
    order = np.argsort(start[ok], kind="stable")
    return start[ok][order], end[ok][order], place[ok][order]


def moves_rows(device: Device, user: User, plan: tuple[np.ndarray, ...]) -> pa.Table:
    start, end, place = plan
    names = list(user.places)
    lat = np.array([user.places[p][0] for p in place])
    lon = np.array([user.places[p][1] for p in place])
    city = user.household.city[0]
    loc_id = np.array([user.id * 100 + names.index(p) for p in place])
    return pa.table(
        {
            "devid": pa.array(np.full(start.size, device.id, np.int64)),
            "source": _const("moves", start.size),
            "entertime": to_timestamp(start),
            "exittime": to_timestamp(end),
            "name": pa.array([f"{p}, {city}" for p in place], pa.string()),
            "loc_id": pa.array(loc_id.astype(str), pa.string()),
            "loc_name": pa.array(place, pa.string()),
            "lat": pa.array(lat),
            "lon": pa.array(lon),
            "city": _const(city, start.size),
            "country": _const(COUNTRY_NAMES[user.household.country], start.size),
            "kind": _const("place", start.size),
        }
    )


def network_rows(rng: np.random.Generator, device: Device, user: User, plan: tuple[np.ndarray, ...],
                 on_start: np.ndarray, on_end: np.ndarray) -> pa.Table:
    """VPN sessions: online intervals cut where the owner changes place."""
    lo, hi, where = _online_at_places(plan, on_start, on_end)
    if device.devtype != "phone":  # laptops and tablets go online at home or at work only
        where = np.where(where == "work", "work", "home")
    asn, asname, public = _networks(rng, user, where)
    hh = user.household
    home = user.places["home"]
    lat = np.array([user.places.get(w, home)[0] for w in where], dtype=float)
    lon = np.array([user.places.get(w, home)[1] for w in where], dtype=float)
    return pa.table({
        "devid": pa.array(np.full(lo.size, device.id, np.int64)), "source": _const("vpn", lo.size),
        "entertime": to_timestamp(lo), "exittime": to_timestamp(hi),
        "name": pa.array([f"{a}, {hh.city[0]}" for a in asname], pa.string()),
        "lat": pa.array(np.round(lat, 2)), "lon": pa.array(np.round(lon, 2)),
        "net_public_ip": pa.array(public, pa.string()), "net_asnumber": pa.array(asn.astype(np.int64)),
        "net_asname": pa.array(asname, pa.string()), "city": _const(hh.city[0], lo.size),
        "country": _const(COUNTRY_NAMES[hh.country], lo.size), "kind": _const("place", lo.size),
    })


def _online_at_places(plan: tuple[np.ndarray, ...], on_start: np.ndarray, on_end: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersection of online intervals with place visits (both sorted and non-overlapping)."""
    start, end, place = plan
    on_start, on_end = merge_intervals(on_start, on_end)
    i = np.searchsorted(end, on_start, side="right")
    j = np.searchsorted(start, on_end, side="left")
    count = np.maximum(j - i, 0)
    on = np.repeat(np.arange(on_start.size), count)
    pv = np.repeat(i, count) + (np.arange(on.size) - np.repeat(np.cumsum(count) - count, count))
    lo, hi = np.maximum(on_start[on], start[pv]), np.minimum(on_end[on], end[pv])
    ok = hi > lo
    return lo[ok], hi[ok], place[pv][ok]


def _networks(rng: np.random.Generator, user: User, where: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AS number, AS name and public address of the network at each place."""
    hh = user.household
    mobile = MOBILE_NETWORKS[hh.country][user.id % 2]
    work = WORK_NETWORKS[hh.country]
    at = [where == "home", where == "work"]
    asn = np.select(at, [hh.isp[0], work[0]], mobile[0])
    asname = np.select(at, [hh.isp[1], work[1]], mobile[1])
    prefix = np.select(at, [hh.isp[2], work[2]], mobile[2])
    octets = rng.integers(1, 255, (where.size, 2))
    public = np.array([f"{p}.{a}.{b}" for p, (a, b) in zip(prefix, octets, strict=True)], dtype=object)
    return asn, asname, np.where(where == "home", hh.public_ip, public)


def _const(value: str, n: int) -> pa.Array:
    return pa.array(np.full(n, value, dtype=object), pa.string())
