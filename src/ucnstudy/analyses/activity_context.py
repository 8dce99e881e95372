"""activity-context: where, on which networks and on which sites each activity happened.

For each activity (as in `activities`): the devices that contributed events; the locations
whose interval overlaps the activity ([entertime, exittime] meets [start, end]) on those
devices and, as the original assumed that users carry their phone, on the user's phones
(`with_phones`); the network AS names of those locations; and the `top_domains` most
requested registrable domains (host when no domain is known) among the activity's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.analyses.activities import (
    ActivityDefinition,
    activity_events,
    activity_frame,
    activity_logins,
    activity_table,
)
from ucnstudy.analyses.common import iso_utc, query_arrow
from ucnstudy.analyses.events import user_devices
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pa, pc, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

COLUMNS = ["username", "start", "end", "duration_s", "events", "devices", "locations",
           "networks", "top_domains"]
PHONE_PLATFORMS = ("iphone", "android-phone")


@dataclass(frozen=True)
class ActivityContextParams(ActivityDefinition):
    top_domains: int = field(default=5, metadata={
        "help": "how many of the most requested domains to list per activity"})
    with_phones: bool = field(default=True, metadata={
        "help": "also take the locations of the user's phones (the original's assumption)"})


def activity_locations(study: Study, p: ActivityContextParams) -> ir.Table:
    """Distinct (username, activity, place, network) of locations overlapping an activity."""
    acts = activity_table(study, p).select("username", "activity", "start", "end")
    devices = activity_logins(study, p).select("username", "activity", "devid")
    if p.with_phones:
        mine = user_devices(study, include_shared=True, users=p.user_list())
        phones = mine.filter((mine.devtype == "phone") | mine.platform.isin(PHONE_PLATFORMS))
        carried = acts.join(phones.select("username", "devid"), "username")
        devices = devices.union(carried.select("username", "activity", "devid"))
    loc = study.table("locations")
    cand = devices.join(acts, ["username", "activity"])
    j = cand.join(loc, [cand.devid == loc.devid, loc.entertime <= cand.end,
                        loc.exittime >= cand.start])
    place = j.name.fill_null(j.loc_name)
    return j.select("username", "activity", place=place, network=j.net_asname).distinct()


def activity_domains(study: Study, p: ActivityContextParams) -> ir.Table:
    """username, activity, domain, requests, rank (1 = most requested) for rank <= top."""
    ev = activity_events(study, p)
    counts = ev.filter(ev.domain.notnull()).group_by("username", "activity", "domain").agg(
        requests=ibis._.count())
    w = ibis.window(group_by=["username", "activity"],
                    order_by=[ibis.desc("requests"), "domain"])
    ranked = counts.mutate(rank=ibis.row_number().over(w) + 1)
    return ranked.filter(ranked["rank"] <= p.top_domains)


def _joined(values: pa.Table, column: str, sep: str, name: str) -> pd.DataFrame:
    """username, activity, `name`: the distinct non-null values of `column`, sorted, joined.

    In Arrow (one sort and an ordered group-by): a pandas group-by with a Python join per
    activity cost more than the queries."""
    keys = ["username", "activity"]
    vals = values.filter(pc.is_valid(values[column])).group_by([*keys, column]).aggregate([])
    vals = vals.sort_by([(k, "ascending") for k in (*keys, column)])
    g = vals.group_by(keys, use_threads=False).aggregate([(column, "list")])
    return pa.table({"username": g["username"], "activity": g["activity"],
                     name: pc.binary_join(g[f"{column}_list"], sep)}).to_pandas()


def _top_domains(doms: pa.Table) -> pd.DataFrame:
    """username, activity, top_domains: "domain (requests)" by rank, joined by ", "."""
    doms = doms.sort_by([("username", "ascending"), ("activity", "ascending"),
                         ("rank", "ascending")])
    label = pc.binary_join_element_wise(doms["domain"], " (", doms["requests"].cast(pa.string()),
                                        ")", "")
    labelled = pa.table({"username": doms["username"], "activity": doms["activity"],
                         "label": label})
    g = labelled.group_by(["username", "activity"], use_threads=False).aggregate(
        [("label", "list")])
    return pa.table({"username": g["username"], "activity": g["activity"],
                     "top_domains": pc.binary_join(g["label_list"], ", ")}).to_pandas()


@analysis("activity-context", ActivityContextParams)
def activity_context(study: Study, params: ActivityContextParams) -> pd.DataFrame:
    """Per activity: devices, overlapping locations, their networks and the top domains."""
    acts = activity_frame(study, params)
    locs = query_arrow(study, activity_locations, params)
    doms = query_arrow(study, activity_domains, params)
    for part in (_joined(locs, "place", "; ", "locations"),
                 _joined(locs, "network", "; ", "networks"), _top_domains(doms)):
        acts = acts.merge(part, on=["username", "activity"], how="left")
    for col in ("locations", "networks", "top_domains"):
        acts[col] = acts[col].fillna("")
    acts["start"] = iso_utc(acts["start"])
    acts["end"] = iso_utc(acts["end"])
    return acts[COLUMNS]
