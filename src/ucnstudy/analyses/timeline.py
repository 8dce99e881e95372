"""timeline: per user and device, when traffic, DNS and HTTP happened, in local date and hour.

Four kinds of events on each of a user's devices: `traffic` (devicetraffic seconds), `dns`
(every DNS response), `http` (every HTTP request) and `user_http` (HTTP requests flagged
user_url), counted per local date, hour and minute: the data of the original's 4-panel
per-user scatter (x = local date, y = hour of day), at minute resolution so that it stays
small. Users with fewer than `min_seconds` devicetraffic seconds are left out (original: 300).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.analyses.common import query_frame
from ucnstudy.analyses.events import user_devices
from ucnstudy.analyses.localtime import local_time
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

COLUMNS = ["username", "login", "platform", "kind", "local_date", "hour", "minute", "events"]
KINDS = ("traffic", "dns", "http", "user_http")


@dataclass(frozen=True)
class TimelineParams:
    include_shared: bool = field(default=False, metadata={
        "help": "show the user's shared devices too"})
    users: str = field(default="", metadata={
        "help": "comma-separated usernames to keep (default: every user)"})
    min_seconds: int = field(default=300, metadata={
        "help": "leave out users with fewer devicetraffic seconds (original: 300, 5 min)"})


def _device_times(study: Study) -> ir.Table:
    """devid, ts, kind for the four kinds of events."""
    def pick(name: str, kind: str, keep: ir.BooleanValue | None = None) -> ir.Table:
        t = study.table(name)
        if keep is not None:
            t = t.filter(keep)
        return t.select("devid", "ts", kind=ibis.literal(kind))

    http = study.table("httpreqs")
    parts = [pick("devicetraffic", "traffic"), pick("dnsreqs", "dns"), pick("httpreqs", "http"),
             pick("httpreqs", "user_http", http.user_url.fill_null(False))]
    return parts[0].union(*parts[1:], distinct=False)


def timeline_expr(study: Study, p: TimelineParams | None = None) -> ir.Table:
    p = p or TimelineParams()
    users = [u.strip() for u in p.users.split(",") if u.strip()]
    devs = user_devices(study, p.include_shared, users)
    ev = _device_times(study)
    j = ev.join(devs, ev.devid == devs.devid).select("username", "login", "platform", "ts",
                                                     "kind")
    seconds = j.filter(j.kind == "traffic").group_by("username").agg(n=ibis._.count())
    busy = seconds.filter(seconds.n >= p.min_seconds).select("username")
    j = j.semi_join(busy, "username")
    loc = local_time(study, j)
    keyed = loc.mutate(local_date=loc.local_ts.date(), hour=loc.local_ts.hour().cast("int32"),
                       minute=loc.local_ts.minute().cast("int32"))
    out = keyed.group_by("username", "login", "platform", "kind", "local_date", "hour",
                         "minute").agg(events=keyed.count())
    return out.order_by(["username", "login", "kind", "local_date", "hour", "minute"])


@analysis("timeline", TimelineParams, expr=timeline_expr)
def timeline(study: Study, params: TimelineParams) -> pd.DataFrame:
    """Per user and device: traffic, DNS, HTTP and user HTTP events by local date and hour."""
    return query_frame(study, timeline_expr, params)[COLUMNS]
