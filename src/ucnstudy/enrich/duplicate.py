"""dnsreqs.duplicate: the same device requests the queried host over HTTP within the window.

Definition: a DNS response (devid, query, ts) is a duplicate when the same device has an
httpreqs row with req_url_host = query and ts <= http.ts <= ts + window (60 s by default, the
original's threshold: about 95% of DNS lookups followed by a request for the same host see it
within a minute). Every row gets TRUE or FALSE, never NULL (bug 17): a row without a query is
FALSE.

Set-based, inside the engine: a semi range join (EXISTS over httpreqs with an equality on device
and host and a range on ts), which DuckDB runs as a hash/range join and PostgreSQL as probes of the
index httpreqs(devid, req_url_host, ts). Two statements each touch only the rows whose flag changes,
so every row's EXISTS is evaluated once and a re-run writes nothing. An HTTP request at exactly the
response time counts.

DuckDB plans that EXISTS as a join on (devid, host) filtered by time afterwards: quadratic in
the rows of one device and host (16k lookups of one host took 3.4 s). On DuckDB the same set
comes from an ASOF join instead: the first request at or after each response, followed when it
is within the window (the same rows, tested against the EXISTS definition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ucnstudy.enrich.session import SqlSession

DEFAULT_WINDOW_S = 60.0

_FOLLOWED = (
    "EXISTS (SELECT 1 FROM httpreqs AS h WHERE h.devid = dnsreqs.devid AND h.req_url_host = dnsreqs.query "
    "AND h.ts >= dnsreqs.ts AND h.ts <= dnsreqs.ts + CAST(? AS BIGINT) * INTERVAL '1 microsecond')"
)
_SET_TRUE = (f"UPDATE dnsreqs SET duplicate = TRUE "
             f"WHERE dnsreqs.duplicate IS DISTINCT FROM TRUE AND {_FOLLOWED}")
# NOT EXISTS is also true for a row without a query: FALSE, never NULL
_SET_FALSE = (f"UPDATE dnsreqs SET duplicate = FALSE "
              f"WHERE dnsreqs.duplicate IS DISTINCT FROM FALSE AND NOT {_FOLLOWED}")


# DuckDB: the rows of dnsreqs whose first HTTP request at or after them is within the window
_ASOF_FOLLOWED = (
    "dnsreqs.rowid IN (SELECT d.rowid FROM dnsreqs AS d ASOF JOIN httpreqs AS h "
    "ON h.devid = d.devid AND h.req_url_host = d.query AND h.ts >= d.ts "
    "WHERE h.ts <= d.ts + CAST(? AS BIGINT) * INTERVAL '1 microsecond')"
)
_ASOF_SET_TRUE = (f"UPDATE dnsreqs SET duplicate = TRUE "
                  f"WHERE dnsreqs.duplicate IS DISTINCT FROM TRUE AND {_ASOF_FOLLOWED}")
_ASOF_SET_FALSE = (f"UPDATE dnsreqs SET duplicate = FALSE "
                   f"WHERE dnsreqs.duplicate IS DISTINCT FROM FALSE AND NOT {_ASOF_FOLLOWED}")


def flag_duplicates(session: SqlSession, window_s: float = DEFAULT_WINDOW_S, *,
                    portable: bool = False) -> int:
    """Rewrite dnsreqs.duplicate for every row; the number of rows that changed. `portable`
    runs the EXISTS definition on DuckDB too (what the tests compare the ASOF join with)."""
    if window_s < 0:
        raise ValueError(f"the duplicate window must be >= 0 seconds, not {window_s}")
    window_us = (round(window_s * 1_000_000),)
    set_true, set_false = ((_ASOF_SET_TRUE, _ASOF_SET_FALSE) if session.engine == "duckdb" and not portable
                           else (_SET_TRUE, _SET_FALSE))
    return max(session.execute(set_true, window_us), 0) + max(session.execute(set_false, window_us), 0)
