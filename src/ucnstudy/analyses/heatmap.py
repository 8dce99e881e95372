"""heatmap: share of a user's bytes (or user events) per time bin, in the user's local time.

`by=week`: bins of `bin` minutes over Monday 00:00 .. Sunday 24:00 (original: 120 min);
`by=hour`: bins of `bin` minutes over the day (original: 60 min), separately for weekdays,
weekends and all days. Bytes are those of deviceapptraffic (window start time) on the user's
devices; events are the user events of `events.py`. Each bin's value and its share in % of the
user's total for that split; every user has every bin (zeros when nothing was seen). Rows are
sorted by the user's total bytes (descending), as the original's heatmap rows. With
`per_observed_week`, values are per week the user was observed (value * 7 / observed days,
analyses/observed.py), so users observed for different lengths compare; shares are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ucnstudy.analyses.common import query_frame
from ucnstudy.analyses.events import EventParams, user_devices, user_events
from ucnstudy.analyses.localtime import (
    add_local_time,
    exact_truncation,
    offsets_table,
    study_zones,
    user_zones,
)
from ucnstudy.analyses.observed import observed_day_counts
from ucnstudy.analyses.registry import analysis
from ucnstudy.errors import StudyError
from ucnstudy.lazy import ibis, pa, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

COLUMNS = ["username", "days", "bin", "label", "value", "share_pct", "total_bytes"]
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class HeatmapParams(EventParams):
    by: Literal["week", "hour"] = field(default="week", metadata={
        "help": "week: bins over Mon..Sun; hour: bins over the day, for weekdays/weekend/all"})
    bin: int = field(default=0, metadata={
        "help": "bin width in minutes, dividing a day (0: 120 for week, 60 for hour)"})
    of: Literal["bytes", "events"] = field(default="bytes", metadata={
        "help": "share of the user's bytes or of the user's events"})
    per_observed_week: bool = field(default=False, metadata={
        "help": "values per week the user was observed (participants come and go)"})

    def width(self) -> int:
        width = self.bin or (120 if self.by == "week" else 60)
        if width <= 0 or MINUTES_PER_DAY % width:
            raise StudyError(f"--bin {self.bin}: the bin width must divide 1440 minutes")
        return width


def bins_table(p: HeatmapParams) -> ir.Table:
    width = p.width()
    rows: dict[str, list] = {"days": [], "bin": [], "label": []}
    splits = ("all",) if p.by == "week" else ("weekday", "weekend", "all")
    span = 7 * MINUTES_PER_DAY if p.by == "week" else MINUTES_PER_DAY
    for days in splits:
        for b in range(span // width):
            start = b * width
            hhmm = f"{start % MINUTES_PER_DAY // 60:02d}:{start % 60:02d}"
            rows["days"].append(days)
            rows["bin"].append(b)
            rows["label"].append(f"{DAY_NAMES[start // MINUTES_PER_DAY]} {hhmm}"
                                 if p.by == "week" else hhmm)
    schema = pa.schema([("days", pa.string()), ("bin", pa.int64()), ("label", pa.string())])
    return ibis.memtable(pa.table(rows, schema=schema))


def _weighted_times(study: Study, p: HeatmapParams) -> ir.Table:
    """username, ts, w: bytes of the user's devices, or one per user event."""
    if p.of == "events":
        ev = user_events(study, p)
        return ev.select("username", "ts", w=ibis.literal(1, "int64"))
    return _device_bytes(study, p)


def _device_bytes(study: Study, p: HeatmapParams) -> ir.Table:
    devs = user_devices(study, p.include_shared, p.user_list())
    t = study.table("deviceapptraffic")
    j = t.join(devs, t.devid == devs.devid)
    return j.select("username", "ts", w=j.bytes_in.fill_null(0) + j.bytes_out.fill_null(0))


def _coarsened(t: ir.Table, zones: list[str], width: int) -> ir.Table:
    """`t` summed per user and UTC hour (or minute) when that changes no bin (localtime.py):
    the same bins from far fewer rows to convert to local time."""
    unit = exact_truncation(zones, width)
    if unit is None:
        return t
    return t.group_by("username", ts=t.ts.truncate(unit)).agg(w=t.w.sum())


def _binned(study: Study, t: ir.Table, zones: list[str], p: HeatmapParams) -> ir.Table:
    width = p.width()
    t = add_local_time(t, user_zones(study), offsets_table(zones))
    loc = t.local_ts
    dow = loc.day_of_week.index().cast("int64")
    minute = loc.hour().cast("int64") * 60 + loc.minute().cast("int64")
    if p.by == "week":
        keyed = t.mutate(days=ibis.literal("all"), bin=(dow * MINUTES_PER_DAY + minute) // width)
        return keyed.group_by("username", "days", "bin").agg(value=keyed.w.sum())
    keyed = t.mutate(days=ibis.ifelse(dow >= 5, "weekend", "weekday"), bin=minute // width)
    split = keyed.group_by("username", "days", "bin").agg(value=keyed.w.sum())
    alldays = keyed.group_by("username", "bin").agg(value=keyed.w.sum())
    alldays = alldays.select("username", days=ibis.literal("all"), bin=alldays.bin,
                             value=alldays.value)
    return split.union(alldays, distinct=False)


def _total_bytes(bytes_: ir.Table) -> ir.Table:
    """username, total_bytes: every byte of the user's devices (with or without a local time)."""
    return bytes_.group_by("username").agg(total_bytes=bytes_.w.sum())


def heatmap_expr(study: Study, p: HeatmapParams | None = None) -> ir.Table:
    p = p or HeatmapParams()
    users = study.table("users").select("username")
    if p.user_list():
        users = users.filter(users.username.isin(p.user_list()))
    grid = users.cross_join(bins_table(p))
    zones = study_zones(study)
    weighted = _coarsened(_weighted_times(study, p), zones, p.width())
    vals = _binned(study, weighted, zones, p)
    by_user = weighted if p.of == "bytes" else _device_bytes(study, p)
    g = grid.left_join(vals, ["username", "days", "bin"]).select(
        "username", "days", "bin", "label", value=ibis._.value.fill_null(0).cast("float64"))
    g = g.left_join(_total_bytes(by_user), "username").drop("username_right")
    g = g.mutate(total_bytes=g.total_bytes.fill_null(0))
    if p.per_observed_week:
        g = _per_observed_week(study, p, g)
    split_total = g.value.sum().over(ibis.window(group_by=["username", "days"]))
    share = ibis.ifelse(split_total > 0, g.value * 100.0 / split_total, 0.0)
    out = g.mutate(share_pct=share).select(*COLUMNS)
    return out.order_by([ibis.desc("total_bytes"), "username", "days", "bin"])


def _per_observed_week(study: Study, p: HeatmapParams, g: ir.Table) -> ir.Table:
    days = observed_day_counts(study, p.include_shared, p.user_list())
    g = g.left_join(days, "username").drop("username_right")
    observed = g.observed_days.fill_null(0)
    value = ibis.ifelse(observed > 0, g.value * 7.0 / observed, 0.0)
    return g.mutate(value=value).drop("observed_days")


@analysis("heatmap", HeatmapParams, expr=heatmap_expr)
def heatmap(study: Study, params: HeatmapParams) -> pd.DataFrame:
    """Share of each user's bytes or events per local time bin (week or hour of day)."""
    return query_frame(study, heatmap_expr, params)[COLUMNS]
