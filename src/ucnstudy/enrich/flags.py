"""The flags that decide whether a request was user-initiated, each evaluated independently.

HTTP (`httpreqs`):
  matches_ctypefilter   static content: the URL path ends in one of the original's extensions
                        (or contains ".js?"), or the response MIME type is a static type.
  matches_urlblacklist  the host (or a parent domain, on label boundaries) is on the bundled list
                        of known background and tracker hosts, `data/background_hosts.txt`.
  matches_easylist      a user-supplied Adblock-syntax list blocks the URL.
  user_url              FALSE when any flag is TRUE; TRUE when at least one flag was evaluated
                        and none is TRUE; NULL when no flag could be evaluated.
DNS (`dnsreqs`): matches_blacklist, matches_easylist and user_req, the same way, on the query name.

A NULL flag means "not evaluated" (no URL, no host, or no Adblock list given), never "false"
(bug 2: the original evaluated some flags only when others were false).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from ucnstudy.enrich.domains import normalise_host
from ucnstudy.errors import InputError, UcnError

# The original study's static-content extensions (matchurl), plus the MIME types of the same kinds.
STATIC_EXTENSIONS = (".js", ".css", ".less", ".swf", ".jpg", ".jpeg", ".gif", ".bmp", ".png", ".jpt",
                     ".ogg", ".mp3", ".mp4", ".mpg", ".mpeg")
STATIC_URL_INFIX = ".js?"
STATIC_MIME_PREFIXES = ("image/", "audio/", "video/", "font/")
STATIC_MIME_TYPES = ("text/css", "text/javascript", "application/javascript", "application/x-javascript",
                     "application/ecmascript", "application/x-shockwave-flash", "application/font-woff",
                     "application/x-font-woff", "application/font-sfnt", "application/vnd.ms-fontobject")
BACKGROUND_RESOURCE = "background_hosts.txt"


def matches_ctype(url: str | None, path: str | None = None, mimetype: str | None = None) -> bool | None:
    """Static content by URL extension or MIME type; None when there is neither URL nor MIME type."""
    if url is None and path is None and mimetype is None:
        return None
    target = (path if path is not None else url or "").lower()
    if target.endswith(STATIC_EXTENSIONS) or STATIC_URL_INFIX in (url or "").lower():
        return True
    return (mimetype or "").lower().startswith(STATIC_MIME_PREFIXES + STATIC_MIME_TYPES)


def combine_user_flag(*flags: bool | None) -> bool | None:
    """NOT any TRUE flag; NULL when no flag was evaluated (the SQL in enrich.study mirrors this)."""
    if any(f is True for f in flags):
        return False
    if all(f is None for f in flags):
        return None
    return True


@dataclass(frozen=True)
class HostPattern:
    host: str
    path_prefix: str | None = None  # HTTP only; None matches every path


class BackgroundHosts:
    """Host patterns matched on label boundaries: "apple.com" matches "x.apple.com", not "xapple.com"."""

    def __init__(self, patterns: Iterable[HostPattern]) -> None:
        self.patterns = tuple(patterns)
        self._hosts = {p.host for p in self.patterns if p.path_prefix is None}
        self._paths: dict[str, list[str]] = {}
        for p in self.patterns:
            if p.path_prefix is not None:
                self._paths.setdefault(p.host, []).append(p.path_prefix)

    @classmethod
    def parse(cls, lines: Iterable[str], source: object = "<background hosts>") -> BackgroundHosts:
        patterns = []
        for number, raw in enumerate(lines, start=1):
            line = raw.split("#", 1)[0].strip().lower()
            if not line:
                continue
            host, slash, path = line.partition("/")
            host = normalise_host(host) or ""
            if not host or " " in line or "*" in host:
                raise InputError(source, f"not a host or host/path pattern: {raw.strip()!r}", line=number)
            patterns.append(HostPattern(host, "/" + path if slash else None))
        return cls(patterns)

    @classmethod
    def bundled(cls) -> BackgroundHosts:
        text = resources.files("ucnstudy.data").joinpath(BACKGROUND_RESOURCE).read_text(encoding="utf-8")
        return cls.parse(text.splitlines(), BACKGROUND_RESOURCE)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> BackgroundHosts:
        with open(path, encoding="utf-8") as f:
            return cls.parse(f, os.fspath(path))

    def _suffixes(self, host: str) -> list[str]:
        labels = host.split(".")
        return [".".join(labels[i:]) for i in range(len(labels))]

    def classify(self, host: str | None) -> tuple[bool | None, list[str]]:
        """(host_matches, path_prefixes) in one pass over the host's parent domains."""
        name = normalise_host(host)
        if name is None:
            return None, []
        suffixes = self._suffixes(name)
        listed = any(s in self._hosts for s in suffixes)
        return listed, [p for s in suffixes for p in self._paths.get(s, ())] if self._paths else []

    def host_matches(self, host: str | None) -> bool | None:
        """A host-only pattern matches (DNS queries use this); None for no host."""
        name = normalise_host(host)
        if name is None:
            return None
        return any(s in self._hosts for s in self._suffixes(name))

    def path_prefixes(self, host: str | None) -> list[str]:
        """Path prefixes of the host/path patterns that apply to this host."""
        name = normalise_host(host)
        if name is None:
            return []
        return [p for s in self._suffixes(name) for p in self._paths.get(s, [])]

    def url_matches(self, host: str | None, path: str | None) -> bool | None:
        """HTTP: a host pattern, or a host/path pattern whose prefix starts the path."""
        found = self.host_matches(host)
        if found is None or found:
            return found
        return any((path or "").startswith(p) for p in self.path_prefixes(host))


