"""The UPDATE statements of enrichment. Each rewrites one derived column group of one table and
touches only rows whose value changes, so a re-run on an enriched study writes almost nothing.

Flag combination (see enrich.flags): the user flag is FALSE when any flag is TRUE, NULL when every
flag is NULL (nothing evaluated), else TRUE. `CASE WHEN a OR b THEN` is taken only when some flag
is TRUE, since NULL OR FALSE is NULL.
"""

from __future__ import annotations

from ucnstudy.enrich.flags import STATIC_EXTENSIONS, STATIC_MIME_PREFIXES, STATIC_MIME_TYPES, STATIC_URL_INFIX


def user_flag(table: str, flags: tuple[str, ...]) -> str:
    any_true = " OR ".join(f"{table}.{f}" for f in flags)
    all_null = " AND ".join(f"{table}.{f} IS NULL" for f in flags)
    return f"(CASE WHEN {any_true} THEN FALSE WHEN {all_null} THEN NULL ELSE TRUE END)"


def set_user_flag(table: str, target: str, flags: tuple[str, ...]) -> str:
    expr = user_flag(table, flags)
    return f"UPDATE {table} SET {target} = {expr} WHERE {table}.{target} IS DISTINCT FROM {expr}"


def ctypefilter() -> tuple[str, list[str]]:
    """The static-content test as SQL (LIKE patterns as parameters) and its parameters."""
    target = "lower(coalesce(httpreqs.req_url_path, httpreqs.req_url, ''))"
    url = "lower(coalesce(httpreqs.req_url, ''))"
    mime = "lower(coalesce(httpreqs.res_mimetype, ''))"
    tests = [f"{target} LIKE ?"] * len(STATIC_EXTENSIONS) + [f"{url} LIKE ?"]
    tests += [f"{mime} LIKE ?"] * (len(STATIC_MIME_PREFIXES) + len(STATIC_MIME_TYPES))
    params = [f"%{e}" for e in STATIC_EXTENSIONS] + [f"%{STATIC_URL_INFIX}%"]
    params += [f"{m}%" for m in (*STATIC_MIME_PREFIXES, *STATIC_MIME_TYPES)]
    evaluated = ("httpreqs.req_url IS NOT NULL OR httpreqs.req_url_path IS NOT NULL "
                 "OR httpreqs.res_mimetype IS NOT NULL")
    expr = f"(CASE WHEN {evaluated} THEN ({' OR '.join(tests)}) ELSE NULL END)"
    return expr, params


def set_ctypefilter() -> tuple[str, list[str]]:
    expr, params = ctypefilter()
    sql = (f"UPDATE httpreqs SET matches_ctypefilter = {expr} "
           f"WHERE httpreqs.matches_ctypefilter IS DISTINCT FROM {expr}")
    return sql, params + params


def set_dns_hosts(evaluate_adblock: bool) -> str:
    adblock = ", matches_easylist = h.adblock" if evaluate_adblock else ""
    adblock_changed = " OR dnsreqs.matches_easylist IS DISTINCT FROM h.adblock" if evaluate_adblock else ""
    return (
        "UPDATE dnsreqs SET query_domain = h.domain, query_tld = h.suffix, "
        f"matches_blacklist = h.bl_host{adblock} FROM _ucn_hosts AS h "
        "WHERE dnsreqs.query = h.host AND (dnsreqs.query_domain IS DISTINCT FROM h.domain "
        "OR dnsreqs.query_tld IS DISTINCT FROM h.suffix "
        f"OR dnsreqs.matches_blacklist IS DISTINCT FROM h.bl_host{adblock_changed})"
    )


def clear_without_key(table: str, key: str, columns: tuple[str, ...]) -> str:
    """Rows without a host are not evaluated: their derived columns become NULL."""
    sets = ", ".join(f"{c} = NULL" for c in columns)
    any_set = " OR ".join(f"{c} IS NOT NULL" for c in columns)
    return f"UPDATE {table} SET {sets} WHERE {key} IS NULL AND ({any_set})"


SET_HTTP_HOSTS = (
    "UPDATE httpreqs SET req_url_domain = h.domain, matches_urlblacklist = h.bl_host "
    "FROM _ucn_hosts AS h WHERE httpreqs.req_url_host = h.host AND NOT h.has_paths "
    "AND (httpreqs.req_url_domain IS DISTINCT FROM h.domain "
    "OR httpreqs.matches_urlblacklist IS DISTINCT FROM h.bl_host)"
)

# Hosts that host/path patterns name are few (go.microsoft.com...): their rows are always rewritten.
SET_HTTP_HOST_PATHS = (
    "UPDATE httpreqs SET req_url_domain = h.domain, matches_urlblacklist = (h.bl_host OR EXISTS ("
    "SELECT 1 FROM _ucn_host_paths AS p WHERE p.host = httpreqs.req_url_host "
    "AND substr(coalesce(httpreqs.req_url_path, ''), 1, length(p.prefix)) = p.prefix)) "
    "FROM _ucn_hosts AS h WHERE httpreqs.req_url_host = h.host AND h.has_paths"
)

SET_HTTP_ADBLOCK = (
    "UPDATE httpreqs SET matches_easylist = a.blocked FROM _ucn_adblock_urls AS a "
    "WHERE httpreqs.req_url = a.url AND coalesce(httpreqs.req_referer, '') = a.referer "
    "AND coalesce(httpreqs.res_mimetype, '') = a.mime "
    "AND httpreqs.matches_easylist IS DISTINCT FROM a.blocked"
)

DISTINCT_HOSTS = (
    "SELECT query AS host FROM dnsreqs WHERE query IS NOT NULL "
    "UNION SELECT req_url_host AS host FROM httpreqs WHERE req_url_host IS NOT NULL"
)

DISTINCT_URLS = (
    "SELECT DISTINCT req_url AS url, coalesce(req_referer, '') AS referer, "
    "coalesce(res_mimetype, '') AS mime FROM httpreqs WHERE req_url IS NOT NULL"
)


def set_service(table: str) -> tuple[str, str]:
    """(set the IANA name where the port is known, clear it where it is not)."""
    known = (
        f"UPDATE {table} SET service = s.service FROM _ucn_services AS s "
        f"WHERE {table}.dstport = s.port AND {table}.proto = s.proto "
        f"AND {table}.service IS DISTINCT FROM s.service"
    )
    unknown = (
        f"UPDATE {table} SET service = NULL WHERE {table}.service IS NOT NULL AND NOT EXISTS ("
        f"SELECT 1 FROM _ucn_services AS s WHERE s.port = {table}.dstport AND s.proto = {table}.proto)"
    )
    return known, unknown
