"""Text fields cut to a level: URLs, host and DNS names, user agents, app names.

Each function maps one value (never None) to its shareable form, or None when nothing of it is
kept. Hosts that are IP literals go through Crypto-PAn (addresses.py) at every level.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from ua_parser import parse

from ucnstudy.enrich.domains import is_ip_address, split_host

Anonymise = Callable[[str], str | None]  # an IP address -> its Crypto-PAn form


def cut_host(host: str, level: str, anon: Anonymise) -> str | None:
    """A host name at a level: `full`/`host`/`path` keep it, `domain` keeps its registrable
    domain (else its public suffix, else its last label), `none` nothing; an IP literal is
    anonymised."""
    if level == "none":
        return None
    if (host[:1].isdigit() or ":" in host) and is_ip_address(host.strip("[]")):
        return anon(host)
    if level == "domain":  # a name under no public suffix (wpad.home) keeps its last label
        domain, suffix = split_host(host)
        return domain or suffix or host.rstrip(".").rsplit(".", 1)[-1]
    return host


def cut_url(url: str, level: str, anon: Anonymise) -> str | None:
    """A URL (or Referer) at a level: none, domain (scheme://domain/), host (scheme://host:port/)
    or path (without query string, fragment and user info)."""
    if level == "none":
        return None
    text = url.strip()
    if "://" not in text:
        if text.startswith("/"):  # origin-form request target: a path, no host
            return text.split("?", 1)[0].split("#", 1)[0] if level == "path" else None
        text = "tcp://" + text  # authority-form (CONNECT host:port)
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    host_out = cut_host(host, level, anon) or ""
    if ":" in host_out:
        host_out = f"[{host_out}]"
    authority = host_out + (f":{port}" if port and level != "domain" else "")
    path = parts.path if level == "path" else "/"
    if "://" not in url:
        return authority
    return f"{parts.scheme}://{authority}{path or '/'}"


def cut_path(path: str, level: str) -> str | None:
    """A URL path: kept without its query string at `path`, removed otherwise."""
    return path.split("?", 1)[0].split("#", 1)[0] if level == "path" else None


def user_agent_family(ua: str) -> str:
    """Browser family and major version, OS family and major version: 'Firefox 41 (Windows 7)'."""
    r = parse(ua)
    agent = _family(r.user_agent.family, r.user_agent.major) if r.user_agent else "Other"
    system = _family(r.os.family, r.os.major) if r.os else "Other"
    return f"{agent} ({system})"


def _family(family: str, major: str | None) -> str:
    return f"{family} {major}" if major else family


# App name -> category: first matching pattern wins (lower case, .exe and package prefixes
# ignored). Unknown apps are "other": nothing of the name is kept.
APP_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("browser", r"firefox|chrome|chromium|safari|iexplore|msedge|edge|opera|brave|browser"),
    ("mail", r"outlook|thunderbird|mail|\.gm$|gmail"),
    ("office", r"winword|excel|powerpnt|word|acrord|acrobat|preview|pages|numbers|keynote|office"
               r"|libreoffice|soffice|notepad|onenote"),
    ("media", r"vlc|spotify|itunes|music|youtube|netflix|video|player|photos|camera|deezer"),
    ("chat", r"skype|whatsapp|messenger|telegram|slack|teams|zoom|facetime|signal|viber|lync"),
    ("social", r"facebook|twitter|instagram|snapchat|linkedin|reddit|tiktok"),
    ("game", r"game|steam|minecraft|candy"),
    ("system", r"explorer|finder|springboard|launcher|svchost|system|kernel|dock|winlogon|csrss"
               r"|services|lsass|dwm|taskhost|spotlight|mds|update|antivirus|defender|settings"),
)
_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in APP_CATEGORIES)


def app_category(app: str) -> str:
    name = app.strip().lower().removesuffix(".exe")
    for category, pattern in _COMPILED:
        if pattern.search(name):
            return category
    return "other"
