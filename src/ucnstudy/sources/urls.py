"""Splitting request URLs as proxies log them: absolute URLs, CONNECT authorities, bare paths."""

from __future__ import annotations

import re
from functools import lru_cache

from ucnstudy.enrich.domains import normalise_host

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
_MIME = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")


def split_authority(authority: str) -> tuple[str | None, int | None]:
    """'user@Host:8080' -> ('host', 8080); '[2001:db8::1]:443' -> ('2001:db8::1', 443)."""
    authority = authority.rpartition("@")[2]
    port: int | None = None
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    else:
        host, colon, tail = authority.rpartition(":")
        if not colon or ":" in host:  # no port, or an unbracketed IPv6 address
            host = authority
        elif tail.isdigit() and len(tail) <= 5:
            port = int(tail)
        elif tail:
            return None, None
    return normalise_host(host), port


def split_url(url: str, method: str | None = None) -> tuple[str | None, str | None, int | None]:
    """(host, path without query, port) of a logged request URL; None parts when absent.

    The port is the explicit one, else the scheme's default (80 http, 443 https); a CONNECT
    request's URL is an authority 'host:port'.
    """
    if method == "CONNECT" or "://" not in url:
        if url.startswith("/"):
            return None, url.partition("?")[0].partition("#")[0], None
        host, port = split_authority(url.partition("/")[0])
        return host, None, port if port is not None else (443 if method == "CONNECT" else None)
    scheme, _, rest = url.partition("://")
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1:
            end = min(end, i)
    host, port = split_authority(rest[:end])
    path = rest[end:].partition("?")[0].partition("#")[0] or "/"
    if port is None:
        port = DEFAULT_PORTS.get(scheme.lower())
    return host, path, port


@lru_cache(maxsize=4096)
def clean_mimetype(value: str | None) -> str | None:
    """The 'type/subtype' of a Content-Type value in lower case, or None ('-', empty, garbage)."""
    if not value:
        return None
    found = _MIME.search(value)
    return found.group(0).lower() if found else None
