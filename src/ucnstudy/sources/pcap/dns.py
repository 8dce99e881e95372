"""A small DNS message parser: header, first question, and every answer record, aligned.

ans_addr holds the address for A/AAAA records and the target name for the record types that
point to a name (CNAME, NS, PTR, DNAME, MX, SRV, SVCB/HTTPS, SOA's primary server); it is
NULL for other types (TXT, ...), so the four answer arrays always have the same length (bug 11).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import NamedTuple

A, NS, CNAME, SOA, PTR, MX, AAAA, SRV, DNAME, SVCB, HTTPS = 1, 2, 5, 6, 12, 15, 28, 33, 39, 64, 65
NAME_AT = {NS: 0, CNAME: 0, PTR: 0, DNAME: 0, SOA: 0, MX: 2, SRV: 6, SVCB: 2, HTTPS: 2}


_HEADER = struct.Struct("!HHHH").unpack_from
_U16 = struct.Struct("!H").unpack_from
_RR = struct.Struct("!HHiH").unpack_from


class DnsError(ValueError):
    """The bytes are not a well-formed DNS message."""


class Answer(NamedTuple):
    rtype: int
    name: str
    addr: str | None
    ttl: int
    packed: bytes = b""  # the address bytes of an A or AAAA record


@dataclass
class Message:
    ident: int
    is_response: bool
    query: str | None
    query_type: int | None
    answers: list[Answer]


def read_name(msg: bytes, pos: int, seen: dict[int, bytes] | None = None) -> tuple[str, int]:
    """A possibly compressed name at pos: (lower-case name without trailing dot, next pos).
    `seen` maps offsets of names already read in this message to their bytes (a shortcut for
    compression pointers)."""
    labels: list[bytes] = []
    start, end, jumps, size = pos, -1, 0, len(msg)
    while True:
        if pos >= size:
            raise DnsError("name runs past the end of the message")
        length = msg[pos]
        if length == 0:
            pos += 1
            break
        if length >= 0xC0:
            if pos + 1 >= size:
                raise DnsError("truncated compression pointer")
            if end < 0:
                end = pos + 2
            jumps += 1
            if jumps > 64:
                raise DnsError("compression pointer loop")
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            if seen is not None and pos in seen:
                labels.append(seen[pos])
                break
            continue
        if length & 0xC0:
            raise DnsError(f"unsupported label type 0x{length:02x}")
        nxt = pos + 1 + length
        if nxt > size:
            raise DnsError("label runs past the end of the message")
        labels.append(msg[pos + 1:nxt])
        pos = nxt
    raw = b".".join(labels)
    if seen is not None and end < 0:
        seen[start] = raw
    return raw.decode("ascii", "backslashreplace").lower(), (end if end >= 0 else pos)


def parse(msg: bytes) -> Message:
    """Parse a DNS message; raise DnsError when it is malformed."""
    if len(msg) < 12:
        raise DnsError(f"message of {len(msg)} bytes is shorter than the 12-byte header")
    ident, flags, qdcount, ancount = _HEADER(msg, 0)
    pos = 12
    query = qtype = None
    seen: dict[int, bytes] = {}
    for i in range(qdcount):
        name, pos = read_name(msg, pos, seen)
        if pos + 4 > len(msg):
            raise DnsError("truncated question")
        if i == 0:
            query, qtype = name, _U16(msg, pos)[0]
        pos += 4
    answers = []
    for _ in range(ancount):
        answer, pos = _record(msg, pos, seen)
        answers.append(answer)
    return Message(ident, bool(flags & 0x8000), query, qtype, answers)


def _record(msg: bytes, pos: int, seen: dict[int, bytes]) -> tuple[Answer, int]:
    name, pos = read_name(msg, pos, seen)
    if pos + 10 > len(msg):
        raise DnsError("truncated resource record header")
    rtype, _, ttl, rdlen = _RR(msg, pos)
    pos += 10
    rdata_end = pos + rdlen
    if rdata_end > len(msg):
        raise DnsError("resource record data runs past the end of the message")
    addr: str | None = None
    packed = b""
    if rtype == A and rdlen == 4:
        packed = msg[pos:rdata_end]
        addr = f"{packed[0]}.{packed[1]}.{packed[2]}.{packed[3]}"
    elif rtype == AAAA and rdlen == 16:
        packed = msg[pos:rdata_end]
        addr = str(ipaddress.IPv6Address(packed))
    elif rtype in NAME_AT and rdlen > NAME_AT[rtype]:
        addr, _ = read_name(msg, pos + NAME_AT[rtype], seen)
    return Answer(rtype, name, addr, ttl if ttl > 0 else 0, packed), rdata_end
