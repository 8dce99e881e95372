"""activities: maximal runs of a user's events separated by gaps of at most `gap` seconds.

Events are the user events of `events.py`. Consecutive events (in time order, per user) whose
gap is <= `gap` belong to the same activity; a larger gap starts a new one. An activity is kept
when its duration (last - first event) is >= `min_duration` and it has >= `min_events` events.
Events at the same instant are collapsed first (with their count), so ties cannot split or
reorder activities on any engine. Cost: one sort per user and window functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from ucnstudy.analyses.common import elapsed_us, frame, iso_utc, micros, us_to_s
from ucnstudy.analyses.events import EventParams, user_events
from ucnstudy.analyses.registry import analysis
from ucnstudy.store import Study

COLUMNS = ["username", "start", "end", "duration_s", "events", "devices"]
STATS_COLUMNS = ["username", "activities", "total_duration_s", "duration_p25_s",
                 "duration_median_s", "duration_p75_s", "duration_p90_s", "events_p25",
                 "events_median", "events_p75", "events_p90"]


@dataclass(frozen=True)
class ActivityDefinition(EventParams):
    """What an activity is: the user events, the largest gap, and the minimum size."""

    gap: float = field(default=600.0, metadata={
        "help": "largest gap in seconds between consecutive events of one activity"})
    min_duration: float = field(default=1.0, metadata={
        "help": "keep activities lasting at least this many seconds"})
    min_events: int = field(default=3, metadata={
        "help": "keep activities with at least this many events (original: more than 2)"})


@dataclass(frozen=True)
class ActivitiesParams(ActivityDefinition):
    stats: bool = field(default=False, metadata={
        "help": "per-user statistics (count, duration and events quantiles) instead of the list"})


def labelled_instants(study: Study, p: ActivityDefinition) -> ir.Table:
    """Distinct (username, ts) with their event count n and activity number (per user)."""
    ev = user_events(study, p)
    instants = ev.group_by("username", "ts").agg(n=ev.count())
    w = ibis.window(group_by="username", order_by="ts")
    prev = instants.ts.lag().over(w)
    starts = prev.isnull() | (elapsed_us(instants.ts, prev) > micros(p.gap))
    flagged = instants.mutate(new=ibis.ifelse(starts, 1, 0).cast("int64"))  # no bool->int on PG
    running = ibis.window(group_by="username", order_by="ts", preceding=None, following=0)
    return flagged.mutate(activity=flagged.new.sum().over(running)).drop("new")


def activity_table(study: Study, p: ActivityDefinition) -> ir.Table:
    """Kept activities: username, activity, start, end, duration_us, events."""
    inst = labelled_instants(study, p)
    acts = inst.group_by("username", "activity").agg(
        start=inst.ts.min(), end=inst.ts.max(), events=inst.n.sum())
    acts = acts.mutate(duration_us=elapsed_us(acts.end, acts.start))
    return acts.filter((acts.duration_us >= micros(p.min_duration))
                       & (acts.events >= p.min_events))


def activities_expr(study: Study, p: ActivityDefinition) -> ir.Table:
    """The portable expression: username, activity, start, end, duration_s, events."""
    acts = activity_table(study, p)
    out = acts.select("username", "activity", "start", "end",
                      duration_s=us_to_s(acts.duration_us), events=acts.events.cast("int64"))
    return out.order_by(["username", "start"])


def activity_events(study: Study, p: ActivityDefinition) -> ir.Table:
    """The events of kept activities: username, activity, devid, login, ts, kind, host, domain."""
    ev = user_events(study, p)
    inst = labelled_instants(study, p).select("username", "ts", "activity")
    acts = activity_table(study, p).select("username", "activity")
    tagged = ev.join(inst, ["username", "ts"]).join(acts, ["username", "activity"])
    return tagged.select("username", "activity", "devid", "login", "ts", "kind", "host", "domain")


def activity_logins(study: Study, p: ActivityDefinition) -> ir.Table:
    """Distinct (username, activity, devid, login) of the devices that contributed events."""
    return activity_events(study, p).select("username", "activity", "devid", "login").distinct()


def activity_frame(study: Study, p: ActivityDefinition) -> pd.DataFrame:
    """Activities with their contributing devices, timestamps still as timestamps."""
    acts = frame(activities_expr(study, p))
    logins = frame(activity_logins(study, p))
    joined = (logins.sort_values("login").groupby(["username", "activity"])["login"]
              .agg("+".join).rename("devices").reset_index())
    acts = acts.merge(joined, on=["username", "activity"], how="left")
    return acts.sort_values(["username", "start"], kind="stable").reset_index(drop=True)


def activity_stats_expr(study: Study, p: ActivitiesParams) -> ir.Table:
    """Per-user statistics of the kept activities; every user with a device has a row."""
    acts = activities_expr(study, p)
    d, e = acts.duration_s, acts.events.cast("float64")
    stats = acts.group_by("username").agg(
        activities=acts.count(), total_duration_s=d.sum(),
        duration_p25_s=d.quantile(0.25), duration_median_s=d.quantile(0.5),
        duration_p75_s=d.quantile(0.75), duration_p90_s=d.quantile(0.9),
        events_p25=e.quantile(0.25), events_median=e.quantile(0.5),
        events_p75=e.quantile(0.75), events_p90=e.quantile(0.9))
    users = study.table("users")
    if p.user_list():
        users = users.filter(users.username.isin(p.user_list()))
    everyone = users.select("username")
    out = everyone.left_join(stats, "username").drop("username_right")
    return out.mutate(activities=out.activities.fill_null(0),
                      total_duration_s=out.total_duration_s.fill_null(0.0)).order_by("username")


@analysis("activities", ActivitiesParams, expr=activities_expr)
def activities(study: Study, params: ActivitiesParams) -> pd.DataFrame:
    """Activities: maximal runs of a user's events with gaps <= --gap seconds."""
    if params.stats:
        return frame(activity_stats_expr(study, params))[STATS_COLUMNS]
    acts = activity_frame(study, params)
    acts["start"] = iso_utc(acts["start"])
    acts["end"] = iso_utc(acts["end"])
    return acts[COLUMNS]
