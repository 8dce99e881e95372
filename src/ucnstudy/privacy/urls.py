"""URLs cut to a level, a whole column at a time.

Most URLs of a study are distinct (query strings), so a per-value function would run once per
row. Here Arrow splits the column with one regular expression (scheme, host, port, path; user
info, query and fragment dropped), the host goes through the per-distinct-value host mapper (few
distinct hosts), and the parts are joined back vectorised. What the expression does not match
(CONNECT authority-form, origin-form paths, odd URLs) goes through `text.cut_url` value by value;
both paths give the same result (tests/privacy/test_privacy_units.py).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ucnstudy.privacy.arrays import Mapper, nulls

URL_PARTS = (r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:[^@/?#\[\]]*@)?"
             r"(?P<host>\[[0-9A-Fa-f:.]*\]|[^:/?#\[\]@]*)(?::(?P<port>[0-9]*))?(?P<path>[^?#]*)")


def cut_urls(arr: pa.Array | pa.ChunkedArray, level: str, host: Mapper, path: Mapper,
             one_by_one: Mapper) -> pa.Array:
    """`arr` at `level` (none, domain, host, path). `host` maps a lower-case host name at the
    level, `path` a path (used at level path), `one_by_one` a whole URL (the fallback)."""
    if level == "none":
        return nulls(arr)
    arr = (arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr).cast(pa.string())
    parts = pc.extract_regex(arr, URL_PARTS)
    name = pc.utf8_lower(pc.utf8_trim(parts.field("host"), "[]"))
    fast = pc.and_(parts.is_valid(), pc.greater(pc.utf8_length(name), 0)).fill_null(False)
    cut = host(name)
    bracketed = pc.if_else(pc.match_substring(cut, ":"),
                           pc.binary_join_element_wise("[", cut, "]", ""), cut)
    port = parts.field("port")
    with_port = pc.and_(pc.greater(pc.utf8_length(port), 0), pa.scalar(level != "domain"))
    port_text = pc.if_else(with_port, pc.binary_join_element_wise(":", port, ""), "")
    tail = pa.scalar("/")
    if level == "path":
        p = path(parts.field("path"))
        tail = pc.if_else(pc.greater(pc.utf8_length(p), 0), p, "/")
    scheme = pc.utf8_lower(parts.field("scheme"))
    joined = pc.binary_join_element_wise(scheme, "://", bracketed, port_text, tail, "")
    slow = one_by_one(pc.if_else(fast, pa.scalar(None, pa.string()), arr))
    return pc.if_else(fast, joined, slow)
