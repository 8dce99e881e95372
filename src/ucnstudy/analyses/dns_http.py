"""dns-http: the delay from each DNS response to the first HTTP request that used it.

Each HTTP request of a device is attributed to the latest DNS response of the same device for
the same host (query = req_url_host) at or before it. For each DNS response, the delay to the
first HTTP request attributed to it is accepted when it is within the response's first answer
TTL (or when the response has no TTL); otherwise the response is unmatched. Responses of one
device for one host at the very same instant are one resolution and share the attribution.

Window formulation, O(n log n): per (devid, host), the distinct DNS instants and the HTTP
requests are sorted together (DNS first at equal times); the requests attributed to an instant
are those before the next instant, so its first request is the row right after it (one `lead`
on one sort), joined back to every response of that instant. `--match original` reproduces the
original notebook's one-to-one merge walk instead (see `original_pairing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ucnstudy.analyses.common import TS, elapsed_us, frame, query_frame, us_to_s
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, np, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

COLUMNS = ["devid", "dns_ts", "query", "http_ts", "delay_s"]
SUMMARY_COLUMNS = ["login", "responses", "matched", "unmatched", "matched_pct", "unmatched_pct"]


@dataclass(frozen=True)
class DnsHttpParams:
    match: Literal["latest", "original"] = field(default="latest", metadata={
        "help": "latest: attribute each HTTP request to the latest DNS response (corrected); "
                "original: the original notebook's one-to-one merge walk"})
    summary: bool = field(default=False, metadata={
        "help": "matched and unmatched counts and shares per device and in all"})


def first_ttl_us(dns: ir.Table) -> ir.IntegerValue:
    """The first answer's TTL in µs, NULL when the response has no answer or no TTL."""
    ttl = ibis.ifelse(dns.ans_ttl.length() > 0, dns.ans_ttl[0], ibis.null("int32"))
    return ttl.cast("int64") * 1_000_000


def first_http_per_instant(study: Study) -> ir.Table:
    """(devid, host, ts) of each DNS instant that got requests, with the first one (http_ts)."""
    dns, http = study.table("dnsreqs"), study.table("httpreqs")
    d = dns.filter(dns.query.notnull()).select("devid", "ts", host=dns.query, kind=ibis.literal(0))
    h = http.filter(http.req_url_host.notnull()).select("devid", "ts", host=http.req_url_host,
                                                       kind=ibis.literal(1))
    both = d.union(h, distinct=False)
    # Requests after a DNS instant and before the next one are attributed to it, so its first
    # request is the row right after it (DNS sort first at equal times). Responses at the same
    # instant need no DISTINCT: only the last of them is followed by a request, so each instant
    # still yields one row (a DISTINCT over the strings cost a quarter of the query).
    w = ibis.window(group_by=["devid", "host"], order_by=["ts", "kind"])
    nxt = both.mutate(next_ts=both.ts.lead().over(w), next_kind=both.kind.lead().over(w))
    firsts = nxt.filter((nxt.kind == 0) & (nxt.next_kind == 1))
    return firsts.select("devid", "host", "ts", http_ts=firsts.next_ts.cast(TS))


def dns_http_expr(study: Study, p: DnsHttpParams | None = None) -> ir.Table:
    """One row per DNS response: devid, dns_ts, query, http_ts, delay_s (NULL when unmatched)."""
    dns = study.table("dnsreqs")
    resp = dns.select("devid", "ts", "query", ttl_us=first_ttl_us(dns))
    firsts = first_http_per_instant(study)
    j = resp.left_join(firsts, [resp.devid == firsts.devid, resp.query == firsts.host,
                                resp.ts == firsts.ts])
    delay = elapsed_us(j.http_ts, j.ts)
    ok = j.http_ts.notnull() & (j.ttl_us.isnull() | (delay <= j.ttl_us))
    out = j.select(devid=j.devid, dns_ts=j.ts, query=j.query,
                   http_ts=ibis.ifelse(ok, j.http_ts, ibis.null(TS)),
                   delay_s=ibis.ifelse(ok, us_to_s(delay), ibis.null("float64")))
    return out.order_by(["devid", "dns_ts", "query"])


