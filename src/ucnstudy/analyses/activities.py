"""activities: maximal runs of a user's events separated by gaps of at most `gap` seconds.

Events are the user events of `events.py`. Consecutive events (in time order, per user) whose
gap is <= `gap` belong to the same activity; a larger gap starts a new one. An activity is kept
when its duration (last - first event) is >= `min_duration` and it has >= `min_events` events.
Events at the same instant always share an activity, whatever order an engine gives ties.
Cost: one sort per user, window functions and group-bys, in one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.analyses.common import elapsed_us, frame, iso_utc, micros, us_to_s
from ucnstudy.analyses.events import EventParams, user_devices, user_events
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

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


def tagged_events(study: Study, p: ActivityDefinition, columns: tuple[str, ...] = ()
                  ) -> ir.Table:
    """User events (user_id, devid, ts and `columns` of `user_events`) with their activity
    number (per user, from 1, kept or not). Few columns: the windows sort every column."""
    ev = user_events(study, p).select("user_id", "devid", "ts", *columns)
    # windows partition by the integer user id: cheaper to sort than the name
    prev = ev.ts.lag().over(ibis.window(group_by="user_id", order_by="ts"))
    starts = prev.isnull() | (elapsed_us(ev.ts, prev) > micros(p.gap))
    flagged = ev.mutate(new=ibis.ifelse(starts, 1, 0).cast("int64"))  # no bool->int on PG
    # Events at the same instant must share one number whatever order the engine gave them
    # in the lag window: at most one of them is flagged new, so ordering the running sum by
    # (ts, new descending) counts that flag before its peers. (A RANGE frame over ts would
    # also make peers equal; it measured no faster on DuckDB.)
    running = ibis.window(group_by="user_id", order_by=["ts", ibis.desc("new")],
                          preceding=None, following=0)
    return flagged.mutate(activity=flagged.new.sum().over(running)).drop("new")


def activity_devices(study: Study, p: ActivityDefinition) -> ir.Table:
    """Kept activities, one row per contributing device: username, activity, start, end,
    duration_us, events (of the activity), devid, login, device_events."""
    t = tagged_events(study, p)
    per = t.group_by("user_id", "activity", "devid").agg(
        device_events=t.count(), first=t.ts.min(), last=t.ts.max())
    whole = ibis.window(group_by=["user_id", "activity"])
    per = per.mutate(start=per.first.min().over(whole), end=per.last.max().over(whole),
                     events=per.device_events.sum().over(whole))
    per = per.mutate(duration_us=elapsed_us(per.end, per.start))
    kept = per.filter((per.duration_us >= micros(p.min_duration)) & (per.events >= p.min_events))
    names = user_devices(study, p.include_shared, p.user_list()).select(
        "user_id", "devid", "username", "login")
    kept = kept.join(names, ["user_id", "devid"])
    return kept.select("username", "activity", "start", "end", "duration_us", "events", "devid",
                       "login", "device_events")


def activity_table(study: Study, p: ActivityDefinition) -> ir.Table:
    """Kept activities: username, activity, start, end, duration_us, events."""
    per = activity_devices(study, p)
    return per.group_by("username", "activity").agg(
        start=per.start.min(), end=per.end.max(), duration_us=per.duration_us.max(),
        events=per.events.max())


def activities_expr(study: Study, p: ActivityDefinition) -> ir.Table:
    """The portable expression: username, activity, start, end, duration_s, events."""
    acts = activity_table(study, p)
    out = acts.select("username", "activity", "start", "end",
                      duration_s=us_to_s(acts.duration_us), events=acts.events.cast("int64"))
    return out.order_by(["username", "start"])


def activity_events(study: Study, p: ActivityDefinition) -> ir.Table:
    """The events of kept activities: username, activity, devid, login, ts, kind, host, domain."""
    acts = activity_table(study, p).select("username", "activity")
    tagged = tagged_events(study, p, ("username", "login", "kind", "host", "domain"))
    tagged = tagged.join(acts, ["username", "activity"])
    return tagged.select("username", "activity", "devid", "login", "ts", "kind", "host", "domain")


def activity_logins(study: Study, p: ActivityDefinition) -> ir.Table:
    """Distinct (username, activity, devid, login) of the devices that contributed events."""
    return activity_devices(study, p).select("username", "activity", "devid", "login")


def activity_frame(study: Study, p: ActivityDefinition) -> pd.DataFrame:
    """Activities with their contributing devices, timestamps still as timestamps (one query)."""
    per = frame(activity_devices(study, p))
    keys = ["username", "activity"]
    acts = per.drop_duplicates(keys)[[*keys, "start", "end", "duration_us", "events"]]
    devices = (per.sort_values("login").groupby(keys)["login"].agg("+".join)
               .rename("devices").reset_index())
    acts = acts.merge(devices, on=keys, how="left")
    acts["duration_s"] = acts.pop("duration_us") / 1_000_000
    acts["events"] = acts["events"].astype("int64")
    acts = acts[[*keys, "start", "end", "duration_s", "events", "devices"]]
    return acts.sort_values(["username", "start"], kind="stable").reset_index(drop=True)


def activity_stats_expr(study: Study, p: ActivitiesParams) -> ir.Table:
    """Per-user statistics of the kept activities; every registered user has a row."""
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
