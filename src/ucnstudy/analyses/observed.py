"""Observed days: the local calendar days on which a user's devices left a trace in the study.

Participants come and go (join late, leave early, holidays, withdrawal), so analyses that compare
users normalise by the days each user was observed rather than by the study's length. A day is
observed for a user when one of the user's counted devices has a row in devicetraffic, dnsreqs or
httpreqs during that local day (the user's time zone, DST-correct). Rows are first reduced to the
UTC hours they fall in, so a zone whose offset is not a whole number of hours places the events of
the hour around its midnight on the day where the hour starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ucnstudy.analyses.events import user_devices
from ucnstudy.analyses.localtime import local_time

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

SEEN_IN = ("devicetraffic", "dnsreqs", "httpreqs")


def _device_hours(study: Study) -> ir.Table:
    """devid, ts: the distinct UTC hours in which each device has a row of SEEN_IN."""
    parts = [study.table(name) for name in SEEN_IN]
    hours = [t.select("devid", ts=t.ts.truncate("h")).distinct() for t in parts]
    union = hours[0]
    for more in hours[1:]:
        union = union.union(more, distinct=True)
    return union


def observed_days(study: Study, include_shared: bool = False, users: list[str] | None = None
                  ) -> ir.Table:
    """username, day (local date): one row per day a user was observed."""
    devs = user_devices(study, include_shared, users)
    hours = _device_hours(study)
    j = hours.join(devs, hours.devid == devs.devid).select("username", "ts")
    loc = local_time(study, j)
    return loc.select("username", day=loc.local_ts.date()).distinct()


def observed_day_counts(study: Study, include_shared: bool = False, users: list[str] | None = None
                        ) -> ir.Table:
    """username, observed_days (users never observed are absent)."""
    days = observed_days(study, include_shared, users)
    return days.group_by("username").agg(observed_days=days.count())