def original_pairing(study: Study) -> pd.DataFrame:
    """The original notebook's pairing, per device and host, as a merge walk in Python.

    DNS responses in time order each take the first HTTP request to the same host at or
    after them that no earlier response took; the pair is kept when the delay is within the
    first TTL (or there is none), and a rejected response takes nothing. Responses at the same
    instant are walked smaller TTL first (no TTL first). Not window logic:
    which requests remain depends on earlier acceptances, a sequential recurrence. The
    notebook's cross-host slip (after rewinding by time the head could be another host's
    request) is a defect and is not reproduced; benchmarks/original_notebook.py has it.
    """
    dns = study.table("dnsreqs")
    resp = frame(dns.select("devid", "ts", "query", ttl_us=first_ttl_us(dns)))
    http = study.table("httpreqs")
    reqs = frame(http.filter(http.req_url_host.notnull())
                 .select("devid", "ts", host=http.req_url_host))
    # responses at the same instant: the smaller TTL first, so the walk is deterministic
    resp = resp.sort_values(["devid", "query", "ts", "ttl_us"], kind="stable",
                            na_position="first").reset_index(drop=True)
    reqs = reqs.sort_values(["devid", "host", "ts"], kind="stable")
    groups = {k: g["ts"].to_numpy() for k, g in reqs.groupby(["devid", "host"], sort=False)}
    matched = np.full(len(resp), np.datetime64("NaT"), dtype="datetime64[us]")
    for (devid, query), g in resp.groupby(["devid", "query"], sort=False):
        times = groups.get((devid, query))
        if times is not None:
            _walk(g["ts"].to_numpy(), g["ttl_us"].to_numpy(), times, g.index.to_numpy(), matched)
    resp["http_ts"] = matched
    delay = (resp["http_ts"] - resp["ts"]).dt.total_seconds()
    out = pd.DataFrame({"devid": resp["devid"], "dns_ts": resp["ts"], "query": resp["query"],
                        "http_ts": resp["http_ts"], "delay_s": delay})
    return out.sort_values(["devid", "dns_ts", "query"], kind="stable").reset_index(drop=True)


def _walk(dns_ts: np.ndarray, ttl_us: np.ndarray, http_ts: np.ndarray, rows: np.ndarray,
          matched: np.ndarray) -> None:
    dns_us = dns_ts.astype("datetime64[us]").astype(np.int64)
    http_us = http_ts.astype("datetime64[us]").astype(np.int64)
    p = 0
    for i in range(len(dns_us)):
        p = max(p, int(np.searchsorted(http_us, dns_us[i], side="left")))
        if p >= len(http_us):
            break
        ttl = ttl_us[i]
        if pd.isna(ttl) or http_us[p] - dns_us[i] <= ttl:
            matched[rows[i]] = np.datetime64(int(http_us[p]), "us")
            p += 1


def summarize(pairs: pd.DataFrame, logins: pd.DataFrame) -> pd.DataFrame:
    """Matched and unmatched responses per device and in all, with shares in %."""
    per = pairs.assign(m=pairs["http_ts"].notna()).groupby("devid")["m"].agg(["size", "sum"])
    per = per.rename(columns={"size": "responses", "sum": "matched"}).reset_index()
    per = per.merge(logins, on="devid", how="left").sort_values("login")
    total = pd.DataFrame([{"login": "all", "responses": per["responses"].sum(),
                           "matched": per["matched"].sum()}])
    out = pd.concat([per[["login", "responses", "matched"]], total], ignore_index=True)
    out["responses"] = out["responses"].astype("int64")
    out["matched"] = out["matched"].astype("int64")
    out["unmatched"] = out["responses"] - out["matched"]
    share = out["responses"].where(out["responses"] > 0)
    out["matched_pct"] = (100.0 * out["matched"] / share).fillna(0.0)
    out["unmatched_pct"] = (100.0 * out["unmatched"] / share).fillna(0.0)
    return out[SUMMARY_COLUMNS]


@analysis("dns-http", DnsHttpParams, expr=dns_http_expr)
def dns_http(study: Study, params: DnsHttpParams) -> pd.DataFrame:
    """Delay from each DNS response to the first HTTP request that used it (within TTL)."""
    if params.match == "original":
        pairs = original_pairing(study)
    else:
        pairs = query_frame(study, dns_http_expr, params)[COLUMNS]
    if params.summary:
        logins = frame(study.table("devices").select(devid="id", login="login"))
        return summarize(pairs, logins)
    return pairs
