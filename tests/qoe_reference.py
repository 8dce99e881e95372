"""Plain-Python reference of activity-qoe (docs/analyses.md), read from a Builder's rows.

Loops over lists of dicts following the documented definitions; shares nothing with the Ibis
code but the rule's default patterns (NetworkRules), which are the definition's parameters.
"""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import datetime, timedelta
from typing import Any

from analyses_reference import Rows, devices_of, local, shared_ids, split_runs, zone_of
from ucnstudy.analyses.context import NetworkRules

PHONES = ("iphone", "android-phone")


def _parts(text: str) -> list[str]:
    return [p.strip().lower() for p in text.split(",") if p.strip()]


def _has(text: str | None, parts: list[str]) -> bool:
    return any(p in (text or "").lower() for p in parts)


def recurring(evs: list[tuple[datetime, int, str | None]], share: float, min_hours: int
              ) -> set[tuple[int, str]]:
    """(device, domain) pairs seen in >= min_hours clock hours and >= share of the device's hours."""
    hour = {}
    for ts, dev, _ in evs:
        hour.setdefault(dev, set()).add(ts.replace(minute=0, second=0, microsecond=0))
    seen: dict[tuple[int, str], set[datetime]] = {}
    for ts, dev, dom in evs:
        if dom is not None:
            seen.setdefault((dev, dom), set()).add(ts.replace(minute=0, second=0, microsecond=0))
    return {k for k, hours in seen.items()
            if len(hours) >= min_hours and len(hours) >= share * len(hour[k[0]])}


def user_events(rows: Rows, share: float = 0.0, min_hours: int = 6
                ) -> dict[str, list[tuple[datetime, int, str]]]:
    """username -> sorted (ts, devid, domain) of user events on personal devices, without the
    recurring domains' events when share > 0."""
    out = {}
    for user, ids in devices_of(rows, False).items():
        evs = [(r["ts"], r["devid"], r.get("query_domain") or r.get("query"))
               for r in rows["dnsreqs"] if r["devid"] in ids and r.get("user_req") is True]
        evs += [(r["ts"], r["devid"], r.get("req_url_domain") or r.get("req_url_host"))
                for r in rows["httpreqs"] if r["devid"] in ids and r.get("user_url") is True]
        drop = recurring(evs, share, min_hours) if share > 0 else set()
        out[user] = sorted((e for e in evs if (e[1], e[2]) not in drop), key=lambda e: e[0])
    return out


def activities(rows: Rows, gap: float = 600, min_events: int = 3, share: float = 0.0,
               min_hours: int = 6) -> list[dict[str, Any]]:
    out = []
    for user, evs in sorted(user_events(rows, share, min_hours).items()):
        for run in split_runs(evs, gap):
            if (run[-1][0] - run[0][0]).total_seconds() >= 1 and len(run) >= min_events:
                out.append({"username": user, "start": run[0][0], "end": run[-1][0], "events": run})
    return out


def _overlap(lo: datetime | None, hi: datetime | None, start: datetime, end: datetime
             ) -> float | None:
    if (lo is not None and lo > end) or (hi is not None and hi < start):
        return None
    return (min(hi or end, end) - max(lo or start, start)).total_seconds()


def home_ips(rows: Rows, rules: NetworkRules) -> dict[int, set[str]]:
    """devid -> home addresses of its users."""
    per_user: dict[int, dict[str, float]] = {}
    for link in rows["user_devices"]:
        for r in rows["locations"]:
            if (r["devid"] == link["device_id"] and r.get("net_public_ip")
                    and not _has(r.get("net_asname"), _parts(rules.work_as))):
                ips = per_user.setdefault(link["user_id"], {})
                secs = (r["exittime"] - r["entertime"]).total_seconds()
                ips[r["net_public_ip"]] = ips.get(r["net_public_ip"], 0.0) + secs
    home = {u: min(ips, key=lambda ip: (-ips[ip], ip)) for u, ips in per_user.items()}
    out: dict[int, set[str]] = {}
    for link in rows["user_devices"]:
        if link["user_id"] in home:
            out.setdefault(link["device_id"], set()).add(home[link["user_id"]])
    return out


