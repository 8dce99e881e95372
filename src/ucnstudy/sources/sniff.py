"""What a file looks like, from its first bytes: the hint of an import that read nothing."""

from __future__ import annotations

import gzip
import re
import zlib

HEAD = 64 * 1024
_PCAP = {b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1"}
_SQUID = re.compile(rb"^\d{9,10}\.\d{3}\s+-?\d+ \S+ \S+/\d{3} ")
_JSON_KEYS = (  # (key in the document, what it is)
    (b'"semanticSegments"', "an on-device Timeline.json (ucn import location --format timeline)"),
    (b'"timelineObjects"', "a Takeout Semantic Location History (ucn import location --format takeout)"),
    (b'"latitudeE7"', "a Takeout Records.json (ucn import location --format takeout)"),
    (b'"segments"', "a Moves storyline (ucn import location --format moves)"),
)


def looks_like(path: str) -> str | None:
    """A short description of the file's likely format and importer, or None when unsure."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD)
    except OSError:
        return None
    if head[:2] == b"\x1f\x8b":
        inner = _gunzip_head(head)
        what = _describe(inner) if inner else None
        return f"gzip-compressed {what}" if what else None
    return _describe(head)


def _gunzip_head(head: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, HEAD)
    except (zlib.error, gzip.BadGzipFile):
        return b""


def _describe(head: bytes) -> str | None:
    if head[:4] in _PCAP:
        return "a pcap capture (ucn import pcap)"
    if head[:4] == b"\x0a\x0d\x0d\x0a":
        return "a pcapng capture (ucn import pcap)"
    if head.startswith(b"SQLite format 3\x00"):
        return "an SQLite database (ucn import hostview)"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (ucn import hostview, for HostView uploads)"
    text = head.lstrip()
    if text.startswith((b"#separator", b"#fields")) or b'"id.orig_h"' in head[:4096]:
        return "a Zeek log (ucn import zeek)"
    if (text.startswith(b"<?xml") and b"<gpx" in head) or text.startswith(b"<gpx"):
        return "a GPX track (ucn import location --format gpx)"
    if text.startswith((b"{", b"[")):
        return next((what for key, what in _JSON_KEYS if key in head), "a JSON document")
    if _SQUID.match(text):
        return "a squid access log (ucn import squid)"
    if text.startswith((b"users:", b"devices:", b"kind,")):
        return "a study manifest (ucn import manifest)"
    return None
