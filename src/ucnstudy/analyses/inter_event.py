"""inter-event: the times between consecutive events of a user, and their ECDF.

Events are the user events of `events.py`, merged across the user's devices and sorted by
time; each gap to the previous event is an inter-event time (0 for events at the same
instant). One row per user and distinct inter-event time: its count and the ECDF at that
value, count of times <= value / all times, so the last row of each user is exactly 1 (the
original's `aecdf` used i/n from 0 and never reached 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ucnstudy.analyses.common import elapsed_us, query_frame, us_to_s
from ucnstudy.analyses.events import EventParams, user_events
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

COLUMNS = ["username", "iat_s", "count", "ecdf"]


@dataclass(frozen=True)
class InterEventParams(EventParams):
    pass


def inter_event_times(study: Study, p: EventParams) -> ir.Table:
    """user_id, username, iat_us: one row per consecutive pair of a user's events."""
    ev = user_events(study, p).select("user_id", "username", "ts")
    w = ibis.window(group_by="user_id", order_by="ts")  # an integer key sorts faster than a name
    prev = ev.ts.lag().over(w)
    gaps = ev.mutate(iat_us=elapsed_us(ev.ts, prev))
    return gaps.filter(gaps.iat_us.notnull()).select("user_id", "username", "iat_us")


def inter_event_expr(study: Study, p: InterEventParams | None = None) -> ir.Table:
    p = p or InterEventParams()
    iat = inter_event_times(study, p)
    # cume_dist counts the gaps <= this one (peers included) over all of the user's gaps: the
    # ECDF, from the sort alone (a running sum of the counts costs several times more)
    ranked = iat.mutate(ecdf=ibis.cume_dist().over(ibis.window(group_by="user_id", order_by="iat_us")))
    # integer keys group faster than names: the names are joined to the (fewer) groups
    counts = ranked.group_by("user_id", "iat_us").agg(count=ranked.count(), ecdf=ranked.ecdf.max())
    users = study.table("users").select("username", user_id="id")
    counts = counts.join(users, "user_id")
    out = counts.select("username", iat_s=us_to_s(counts.iat_us), count=counts["count"],
                        ecdf=counts.ecdf, _us=counts.iat_us)
    return out.order_by(["username", "_us"]).drop("_us")


@analysis("inter-event", InterEventParams, expr=inter_event_expr)
def inter_event(study: Study, params: InterEventParams) -> pd.DataFrame:
    """Inter-event times of each user's events and their ECDF (reaching 1)."""
    return query_frame(study, inter_event_expr, params)[COLUMNS]
