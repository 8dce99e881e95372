"""user-agents: HTTP requests per User-Agent, with browser, OS and device families (ua-parser).

The counts are one portable group-by; the families are parsed client-side once per distinct
User-Agent (ua-parser). A NULL User-Agent is a row of its own (req_ua and families empty); a
User-Agent that ua-parser does not recognise has family "Other". `by` aggregates the rows by
browser or OS family instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from ucnstudy.analyses.common import query_frame
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

COLUMNS = ["req_ua", "browser", "os", "device", "requests", "requests_pct"]
OTHER = "Other"


@dataclass(frozen=True)
class UserAgentsParams:
    by: Literal["ua", "browser", "os"] = field(default="ua", metadata={
        "help": "one row per User-Agent string, or per browser or OS family"})
    top: int = field(default=0, metadata={"help": "keep the N rows with most requests (0: all)"})


def user_agents_expr(study: Study, p: UserAgentsParams | None = None) -> ir.Table:
    """req_ua, requests: HTTP requests per User-Agent string (NULL is a group)."""
    h = study.table("httpreqs")
    counts = h.group_by("req_ua").agg(requests=h.count())
    return counts.order_by([ibis.desc("requests"), ibis.asc("req_ua", nulls_first=False)])


@lru_cache(maxsize=65536)
def families(ua: str | None) -> tuple[str | None, str | None, str | None]:
    """(browser, os, device) families of a User-Agent; None for a NULL one."""
    if ua is None:
        return None, None, None
    from ua_parser import parse  # 0.2 s to import: only when families are asked for

    r = parse(ua)
    return (r.user_agent.family if r.user_agent else OTHER,
            r.os.family if r.os else OTHER,
            r.device.family if r.device else OTHER)


@analysis("user-agents", UserAgentsParams, expr=user_agents_expr)
def user_agents(study: Study, params: UserAgentsParams) -> pd.DataFrame:
    """HTTP requests per User-Agent with browser/OS/device families; NULL is its own row."""
    df = query_frame(study, user_agents_expr, params)
    df["req_ua"] = df["req_ua"].astype(object).where(df["req_ua"].notna(), None)
    parsed = [families(ua) for ua in df["req_ua"]]
    df["browser"] = [f[0] for f in parsed]
    df["os"] = [f[1] for f in parsed]
    df["device"] = [f[2] for f in parsed]
    total = df["requests"].sum()
    if params.by != "ua":
        key = params.by
        df = (df.groupby(key, dropna=False, sort=False)["requests"].sum().reset_index()
              .sort_values(["requests", key], ascending=[False, True], kind="stable"))
    df["requests_pct"] = 100.0 * df["requests"] / total if total else 0.0
    df = df.reset_index(drop=True)
    if params.top > 0:
        df = df.head(params.top)
    cols = COLUMNS if params.by == "ua" else [params.by, "requests", "requests_pct"]
    return df[cols]