_MIME_REQUEST_TYPES = (("text/css", "stylesheet"), ("text/html", "document"), ("image/", "image"),
                       ("audio/", "media"), ("video/", "media"), ("font/", "font"),
                       ("application/json", "xmlhttprequest"))
NEUTRAL_PAGE = "https://ucnstudy.invalid/"  # stands for "some other site" when no page is known


def request_type(mimetype: str | None) -> str:
    """The Adblock request type a response MIME type implies (rules may be bound to types)."""
    mime = (mimetype or "").lower()
    if "javascript" in mime or "ecmascript" in mime:
        return "script"
    for prefix, kind in _MIME_REQUEST_TYPES:
        if mime.startswith(prefix):
            return kind
    return "other"


class AdblockFilter:
    """Adblock Plus syntax lists (EasyList...) evaluated by the adblock-rust engine (`adblock`).

    Request context: an HTTP request is checked with its Referer as the page (or the URL itself
    when there is none: a top-level navigation) and the request type implied by its MIME type.
    A DNS query is checked as `https://<query>/` requested from a neutral third-party page, since
    a lookup carries no page; `$third-party` rules therefore apply to DNS.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        try:
            import adblock
        except ImportError:
            raise UcnError("Adblock lists need the 'adblock' package: pip install adblock") from None
        self.paths = [os.fspath(p) for p in paths]
        filter_set = adblock.FilterSet()
        for path in self.paths:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    filter_set.add_filter_list(f.read())
            except OSError as exc:
                raise InputError(path, f"cannot read the Adblock list: {exc.strerror}") from None
        self._engine = adblock.Engine(filter_set)

    def blocks_url(self, url: str | None, referer: str | None = None, mimetype: str | None = None
                   ) -> bool | None:
        if not url:
            return None
        page = referer or url
        return bool(self._engine.check_network_urls(url, page, request_type(mimetype)).matched)

    def blocks_host(self, host: str | None) -> bool | None:
        name = normalise_host(host)
        if name is None:
            return None
        return bool(self._engine.check_network_urls(f"https://{name}/", NEUTRAL_PAGE, "other").matched)
