"""user-summary: per user, devices, observed time, traffic volume, DNS and HTTP counts.

Per user (every registered user has a row, zeros when nothing was seen): personal and shared
device counts; from devicetraffic of the counted devices, the total time in days from the first
to the last second seen, the active minutes (rows / 60: a row is a second with traffic),
packets and MiB (2^20 bytes) in and out; DNS responses and HTTP requests. Counted devices are
the personal ones, plus the shared ones with `include_shared`. Participants come and go, so the
user's observed days (analyses/observed.py: local days with a trace of a counted device) and the
active minutes, MiB, DNS and HTTP per observed day compare users fairly (0 when never observed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.analyses.common import elapsed_us, query_frame
from ucnstudy.analyses.events import user_devices
from ucnstudy.analyses.observed import observed_day_counts
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

COLUMNS = ["username", "country", "devices_personal", "devices_shared", "total_days",
           "active_min", "packets_in", "packets_out", "mib_in", "mib_out", "dns", "http",
           "observed_days", "active_min_per_day", "mib_in_per_day", "mib_out_per_day",
           "dns_per_day", "http_per_day"]
PER_DAY = ("active_min", "mib_in", "mib_out", "dns", "http")
US_PER_DAY = 86_400 * 1_000_000
MIB = 1024.0 * 1024.0


@dataclass(frozen=True)
class UserSummaryParams:
    include_shared: bool = field(default=False, metadata={
        "help": "count the traffic, DNS and HTTP of shared devices too (original: personal only)"})


def _per_device(study: Study) -> ir.Table:
    """devid with traffic aggregates, DNS and HTTP counts (devices with nothing are absent)."""
    dt = study.table("devicetraffic")
    traffic = dt.group_by("devid").agg(
        seconds=dt.count(), first=dt.ts.min(), last=dt.ts.max(),
        packets_in=dt.packets_in.sum(), packets_out=dt.packets_out.sum(),
        bytes_in=dt.bytes_in.sum(), bytes_out=dt.bytes_out.sum())
    dns = study.table("dnsreqs").group_by("devid").agg(dns=lambda t: t.count())
    http = study.table("httpreqs").group_by("devid").agg(http=lambda t: t.count())
    devs = study.table("devices").select(devid="id")
    out = devs.left_join(traffic, "devid").drop("devid_right")
    out = out.left_join(dns, "devid").drop("devid_right")
    return out.left_join(http, "devid").drop("devid_right")


def user_summary_expr(study: Study, p: UserSummaryParams | None = None) -> ir.Table:
    p = p or UserSummaryParams()
    links = user_devices(study, include_shared=True)
    counts = links.group_by("username").agg(
        devices_personal=ibis.ifelse(links.shared, 0, 1).cast("int64").sum(),
        devices_shared=ibis.ifelse(links.shared, 1, 0).cast("int64").sum())
    counted = links if p.include_shared else links.filter(~links.shared)
    per = _per_device(study)
    j = counted.join(per, "devid")
    agg = j.group_by("username").agg(
        seconds=j.seconds.sum(), first=j.first.min(), last=j.last.max(),
        packets_in=j.packets_in.sum(), packets_out=j.packets_out.sum(),
        bytes_in=j.bytes_in.sum(), bytes_out=j.bytes_out.sum(),
        dns=j.dns.sum(), http=j.http.sum())
    users = study.table("users").select("username", "country")
    u = users.left_join(counts, "username").drop("username_right")
    u = u.left_join(agg, "username").drop("username_right")
    u = u.left_join(observed_day_counts(study, p.include_shared), "username").drop("username_right")
    days = elapsed_us(u.last, u.first).cast("float64") / US_PER_DAY
    totals = u.select(
        "observed_days",
        "username", "country",
        devices_personal=u.devices_personal.fill_null(0),
        devices_shared=u.devices_shared.fill_null(0),
        total_days=days.fill_null(0.0),
        active_min=(u.seconds.cast("float64") / 60.0).fill_null(0.0),
        packets_in=u.packets_in.fill_null(0), packets_out=u.packets_out.fill_null(0),
        mib_in=(u.bytes_in.cast("float64") / MIB).fill_null(0.0),
        mib_out=(u.bytes_out.cast("float64") / MIB).fill_null(0.0),
        dns=u.dns.fill_null(0), http=u.http.fill_null(0),
    )
    observed = totals.observed_days.fill_null(0)
    per_day = {f"{c}_per_day": ibis.ifelse(observed > 0, totals[c].cast("float64") / observed, 0.0)
               for c in PER_DAY}
    return totals.mutate(observed_days=observed, **per_day).order_by("username")


@analysis("user-summary", UserSummaryParams, expr=user_summary_expr)
def user_summary(study: Study, params: UserSummaryParams) -> pd.DataFrame:
    """Per user: devices, days observed, active minutes, packets, MiB, DNS and HTTP counts."""
    return query_frame(study, user_summary_expr, params)[COLUMNS]
