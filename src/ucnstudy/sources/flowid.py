"""One flow identifier for every table: SHA-224 hex of the device-oriented 5-tuple."""

from __future__ import annotations

import hashlib


def flowid(srcip: str, dstip: str, proto: int, srcport: int, dstport: int) -> str:
    """src is always the device side. Separators make the encoding unambiguous (bug 8)."""
    key = f"{srcip}|{dstip}|{proto}|{srcport}|{dstport}".encode()
    return hashlib.sha224(key).hexdigest()
