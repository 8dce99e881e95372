"""select-users: the top N users per country by a user-summary metric, with a minimum of days.

The original picked "the top 7 users in France and the top 10 in the UK" by eye from the
user-summary figure (sorted by active time) and noted that some UK users were present only a
few days; here the choice is explicit: rank users of each country by `metric` (descending,
username breaking ties), drop users observed for fewer than `min_days`, keep the first N.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ucnstudy.analyses.common import query_frame
from ucnstudy.analyses.registry import analysis
from ucnstudy.analyses.user_summary import COLUMNS as SUMMARY_COLUMNS
from ucnstudy.analyses.user_summary import UserSummaryParams, user_summary_expr
from ucnstudy.errors import StudyError
from ucnstudy.lazy import ibis, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

Metric = Literal["active_min", "total_days", "mib_in", "mib_out", "packets_in", "packets_out",
                 "dns", "http"]
COLUMNS = ["country", "rank", *[c for c in SUMMARY_COLUMNS if c != "country"]]


@dataclass(frozen=True)
class SelectUsersParams:
    metric: Metric = field(default="active_min", metadata={
        "help": "user-summary column to rank by (original: active time)"})
    top: str = field(default="fr=7,uk=10", metadata={
        "help": "N for every country, or COUNTRY=N pairs (original: fr=7,uk=10; a country not "
                "listed gets the largest N)"})
    min_days: float = field(default=0.0, metadata={
        "help": "drop users observed for fewer days (the original applied no bound)"})
    include_shared: bool = field(default=False, metadata={
        "help": "count shared devices in the summary"})


def parse_top(text: str) -> tuple[dict[str, int], int]:
    """'7' -> ({}, 7); 'fr=7,uk=10' -> ({'fr': 7, 'uk': 10}, 10)."""
    try:
        if "=" not in text:
            return {}, int(text)
        pairs = dict(item.split("=", 1) for item in text.split(",") if item.strip())
        per = {k.strip().lower(): int(v) for k, v in pairs.items()}
    except ValueError:
        raise StudyError(f"--top {text!r}: expected N or COUNTRY=N,COUNTRY=N (e.g. fr=7,uk=10)"
                         ) from None
    return per, max(per.values(), default=0)


def select_users_expr(study: Study, p: SelectUsersParams | None = None) -> ir.Table:
    p = p or SelectUsersParams()
    per, default = parse_top(p.top)
    summary = user_summary_expr(study, UserSummaryParams(p.include_shared))
    kept = summary.filter(summary.total_days >= p.min_days)
    w = ibis.window(group_by="country", order_by=[ibis.desc(kept[p.metric]), kept.username])
    ranked = kept.mutate(rank=ibis.row_number().over(w) + 1)
    limit = ranked.country.lower().substitute(per, else_=default) if per else ibis.literal(default)
    chosen = ranked.filter(ranked["rank"] <= limit)
    return chosen.select(*COLUMNS).order_by(["country", "rank"])


@analysis("select-users", SelectUsersParams, expr=select_users_expr)
def select_users(study: Study, params: SelectUsersParams) -> pd.DataFrame:
    """The top N users per country by a user-summary metric, observed at least --min-days."""
    return query_frame(study, select_users_expr, params)[COLUMNS]