def network_rows(rows: Rows, rules: NetworkRules) -> list[dict[str, Any]]:
    """Every network period (declared and derived) with its type, access and source."""
    homes = home_ips(rows, rules)
    devtype = {d["id"]: d.get("devtype") for d in rows["devices"]}
    out = []
    for r in rows["networks"]:
        out.append({"devid": r["devid"], "lo": r.get("valid_from"), "hi": r.get("valid_to"),
                    "type": r["network_type"], "access": r.get("access_type"),
                    "source": "declared", "name": r.get("name"), "precedence": 0})
    for r in rows["locations"]:
        if r.get("net_asname") is None and r.get("net_public_ip") is None:
            continue
        label = (r.get("loc_name") or "").strip().lower() if r.get("loc_name") else None
        asname = r.get("net_asname")
        if label in _parts(rules.home_labels) or label in _parts(rules.work_labels):
            kind, source = ("home" if label in _parts(rules.home_labels) else "work"), "label"
        elif r.get("net_public_ip") in homes.get(r["devid"], set()):
            kind, source = "home", "home-address"
        elif _has(asname, _parts(rules.cellular_as)):
            kind, source = "cellular", "asname"
        elif _has(asname, _parts(rules.work_as)):
            kind, source = "work", "asname"
        else:
            kind, source = "public", "asname"
        out.append({"devid": r["devid"], "lo": r["entertime"], "hi": r["exittime"], "type": kind,
                    "access": None, "source": source, "name": asname or r.get("net_public_ip"),
                    "precedence": 1})
    for n in out:
        if n["access"] is None:
            fixed = devtype.get(n["devid"]) in _parts(rules.fixed_devtypes)
            n["access"] = "cellular" if n["type"] == "cellular" else "fixed" if fixed else "wifi"
    return out


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    a = (math.sin(math.radians(lat2 - lat1) / 2) ** 2 + math.cos(math.radians(lat1))
         * math.cos(math.radians(lat2)) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_000.0 * math.asin(math.sqrt(a))


def travel(rows: Rows, rules: NetworkRules) -> list[tuple[int, datetime, datetime]]:
    out = [(r["devid"], r["entertime"], r["exittime"]) for r in rows["locations"]
           if r.get("kind") == "move"]
    for dev in {r["devid"] for r in rows["locations"]}:
        fixes = sorted((r for r in rows["locations"] if r["devid"] == dev
                        and r.get("lat") is not None and r.get("lon") is not None),
                       key=lambda r: (r["entertime"], r["exittime"]))
        for prev, cur in itertools.pairwise(fixes):
            secs = (cur["entertime"] - prev["exittime"]).total_seconds()
            metres = haversine(prev["lat"], prev["lon"], cur["lat"], cur["lon"])
            if secs > 0 and metres > rules.min_move_m and metres > rules.moving_speed * secs:
                out.append((dev, prev["exittime"], cur["entertime"]))
    return out


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _rate(num: list[float | None], den: list[float | None]) -> float | None:
    n = [v for v in num if v is not None]
    d = [v for v in den if v is not None]
    if not n or not d or sum(d) == 0:
        return None
    return sum(n) / sum(d)


def _network(nets: list[dict[str, Any]], devs: set[int], primary: int, a: dict[str, Any]
             ) -> dict[str, Any] | None:
    cands = []
    for n in nets:
        ov = _overlap(n["lo"], n["hi"], a["start"], a["end"]) if n["devid"] in devs else None
        if ov is not None:
            cands.append(((n["precedence"], -(n["devid"] == primary), -ov, n["type"], n["access"]), n))
    return min(cands, key=lambda c: c[0])[1] if cands else None


def _place(rows: Rows, devs: set[int], a: dict[str, Any]) -> str | None:
    cands = []
    for r in rows["locations"]:
        if r["devid"] not in devs or r.get("kind") not in (None, "place"):
            continue
        if r.get("loc_name") is None and r.get("name") is None:
            continue
        ov = _overlap(r["entertime"], r["exittime"], a["start"], a["end"])
        if ov is not None:
            cands.append(((r.get("loc_name") is None, -ov, r["entertime"]),
                          r.get("loc_name") or r.get("name")))
    return min(cands, key=lambda c: c[0])[1] if cands else None


def _moving(rows: Rows, trips: list, devs: set[int], a: dict[str, Any]) -> bool | None:
    if any(d in devs and _overlap(lo, hi, a["start"], a["end"]) is not None for d, lo, hi in trips):
        return True
    known = any(r["devid"] in devs and _overlap(r["entertime"], r["exittime"], a["start"], a["end"])
                is not None for r in rows["locations"])
    return False if known else None


def _multitasking(rows: Rows, a: dict[str, Any], devs: set[int]) -> dict[str, Any]:
    minutes: dict[int, list[tuple[int, str]]] = {}
    for ts, dev, dom in a["events"]:
        us = (ts - a["start"]) // timedelta(microseconds=1)
        minutes.setdefault(us // 60_000_000, []).append((dev, dom))
    uas = {r["req_ua"] for r in rows["httpreqs"] if r["devid"] in devs and r.get("user_url") is True
           and r.get("req_ua") is not None and a["start"] <= r["ts"] <= a["end"]}
    par_dev = max(len({d for d, _ in v}) for v in minutes.values())
    return {"domains": len({d for _, _, d in a["events"] if d is not None}),
            "parallel_devices": par_dev,
            "parallel_domains": max(len({s for _, s in v if s is not None}) for v in minutes.values()),
            "user_agents": len(uas), "multitasking": par_dev > 1 or len(uas) > 1}


def _rtt(f: dict[str, Any], side: str) -> float | None:
    """A flow's RTT on one side: its mean sample, else its handshake RTT."""
    v = f.get(f"rtt_{side}_mean_ms")
    return v if v is not None else f.get(f"hs_rtt_{side}_ms")


def _qos(rows: Rows, devs: set[int], a: dict[str, Any]) -> dict[str, Any]:
    fl = [f for f in rows["flows"] if f["devid"] in devs and a["start"] <= f["startts"] <= a["end"]]
    tcp = [f for f in fl if f.get("retrans_pkts_out") is not None]

    def col(name: str, flows: list, scale: float = 1.0) -> list[float | None]:
        return [None if f.get(name) is None else f[name] * scale for f in flows]

    return {
        "flows": len(fl),
        "bytes": float(sum((f.get("bytes_in") or 0) + (f.get("bytes_out") or 0) for f in fl)) if fl else None,
        "tcp_packets": sum((f.get("packets_in") or 0) + (f.get("packets_out") or 0) for f in tcp),
        "rtt_access_ms": _median([v for f in fl if (v := _rtt(f, "access")) is not None]),
        "rtt_internet_ms": _median([v for f in fl if (v := _rtt(f, "internet")) is not None]),
        "retrans_rate_out": _rate(col("retrans_pkts_out", fl), col("packets_out", tcp)),
        "retrans_rate_in": _rate(col("retrans_pkts_in", fl), col("packets_in", tcp)),
        "bulk_mbps_in": _rate(col("bulk_bytes_in", fl, 8), col("bulk_secs_in", fl, 1e6)),
        "bulk_mbps_out": _rate(col("bulk_bytes_out", fl, 8), col("bulk_secs_out", fl, 1e6)),
    }


def _network_qos(rows: Rows, devs: set[int], a: dict[str, Any], half_width: float
                 ) -> dict[str, Any]:
    lo, hi = a["start"] - timedelta(seconds=half_width), a["start"] + timedelta(seconds=half_width)
    fl = [f for f in rows["flows"] if f["devid"] in devs and lo <= f["startts"] <= hi
          and f.get("retrans_pkts_out") is not None]
    packets = [(f.get("packets_in") or 0) + (f.get("packets_out") or 0) for f in fl]
    lost = [f["retrans_pkts_out"] + (f.get("retrans_pkts_in") or 0) for f in fl]
    rtts = [v for f in fl if (v := _rtt(f, "access")) is not None]
    return {"net_tcp_packets": sum(packets), "net_rtt_access_ms": _median(rtts),
            "net_retrans_rate": sum(lost) / sum(packets) if sum(packets) else None}


def activity_qoe(rows: Rows, gap: float = 600, min_events: int = 3,
                 rules: NetworkRules | None = None, share: float = 0.5, min_hours: int = 6,
                 net_window: float = 1800.0) -> list[dict[str, Any]]:
    """One dict per activity with the columns of activity-qoe (times as datetimes)."""
    rules = rules or NetworkRules()
    nets, trips = network_rows(rows, rules), travel(rows, rules)
    shared = shared_ids(rows)
    dev = {d["id"]: d for d in rows["devices"]}
    user = {u["username"]: u for u in rows["users"]}
    uid = {u["username"]: u["id"] for u in rows["users"]}
    out = []
    for a in activities(rows, gap, min_events, share, min_hours):
        counts: dict[int, int] = {}
        for _, d, _ in a["events"]:
            counts[d] = counts.get(d, 0) + 1
        primary = min(counts, key=lambda d: (-counts[d], dev[d]["login"]))
        devs = set(counts)
        carried = devs | {link["device_id"] for link in rows["user_devices"]
                          if link["user_id"] == uid[a["username"]]
                          and (dev[link["device_id"]].get("devtype") == "phone"
                               or dev[link["device_id"]].get("platform") in PHONES)}
        net = _network(nets, devs, primary, a)
        start_local = local(a["start"], zone_of(user[a["username"]]))
        out.append({
            "username": a["username"], "start": a["start"], "end": a["end"],
            "duration_s": (a["end"] - a["start"]).total_seconds(), "events": len(a["events"]),
            "devices": len(devs), "device_type": dev[primary].get("devtype"),
            "shared": primary in shared,
            "network_type": net["type"] if net else "unknown",
            "access_type": net["access"] if net else "unknown",
            "network_source": net["source"] if net else "none", "network": net["name"] if net else None,
            "place": _place(rows, carried, a), "moving": _moving(rows, trips, carried, a),
            "local_hour": start_local.hour, "weekday": start_local.weekday(),
            **_multitasking(rows, a, devs), **_qos(rows, devs, a),
            **_network_qos(rows, devs, a, net_window),
        })
    return out
