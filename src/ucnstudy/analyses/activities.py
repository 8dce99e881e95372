"""activities: maximal runs of a user's events separated by gaps of at most `gap` seconds.

Events are the user events of `events.py`. Consecutive events (in time order, per user) whose
gap is <= `gap` belong to the same activity; a larger gap starts a new one. An activity is kept
when its duration (last - first event) is >= `min_duration` and it has >= `min_events` events.
Events at the same instant always share an activity, whatever order an engine gives ties.
Cost: one sort of the events per device (a lag, a lead, a row number), then window functions
and group-bys over the runs of each device (a few percent of the events), in one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.analyses.common import elapsed_us, iso_utc, micros, query_arrow, query_frame, us_to_s
from ucnstudy.analyses.events import EventParams, user_devices, user_events
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pa, pc, pd

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
    recurring_share: float = field(default=0.0, metadata={"min": 0.0, "help": (
        "drop the events of a device's domains seen in at least this share of the hours in which "
        "the device has events (polls and other background chatter); 0 keeps every event")})
    recurring_hours: int = field(default=6, metadata={"min": 0, "help": (
        "with recurring-share: only domains seen in at least this many distinct hours are dropped")})


@dataclass(frozen=True)
class ActivitiesParams(ActivityDefinition):
    stats: bool = field(default=False, metadata={
        "help": "per-user statistics (count, duration and events quantiles) instead of the list"})


def recurring_domains(ev: ir.Table, share: float, min_hours: int) -> ir.Table:
    """(devid, domain) pairs seen in at least `min_hours` distinct clock hours and in at least
    `share` of the hours in which the device has events: the device's background chatter.
    Domains, not hosts: an anonymised export keeps domains and coarsens hosts."""
    hours = ev.select("devid", "domain", hour=ev.ts.truncate("h"))
    per_device = hours.group_by("devid").agg(device_hours=hours.hour.nunique())
    per_domain = hours.filter(hours.domain.notnull()).group_by("devid", "domain").agg(
        domain_hours=hours.hour.nunique())
    j = per_domain.join(per_device, "devid")
    rec = j.filter((j.domain_hours >= min_hours) & (j.domain_hours >= j.device_hours * share))
    return rec.select("devid", "domain")


def activity_user_events(study: Study, p: ActivityDefinition) -> ir.Table:
    """The user events activities are made of: `user_events`, without the recurring domains'
    events when `recurring_share` > 0."""
    ev = user_events(study, p)
    if p.recurring_share <= 0:
        return ev
    return ev.anti_join(recurring_domains(ev, p.recurring_share, p.recurring_hours),
                        ["devid", "domain"])


def tagged_events(study: Study, p: ActivityDefinition, columns: tuple[str, ...] = ()
                  ) -> ir.Table:
    """User events (user_id, devid, ts and `columns` of `user_events`) with their activity
    number (per user, from 1, kept or not). Few columns: the windows sort every column."""
    ev = activity_user_events(study, p).select("user_id", "devid", "ts", *columns)
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


def device_runs(study: Study, p: ActivityDefinition) -> ir.Table:
    """Runs of one device's consecutive user events with gaps <= gap: user_id, devid,
    run_start, run_end, size. The one window over every event (a lag, a lead and a row number
    on a single sort); the rest works on the runs, a few percent of the events."""
    ev = activity_user_events(study, p).select("user_id", "devid", "ts")
    w = ibis.window(group_by=["user_id", "devid"], order_by="ts")
    prev, nxt = ev.ts.lag().over(w), ev.ts.lead().over(w)
    marked = ev.mutate(rn=ibis.row_number().over(w),
                       first=prev.isnull() | (elapsed_us(ev.ts, prev) > micros(p.gap)),
                       last=nxt.isnull() | (elapsed_us(nxt, ev.ts) > micros(p.gap)))
    edges = marked.filter(marked["first"] | marked["last"])
    # the edges alternate first..last in row order: a run's last edge is the next row (or itself)
    w_edges = ibis.window(group_by=["user_id", "devid"], order_by="rn")
    edges = edges.mutate(
        run_end=ibis.ifelse(edges["last"], edges.ts, edges.ts.lead().over(w_edges)),
        end_rn=ibis.ifelse(edges["last"], edges.rn, edges.rn.lead().over(w_edges)))
    runs = edges.filter(edges["first"])
    return runs.select("user_id", "devid", run_start=runs.ts, run_end=runs.run_end,
                       size=(runs.end_rn - runs.rn + 1).cast("int64"))


def numbered_runs(study: Study, p: ActivityDefinition) -> ir.Table:
    """Device runs with their user's activity number (per user, from 1, kept or not).

    A run lies inside one activity (its gaps are user gaps or larger), and a run starts a new
    activity when it begins more than `gap` after every earlier run of the user has ended: the
    same activities as sessionising the user's events one by one (`tagged_events`)."""
    runs = device_runs(study, p)
    order = ["run_start", "run_end"]
    upto = ibis.window(group_by="user_id", order_by=order, preceding=None, following=0)
    runs = runs.mutate(reach=runs.run_end.max().over(upto))
    before = runs.reach.lag().over(ibis.window(group_by="user_id", order_by=order))
    starts = before.isnull() | (elapsed_us(runs.run_start, before) > micros(p.gap))
    flagged = runs.mutate(new=ibis.ifelse(starts, 1, 0).cast("int64")).drop("reach")
    # runs starting at one instant share a number: the flagged one counts first (as in tagged_events)
    running = ibis.window(group_by="user_id", order_by=["run_start", ibis.desc("new")],
                          preceding=None, following=0)
    return flagged.mutate(activity=flagged.new.sum().over(running)).drop("new")


def activity_devices(study: Study, p: ActivityDefinition) -> ir.Table:
    """Kept activities, one row per contributing device: username, activity, start, end,
    duration_us, events (of the activity), devid, login, device_events."""
    t = numbered_runs(study, p)
    per = t.group_by("user_id", "activity", "devid").agg(
        device_events=t["size"].sum(), first=t.run_start.min(), last=t.run_end.max())
    whole = ibis.window(group_by=["user_id", "activity"])
    per = per.mutate(start=per["first"].min().over(whole), end=per["last"].max().over(whole),
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
    """Activities with their contributing devices, timestamps still as timestamps (one query).

    The per-device rows are folded in Arrow (sorted by login, then one ordered group-by whose
    login lists are joined by "+"): a pandas group-by with a Python join per activity cost more
    than the query itself."""
    per = query_arrow(study, activity_devices, p)
    keys = ["username", "activity"]
    per = per.sort_by([("username", "ascending"), ("activity", "ascending"), ("login", "ascending")])
    g = per.group_by(keys, use_threads=False).aggregate(
        [("start", "min"), ("end", "max"), ("duration_us", "max"), ("events", "max"), ("login", "list")])
    acts = pa.table({
        "username": g["username"], "activity": g["activity"], "start": g["start_min"],
        "end": g["end_max"], "duration_s": pc.divide(g["duration_us_max"].cast(pa.float64()), 1e6),
        "events": g["events_max"].cast(pa.int64()), "devices": pc.binary_join(g["login_list"], "+")})
    acts = acts.sort_by([("username", "ascending"), ("start", "ascending")])
    return acts.to_pandas()


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
        return query_frame(study, activity_stats_expr, params)[STATS_COLUMNS]
    acts = activity_frame(study, params)
    acts["start"] = iso_utc(acts["start"])
    acts["end"] = iso_utc(acts["end"])
    return acts[COLUMNS]
