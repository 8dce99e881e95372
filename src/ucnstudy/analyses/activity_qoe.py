"""activity-qoe: every activity with its device, network, place, time, multitasking and QoS.

One row per activity (the activities definition and parameters). The context comes from
`analyses/context.py` (network type rule, mobility); the QoS from the TCP performance columns
of the flows that start within the activity on its devices. docs/analyses.md defines each
column. One portable Ibis expression (no engine branches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.analyses.activities import (
    ActivityDefinition,
    activity_devices,
    activity_events,
)
from ucnstudy.analyses.activity_context import PHONE_PLATFORMS
from ucnstudy.analyses.common import elapsed_us, iso_utc, micros, query_frame, us_to_s
from ucnstudy.analyses.context import (
    UNKNOWN,
    NetworkRules,
    activity_mobility,
    activity_networks,
    activity_places,
)
from ucnstudy.analyses.events import device_sharing, user_devices
from ucnstudy.analyses.localtime import local_time
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

KEYS = ["username", "activity"]
COLUMNS = ["username", "activity", "start", "end", "duration_s", "events", "devices",
           "device_type", "shared", "network_type", "access_type", "network_source", "network",
           "place", "moving", "local_hour", "weekday", "domains", "parallel_devices",
           "parallel_domains", "user_agents", "multitasking", "flows", "bytes", "tcp_packets",
           "rtt_access_ms", "rtt_internet_ms", "retrans_rate_out", "retrans_rate_in",
           "bulk_mbps_in", "bulk_mbps_out", "net_tcp_packets", "net_rtt_access_ms",
           "net_retrans_rate"]
MINUTE_US = 60_000_000


@dataclass(frozen=True)
class ActivityQoeParams(ActivityDefinition, NetworkRules):
    # QoE compares what users did: a poll every few minutes would chain their activities into
    # one another and hide how long each lasted (docs/analyses.md#activity-qoe)
    recurring_share: float = field(default=0.5, metadata={"min": 0.0, "help": (
        "drop the events of a device's domains seen in at least this share of the hours in which "
        "the device has events (polls and other background chatter); 0 keeps every event")})
    net_window: float = field(default=1800.0, metadata={"min": 0.0, "help": (
        "half-width in seconds of the window around an activity's start whose TCP flows on its "
        "devices give the network's QoS at the time (net_* columns)")})
    with_phones: bool = field(default=True, metadata={
        "help": "take place and mobility also from the user's phones (users carry their phone)"})


def _attach(base: ir.Table, extra: ir.Table) -> ir.Table:
    joined = base.left_join(extra, KEYS)
    return joined.drop(*[c for c in joined.columns if c.endswith("_right")])


def with_primary(per: ir.Table) -> ir.Table:
    """per (one row per activity and device) with primary: 1 for the device with most events
    (then the first login), else 0."""
    w = ibis.window(group_by=KEYS, order_by=[ibis.desc("device_events"), "login"])
    return per.mutate(primary=ibis.ifelse(ibis.row_number().over(w) == 0, 1, 0))


def _primary_device(per: ir.Table, study: Study) -> ir.Table:
    """username, activity, device_type, shared of the activity's main device."""
    top = per.filter(per.primary == 1)
    devs = device_sharing(study)
    j = top.join(devs, top.devid == devs.devid)
    return j.select("username", "activity", device_type=j.devtype, shared=j.shared)


def _carried(study: Study, p: ActivityQoeParams, devs: ir.Table) -> ir.Table:
    """The activity's devices, plus the user's phones when `with_phones`."""
    if not p.with_phones:
        return devs
    mine = user_devices(study, include_shared=True, users=p.user_list())
    phones = mine.filter((mine.devtype == "phone") | mine.platform.isin(PHONE_PLATFORMS))
    acts = devs.select("username", "activity", "start", "end").distinct()
    carried = acts.join(phones.select("username", "devid"), "username").mutate(primary=0)
    return devs.union(carried.select(*devs.columns)).distinct()


