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


def flag_duplicates(session: SqlSession, window_s: float = DEFAULT_WINDOW_S) -> int:
    """Rewrite dnsreqs.duplicate for every row; the number of rows that changed."""
    if window_s < 0:
        raise ValueError(f"the duplicate window must be >= 0 seconds, not {window_s}")
    window_us = (round(window_s * 1_000_000),)
    return max(session.execute(_SET_TRUE, window_us), 0) + max(session.execute(_SET_FALSE, window_us), 0)
