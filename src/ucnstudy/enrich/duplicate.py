"""dnsreqs.duplicate: the same device requests the queried host over HTTP within the window.

Definition: a DNS response (devid, query, ts) is a duplicate when the same device has an
httpreqs row with req_url_host = query and ts <= http.ts <= ts + window (60 s by default, the
original's threshold: about 95% of DNS lookups followed by a request for the same host see it
within a minute). Every row gets TRUE or FALSE, never NULL (bug 17): a row without a query is
FALSE.

Set-based, inside the engine: DNS and HTTP events of each (device, host) are ordered by time, and
a window MIN over the following rows gives each DNS response the first HTTP request at or after
it (the portable form of an as-of join, engine-notes section 5). At equal timestamps DNS sorts
before HTTP, so a request at exactly the response time counts.
"""

from __future__ import annotations

from ucnstudy.enrich.session import SqlSession

DEFAULT_WINDOW_S = 60.0

_NEXT_HTTP = """
    SELECT devid, host, ts, kind,
           MIN(http_ts) OVER (PARTITION BY devid, host ORDER BY ts, kind
                              ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next_http
    FROM (
        SELECT devid, query AS host, ts, 0 AS kind, CAST(NULL AS TIMESTAMP) AS http_ts
        FROM dnsreqs WHERE query IS NOT NULL
        UNION ALL
        SELECT devid, req_url_host AS host, ts, 1 AS kind, ts AS http_ts
        FROM httpreqs WHERE req_url_host IS NOT NULL
    ) AS events
"""

_FLAGS = f"""
    SELECT DISTINCT devid, host, ts,
           (next_http IS NOT NULL AND next_http <= ts + CAST(? AS BIGINT) * INTERVAL '1 microsecond') AS dup
    FROM ({_NEXT_HTTP}) AS following
    WHERE kind = 0
"""

_UPDATE = f"""
    UPDATE dnsreqs SET duplicate = flags.dup
    FROM ({_FLAGS}) AS flags
    WHERE dnsreqs.devid = flags.devid AND dnsreqs.query = flags.host AND dnsreqs.ts = flags.ts
      AND dnsreqs.duplicate IS DISTINCT FROM flags.dup
"""

_NO_QUERY = "UPDATE dnsreqs SET duplicate = FALSE WHERE query IS NULL AND duplicate IS DISTINCT FROM FALSE"


def flag_duplicates(session: SqlSession, window_s: float = DEFAULT_WINDOW_S) -> int:
    """Rewrite dnsreqs.duplicate for every row; the number of rows that changed."""
    if window_s < 0:
        raise ValueError(f"the duplicate window must be >= 0 seconds, not {window_s}")
    changed = session.execute(_UPDATE, (round(window_s * 1_000_000),))
    return max(changed, 0) + max(session.execute(_NO_QUERY), 0)
