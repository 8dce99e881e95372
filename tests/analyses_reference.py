"""Plain-Python implementations of the analysis definitions, for the tests to compare against.

They read the rows a `Builder` accumulated (lists of dicts), never the study, and follow the
wording of docs/analyses.md with loops, not the Ibis formulations.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Rows = dict[str, list[dict[str, Any]]]
COUNTRY_TZ = {"fr": "Europe/Paris", "uk": "Europe/London"}


def shared_ids(rows: Rows) -> set[int]:
    users_of: dict[int, int] = defaultdict(int)
    for link in rows["user_devices"]:
        users_of[link["device_id"]] += 1
    out = set()
    for d in rows["devices"]:
        flag = d.get("shared")
        if flag is None:
            flag = users_of[d["id"]] > 1
        if flag:
            out.add(d["id"])
    return out


def devices_of(rows: Rows, include_shared: bool) -> dict[str, set[int]]:
    """username -> device ids counted for that user."""
    shared = shared_ids(rows)
    name = {u["id"]: u["username"] for u in rows["users"]}
    out: dict[str, set[int]] = {u["username"]: set() for u in rows["users"]}
    for link in rows["user_devices"]:
        if include_shared or link["device_id"] not in shared:
            out[name[link["user_id"]]].add(link["device_id"])
    return out


def events(rows: Rows, all_events: bool = False, include_shared: bool = False
           ) -> dict[str, list[tuple[datetime, int, str, str | None]]]:
    """username -> sorted [(ts, devid, kind, host)] of the user's events."""
    devs = devices_of(rows, include_shared)
    out: dict[str, list] = {}
    for user, ids in devs.items():
        evs = [(r["ts"], r["devid"], "dns", r.get("query")) for r in rows["dnsreqs"]
               if r["devid"] in ids and (all_events or r.get("user_req") is True)]
        evs += [(r["ts"], r["devid"], "http", r.get("req_url_host")) for r in rows["httpreqs"]
                if r["devid"] in ids and (all_events or r.get("user_url") is True)]
        out[user] = sorted(evs, key=lambda e: e[0])
    return out


def activities(rows: Rows, gap: float = 600, min_duration: float = 1, min_events: int = 3,
               **opts: bool) -> list[tuple[str, datetime, datetime, float, int, str]]:
    """Walk each user's sorted events; close an activity at a gap > `gap` seconds."""
    login = {d["id"]: d["login"] for d in rows["devices"]}
    out = []
    for user, evs in sorted(events(rows, **opts).items()):
        for run in split_runs(evs, gap):
            duration = (run[-1][0] - run[0][0]).total_seconds()
            if duration >= min_duration and len(run) >= min_events:
                devices = "+".join(sorted({login[e[1]] for e in run}))
                out.append((user, run[0][0], run[-1][0], duration, len(run), devices))
    return out


def first_ttl(r: dict[str, Any]) -> int | None:
    ttl = r.get("ans_ttl")
    return ttl[0] if ttl else None


def dns_http(rows: Rows) -> list[tuple[int, datetime, str | None, datetime | None]]:
    """Attribute each HTTP request to the latest DNS response (same device and host) at or
    before it (responses at the same instant share it); a response keeps its first request
    when within its first TTL."""
    firsts: dict[tuple[int, str, datetime], datetime] = {}
    for h in rows["httpreqs"]:
        if h.get("req_url_host") is None:
            continue
        before = [d["ts"] for d in rows["dnsreqs"] if d["devid"] == h["devid"]
                  and d.get("query") == h["req_url_host"] and d["ts"] <= h["ts"]]
        if before:
            key = (h["devid"], h["req_url_host"], max(before))
            firsts[key] = min(firsts.get(key, h["ts"]), h["ts"])
    out = []
    for d in rows["dnsreqs"]:
        first = firsts.get((d["devid"], d.get("query"), d["ts"]))
        ttl = first_ttl(d)
        if first is not None and ttl is not None and (first - d["ts"]) > timedelta(seconds=ttl):
            first = None
        out.append((d["devid"], d["ts"], d.get("query"), first))
    return sorted(out, key=lambda r: (r[0], r[1], r[2] or "", r[3] or datetime.min))


def original_pairing(rows: Rows) -> list[tuple[int, datetime, str | None, datetime | None]]:
    """The notebook's walk with consumption, restricted to the same host."""
    out = []
    taken: set[int] = set()
    http = sorted(((h["ts"], i, h) for i, h in enumerate(rows["httpreqs"])), key=lambda x: x[0])
    order = sorted(rows["dnsreqs"], key=lambda r: (r["ts"], -1 if first_ttl(r) is None
                                                    else first_ttl(r)))
    for d in order:
        match = None
        for ts, i, h in http:
            if (i in taken or h["devid"] != d["devid"] or h.get("req_url_host") != d.get("query")
                    or d.get("query") is None or ts < d["ts"]):
                continue
            ttl = first_ttl(d)
            if ttl is None or (ts - d["ts"]) <= timedelta(seconds=ttl):
                match = ts
                taken.add(i)
            break
        out.append((d["devid"], d["ts"], d.get("query"), match))
    return sorted(out, key=lambda r: (r[0], r[1], r[2] or "", r[3] or datetime.min))


def zone_of(user: dict[str, Any]) -> str:
    return user.get("timezone") or COUNTRY_TZ.get((user.get("country") or "").lower(), "UTC")


def local(ts: datetime, tz: str) -> datetime:
    return ts.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def split_runs(evs: list, gap: float) -> list[list]:
    """Time-sorted events (time first) cut where the gap to the previous one exceeds `gap` s."""
    runs: list[list] = []
    for e in evs:
        if runs and (e[0] - runs[-1][-1][0]).total_seconds() <= gap:
            runs[-1].append(e)
        else:
            runs.append([e])
    return runs