def _multitasking(study: Study, p: ActivityQoeParams, acts: ir.Table, devs: ir.Table
                  ) -> ir.Table:
    """domains, parallel_devices and parallel_domains (most in one minute), user_agents."""
    ev = activity_events(study, p)
    ev = ev.join(acts.select("username", "activity", "start"), KEYS)
    ev = ev.mutate(minute=elapsed_us(ev.ts, ev.start) // MINUTE_US)
    per_min = ev.group_by("username", "activity", "minute").agg(
        d=ev.devid.nunique(), s=ev.domain.nunique())
    par = per_min.group_by(KEYS).agg(parallel_devices=per_min.d.max(),
                                     parallel_domains=per_min.s.max())
    doms = ev.group_by(KEYS).agg(domains=ev.domain.nunique())
    http = study.table("httpreqs")
    if not p.all_events:
        http = http.filter(http.user_url.fill_null(False))
    http = http.filter(http.req_ua.notnull())
    j = devs.join(http, [devs.devid == http.devid, http.ts >= devs.start, http.ts <= devs.end])
    uas = j.group_by(KEYS).agg(user_agents=j.req_ua.nunique())
    return _attach(_attach(par, doms), uas)


def _rate(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    return num.cast("float64").sum() / den.cast("float64").sum().nullif(0.0)


def _rtt(flows: ir.Table, side: str) -> ir.FloatingValue:
    """A flow's RTT on one side: its mean sample, else its handshake RTT."""
    return flows[f"rtt_{side}_mean_ms"].fill_null(flows[f"hs_rtt_{side}_ms"])


def _qos(study: Study, devs: ir.Table) -> ir.Table:
    """flows, bytes and the QoS of the flows starting within the activity on its devices."""
    f = study.table("flows")
    j = devs.join(f, [devs.devid == f.devid, f.startts >= devs.start, f.startts <= devs.end])
    tcp = j.retrans_pkts_out.notnull()
    nothing = ibis.null("float64")
    return j.group_by(KEYS).agg(
        flows=j.count(),
        bytes=(j.bytes_in.fill_null(0) + j.bytes_out.fill_null(0)).cast("float64").sum(),
        tcp_packets=ibis.ifelse(tcp, j.packets_in + j.packets_out, 0).sum(),
        rtt_access_ms=_rtt(j, "access").median(),
        rtt_internet_ms=_rtt(j, "internet").median(),
        retrans_rate_out=_rate(j.retrans_pkts_out, ibis.ifelse(tcp, j.packets_out, nothing)),
        retrans_rate_in=_rate(j.retrans_pkts_in, ibis.ifelse(tcp, j.packets_in, nothing)),
        bulk_mbps_in=_rate(j.bulk_bytes_in * 8, j.bulk_secs_in * 1e6),
        bulk_mbps_out=_rate(j.bulk_bytes_out * 8, j.bulk_secs_out * 1e6),
    )


def _network_qos(study: Study, devs: ir.Table, half_width_s: float) -> ir.Table:
    """The network's QoS when the activity began: the TCP flows of its devices starting within
    `half_width_s` of its start, background included. Unlike the activity's own flows, this
    does not shrink with the activity: a short activity has few packets and often no loss."""
    f = study.table("flows")
    f = f.filter(f.retrans_pkts_out.notnull())
    width = ibis.interval(microseconds=micros(half_width_s))
    d = devs.select("username", "activity", "devid", lo=devs.start - width, hi=devs.start + width)
    j = d.join(f, [d.devid == f.devid, f.startts >= d.lo, f.startts <= d.hi])
    packets = j.packets_in + j.packets_out
    return j.group_by(KEYS).agg(
        net_tcp_packets=packets.sum(),
        net_rtt_access_ms=_rtt(j, "access").median(),
        net_retrans_rate=_rate(j.retrans_pkts_out + j.retrans_pkts_in.fill_null(0), packets))


def _local(study: Study, acts: ir.Table) -> ir.Table:
    t = local_time(study, acts.select("username", "activity", "start"), ts="start",
                   out="local_start")
    return t.select("username", "activity", local_hour=t.local_start.hour().cast("int64"),
                    weekday=t.local_start.day_of_week.index().cast("int64"))


def activity_qoe_expr(study: Study, p: ActivityQoeParams) -> ir.Table:
    """The portable expression: one row per activity, the columns of COLUMNS."""
    per = with_primary(activity_devices(study, p))
    acts = per.group_by(KEYS).agg(start=per.start.min(), end=per.end.max(),
                                  duration_us=per.duration_us.max(), events=per.events.max())
    devs = per.select("username", "activity", "start", "end", "devid", "primary")
    n_dev = per.group_by(KEYS).agg(devices=per.devid.nunique())
    out = acts
    for extra in (n_dev, _primary_device(per, study), activity_networks(study, devs, p),
                  activity_places(study, _carried(study, p, devs)),
                  activity_mobility(study, _carried(study, p, devs), p), _local(study, acts),
                  _multitasking(study, p, acts, devs), _qos(study, devs),
                  _network_qos(study, devs, p.net_window)):
        out = _attach(out, extra)
    par = out.parallel_devices.fill_null(1)
    out = out.mutate(
        duration_s=us_to_s(out.duration_us), events=out.events.cast("int64"),
        network_type=out.network_type.fill_null(UNKNOWN),
        access_type=out.access_type.fill_null(UNKNOWN),
        network_source=out.network_source.fill_null("none"),
        domains=out.domains.fill_null(0), parallel_devices=par,
        parallel_domains=out.parallel_domains.fill_null(0),
        user_agents=out.user_agents.fill_null(0), flows=out.flows.fill_null(0),
        tcp_packets=out.tcp_packets.fill_null(0), net_tcp_packets=out.net_tcp_packets.fill_null(0),
        multitasking=(par > 1) | (out.user_agents.fill_null(0) > 1))
    return out.select(*COLUMNS).order_by(["username", "start"])


@analysis("activity-qoe", ActivityQoeParams, expr=activity_qoe_expr)
def activity_qoe(study: Study, params: ActivityQoeParams) -> pd.DataFrame:
    """Per activity: device, network, place, mobility, local time, multitasking and QoS."""
    acts = query_frame(study, activity_qoe_expr, params)
    acts["start"] = iso_utc(acts["start"])
    acts["end"] = iso_utc(acts["end"])
    return acts[COLUMNS]
