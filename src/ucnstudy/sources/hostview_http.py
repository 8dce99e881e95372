"""HostView `http` rows as canonical httpreqs rows, oriented from the device (fixes bug 9).

HostView writes one row per request/response pair when the headers of the second message end,
usually the response, so srcip/srcport are often the server's. The device side is, in order:
1. the address of the row that is one of the device's leases (manifest), if exactly one is;
2. else the side whose port is not an HTTP server port (80, 8080: the only ports HostView
   parses) while the other side's is;
3. else the row's order (src = device).
Missing values stay NULL (the original defaulted srcport to 80); a missing protocol is TCP (6),
the only transport HostView parses HTTP on. The Host header is checked as a hostname and
replaced by the server address when invalid. HostView cuts the URL at '?' (anonymisation).
"""

from __future__ import annotations

import re

from ucnstudy.sources.flowid import flowid
from ucnstudy.sources.hostview_db import RecordError, as_int

SERVER_PORTS = frozenset({80, 8080})
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}"
                       r"[a-z0-9])?)*\.?$")
_MIME = re.compile(r"([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)")
_METHOD = re.compile(r"^[A-Z]{3,10}$")


def device_first(src: str, dst: str, sport: int | None, dport: int | None, addresses: set[str]) -> bool:
    """True when (src, sport) is the device side (see the module doc for the rule)."""
    if (src in addresses) != (dst in addresses):
        return src in addresses
    if (sport in SERVER_PORTS) != (dport in SERVER_PORTS):
        return dport in SERVER_PORTS
    return True


def mime(value: object) -> str | None:
    match = _MIME.search(str(value).lower()) if value else None
    return match[1] if match else None


def http_row(row: dict[str, object], devid: int, addresses: set[str]) -> dict[str, object]:
    src, dst = str(row["srcip"] or "").strip(), str(row["destip"] or "").strip()
    sport, dport = as_int(row["srcport"], 32), as_int(row["destport"], 32)
    proto = as_int(row["protocol"], 32) or 6
    if not device_first(src, dst, sport, dport, addresses):
        src, dst, sport, dport = dst, src, dport, sport
    method = str(row["httpverb"] or "").strip().upper() or None
    if method is not None and not _METHOD.match(method):
        raise RecordError(f"httpverb {row['httpverb']!r} is not an HTTP method")
    authority = str(row["httphost"] or "").strip().lower()
    host, _, port = authority.partition(":")
    if not _HOSTNAME.match(host) or (port and not port.isdigit()):
        host = authority = dst  # no usable Host header: the server address names the site
    path = str(row["httpverbparam"] or "").strip()
    if path.startswith(("http://", "https://")):  # absolute form (requests to a proxy)
        url = path
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    else:
        path = path if path.startswith("/") else "/" + path
        url = f"http://{authority}{path}"
    status = as_int(row["httpstatuscode"], 32) or None  # HostView writes 0 when no status line was seen
    fid = flowid(src, dst, proto, sport, dport) if src and dst and None not in (sport, dport) else None
    return {
        "devid": devid, "source": "hostview", "ts": row["ts"], "req_method": method, "req_url": url,
        "req_url_host": host or None, "req_url_path": path, "req_referer": str(row["referer"] or "") or None,
        "res_status_code": status, "res_size": _size(row["contentlength"]),
        "res_mimetype": mime(row["contenttype"]), "srcip": src or None, "dstip": dst or None, "proto": proto,
        "srcport": sport, "dstport": dport, "flowid": fid,
    }


def _size(value: object) -> int | None:
    try:
        return as_int(str(value).strip()) if value not in (None, "") else None
    except RecordError:
        return None  # a garbled Content-Length does not invalidate the request
