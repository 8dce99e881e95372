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
from ucnstudy.analyses.common import iso_utc, query_frame
from ucnstudy.analyses.events import user_devices
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pd

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


def _joined(values: pd.DataFrame, column: str, sep: str) -> pd.DataFrame:
    vals = values.dropna(subset=[column]).drop_duplicates(["username", "activity", column])
    return (vals.sort_values(column).groupby(["username", "activity"])[column]
            .agg(sep.join).reset_index())


@analysis("activity-context", ActivityContextParams)
def activity_context(study: Study, params: ActivityContextParams) -> pd.DataFrame:
    """Per activity: devices, overlapping locations, their networks and the top domains."""
    acts = activity_frame(study, params)
    locs = query_frame(study, activity_locations, params)
    doms = query_frame(study, activity_domains, params).sort_values(["username", "activity", "rank"])
    doms["label"] = doms["domain"] + " (" + doms["requests"].astype(str) + ")"
    top = doms.groupby(["username", "activity"])["label"].agg(", ".join).rename("top_domains")
    acts = acts.merge(_joined(locs, "place", "; ").rename(columns={"place": "locations"}),
                      on=["username", "activity"], how="left")
    acts = acts.merge(_joined(locs, "network", "; ").rename(columns={"network": "networks"}),
                      on=["username", "activity"], how="left")
    acts = acts.merge(top.reset_index(), on=["username", "activity"], how="left")
    for col in ("locations", "networks", "top_domains"):
        acts[col] = acts[col].fillna("")
    acts["start"] = iso_utc(acts["start"])
    acts["end"] = iso_utc(acts["end"])
    return acts[COLUMNS]
