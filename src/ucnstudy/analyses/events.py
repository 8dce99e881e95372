"""A user's devices and a user's events: the one definition that several analyses share.

A user's **events** are the DNS responses flagged `user_req` and the HTTP requests flagged
`user_url` seen on the user's personal (not shared) devices. `all_events` takes every DNS
response and HTTP request; `include_shared` adds the devices the user shares with others.
A NULL flag is not a user event (only an explicit true counts). The same definition serves
inter-event, heatmap, activities, activity-context and the inference work.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.lazy import ibis

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study




@dataclass(frozen=True)
class EventParams:
    """Which events and devices belong to a user (shared by every event-based analysis)."""

    all_events: bool = field(
        default=False,
        metadata={"help": "take every DNS response and HTTP request, not only user-initiated ones"},
    )
    include_shared: bool = field(
        default=False, metadata={"help": "add the devices the user shares with other users"}
    )
    users: str = field(
        default="", metadata={"help": "comma-separated usernames to keep (default: every user)"}
    )

    def user_list(self) -> list[str]:
        return [u.strip() for u in self.users.split(",") if u.strip()]


def device_sharing(study: Study) -> ir.Table:
    """devices with `shared` resolved: the stored flag, else more than one user links to it."""
    devices = study.table("devices")
    links = study.table("user_devices")
    n_users = links.group_by(devid=links.device_id).agg(n_users=links.user_id.nunique())
    joined = devices.left_join(n_users, devices.id == n_users.devid)
    return joined.select(
        devid=joined.id,
        login=joined.login,
        platform=joined.platform,
        devtype=joined.devtype,
        shared=joined.shared.fill_null(joined.n_users.fill_null(0) > 1),
    )


_DEVICES: weakref.WeakKeyDictionary[Study, dict[tuple[bool, tuple[str, ...]], ir.Table]] = (
    weakref.WeakKeyDictionary())


def user_devices(study: Study, include_shared: bool = False, users: list[str] | None = None
                 ) -> ir.Table:
    """One row per (user, device): username, user_id, devid, login, platform, devtype, shared.

    Built once per read-only study and arguments (Ibis expressions are immutable): an analysis
    uses it several times, and building its joins costs more Python time than running them."""
    if not study.engine.read_only:
        return _user_devices(study, include_shared, users)
    cache = _DEVICES.setdefault(study, {})
    key = (include_shared, tuple(users or ()))
    if key not in cache:
        cache[key] = _user_devices(study, include_shared, users)
    return cache[key]


def _user_devices(study: Study, include_shared: bool, users: list[str] | None) -> ir.Table:
    u = study.table("users")
    links = study.table("user_devices")
    devs = device_sharing(study)
    joined = u.join(links, u.id == links.user_id).join(devs, links.device_id == devs.devid)
    rows = joined.select(
        "username", user_id=joined.id, devid=joined.devid, login=joined.login,
        platform=joined.platform, devtype=joined.devtype, shared=joined.shared,
    )
    if not include_shared:
        rows = rows.filter(~rows.shared)
    if users:
        rows = rows.filter(rows.username.isin(users))
    return rows


def device_events(study: Study, all_events: bool = False) -> ir.Table:
    """Events per device: devid, ts, kind ('dns' or 'http'), host, domain."""
    dns = study.table("dnsreqs")
    http = study.table("httpreqs")
    if not all_events:
        dns = dns.filter(dns.user_req.fill_null(False))
        http = http.filter(http.user_url.fill_null(False))
    d = dns.select(
        dns.devid, dns.ts, kind=ibis.literal("dns"), host=dns.query,
        domain=dns.query_domain.fill_null(dns.query),
    )
    h = http.select(
        http.devid, http.ts, kind=ibis.literal("http"), host=http.req_url_host,
        domain=http.req_url_domain.fill_null(http.req_url_host),
    )
    return d.union(h, distinct=False)


def user_events(study: Study, params: EventParams) -> ir.Table:
    """A user's events: user_id, username, devid, login, ts, kind, host, domain (one per event).

    A device shared by several users (with `include_shared`) gives its events to each of them.
    """
    devs = user_devices(study, params.include_shared, params.user_list())
    ev = device_events(study, params.all_events)
    joined = ev.join(devs, ev.devid == devs.devid)
    return joined.select("user_id", "username", devid=ev.devid, login=devs.login, ts=ev.ts,
                         kind=ev.kind, host=ev.host, domain=ev.domain)
