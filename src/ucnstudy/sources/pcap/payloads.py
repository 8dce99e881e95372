"""The few payloads worth reading: DNS on port 53, HTTP requests and responses, TLS ClientHello.

Candidates are selected with vectorised tests over the block (port 53; an outgoing TCP
payload that starts with an HTTP method or a TLS ClientHello; a connection already being
followed), so only those packets are handled in Python.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ucnstudy.sources.pcap import dns, tls
from ucnstudy.sources.pcap.decode import TCP, Packets, be16, be32, packed_words
from ucnstudy.sources.pcap.device import Orientation
from ucnstudy.sources.pcap.http import METHODS, HttpConnection, Request
from ucnstudy.sources.pcap.tcpstream import Reassembler

METHOD_WORDS = np.array([struct.unpack("!I", m)[0] for m in METHODS], np.int64)
FIN, SYN, RST = 0x01, 0x02, 0x04
IDLE_US = 300 * 1_000_000
Problem = Callable[[str, int], None]


Five = tuple[int, ...]  # local_hi, local_lo, remote_hi, remote_lo, proto, local_port, remote_port


def five_of(p: Packets, o: Orientation, i: int) -> Five:
    return (int(o.local_hi[i]), int(o.local_lo[i]), int(o.remote_hi[i]), int(o.remote_lo[i]),
            int(p.proto[i]), int(o.local_port[i]), int(o.remote_port[i]))


class Segment:
    """One candidate packet: its index in the block and the fields the parsers need."""

    __slots__ = ("flags", "i", "key", "length", "o", "out", "p", "seq", "ts")

    def __init__(self, p: Packets, o: Orientation, i: int, key: int, ts: int, out: bool, seq: int,
                 flags: int, length: int) -> None:
        self.p, self.o, self.i, self.key, self.ts = p, o, i, key, ts
        self.out, self.seq, self.flags, self.length = out, seq, flags, length

    def payload(self) -> bytes:
        return self.p.payload(self.i)

    def five(self) -> Five:
        return five_of(self.p, self.o, self.i)


@dataclass
class DnsEvent:
    """A parsed DNS response with its device-oriented tuple and times."""

    five: Five
    ts_us: int
    query_us: int | None
    message: dns.Message


@dataclass
class HttpEvent:
    five: Five
    request: Request


@dataclass
class _TcpDns:
    streams: tuple[Reassembler, Reassembler] = field(default_factory=lambda: (Reassembler(), Reassembler()))
    bufs: tuple[bytearray, bytearray] = field(default_factory=lambda: (bytearray(), bytearray()))
    last_us: int = 0


@dataclass
class _Hello:
    stream: Reassembler
    data: bytearray
    need: int
    last_us: int = 0


class PayloadInspector:
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.http: dict[int, HttpConnection] = {}
        self.tcp_dns: dict[int, _TcpDns] = {}
        self.hellos: dict[int, _Hello] = {}
        self.queries: dict[tuple[int, int], int] = {}  # (tuple hash, DNS id) -> query time
        self.dns_events: list[DnsEvent] = []
        self.http_events: list[HttpEvent] = []
        self.names: dict[int, list[tuple[int, str]]] = {}  # tuple hash -> (time, SNI or Host)
        self.resolved: dict[tuple[int, int], list[tuple[int, str]]] = {}  # address -> (time, query)
        self._followed = np.zeros(0, np.uint64)

    def candidates(self, p: Packets, o: Orientation, h: np.ndarray, ports: np.ndarray) -> np.ndarray:
        """Indices of the packets to read, in capture order."""
        with_payload = ports & (p.pl_len > 0)
        is_dns = with_payload & ((o.remote_port == 53) | (o.local_port == 53))
        tcp_out = with_payload & (p.proto == TCP) & o.outgoing & (p.pl_len >= 6)
        at = np.where(tcp_out, p.pl_off, 0)
        starts = np.isin(be32(p.buf, at), METHOD_WORDS)
        hello = (p.buf[at] == 0x16) & (p.buf[at + 1] == 3) & (p.buf[at + 5] == 1)
        hello &= tcp_out
        starts &= tcp_out
        # a ClientHello longer than its segment continues in the next outgoing segments
        partial = hello & (p.pl_len < 5 + be16(p.buf, at + 3))
        tcp = ports & (p.proto == TCP)
        followed = tcp & np.isin(h, np.concatenate([self._followed, h[starts]]))
        followed &= (p.pl_len > 0) | ((p.tcp_flags & (FIN | RST)) != 0)
        continued = tcp_out & np.isin(h, h[partial])
        return np.flatnonzero(is_dns | starts | hello | followed | continued)

    def inspect(self, p: Packets, o: Orientation, h: np.ndarray, ports: np.ndarray) -> None:
        idx = self.candidates(p, o, h, ports)
        is_dns = (o.remote_port[idx] == 53) | (o.local_port[idx] == 53)
        # a well-formed UDP DNS query only needs its id (for query_ts), not a full parse
        at = np.where(is_dns, p.pl_off[idx], 0)
        query_id = np.where(is_dns & (p.proto[idx] != TCP) & (p.pl_len[idx] >= 12)
                            & ((p.buf[at + 2] & 0x80) == 0), be16(p.buf, at), -1)
        columns = (idx, h[idx], p.ts_us[idx], o.outgoing[idx], p.seq[idx], p.tcp_flags[idx],
                   p.pl_len[idx], is_dns, query_id)
        http, queries = self.http, self.queries
        for i, key, ts, out, seq, flags, length, dns_port, qid in zip(*(c.tolist() for c in columns),
                                                                      strict=True):
            if qid >= 0:
                queries.setdefault((key, qid), ts)
                continue
            conn = http.get(key)
            if conn is not None and not flags & (FIN | RST) and conn.skip_body(out, seq, length, ts):
                if conn.done:
                    self._http_done(Segment(p, o, i, key, ts, out, seq, flags, length), conn)
                continue  # an in-order body segment: nothing to parse
            seg = Segment(p, o, i, key, ts, out, seq, flags, length)
            if dns_port:
                self._dns(seg)
            else:
                self._tcp(seg)
        self._followed = np.array(sorted({*self.http, *self.tcp_dns, *self.hellos}), np.uint64)

    def _dns(self, seg: Segment) -> None:
        data = seg.payload()
        if seg.p.proto[seg.i] != TCP:
            self._dns_message(seg, data)
            return
        state = self.tcp_dns.setdefault(seg.key, _TcpDns())
        state.last_us = seg.ts
        side = 0 if seg.out else 1
        for chunk in state.streams[side].push(seg.seq, data, bool(seg.flags & SYN)):
            buf = state.bufs[side]
            if chunk is None:
                buf.clear()
                continue
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + (size := struct.unpack_from("!H", buf)[0]):
                self._dns_message(seg, bytes(buf[2:2 + size]))
                del buf[:2 + size]

    def _dns_message(self, seg: Segment, data: bytes) -> None:
        try:
            message = dns.parse(data)
        except dns.DnsError as exc:
            self.problem(f"malformed DNS message ({exc}); packet skipped", int(seg.p.number[seg.i]))
            return
        if not message.is_response:
            self.queries.setdefault((seg.key, message.ident), seg.ts)
            return
        query_us = self.queries.pop((seg.key, message.ident), None)
        self.dns_events.append(DnsEvent(seg.five(), seg.ts, query_us, message))
        for answer in message.answers:
            if answer.packed and message.query:
                seen = self.resolved.setdefault(packed_words(answer.packed), [])
                seen.append((seg.ts, message.query))
                del seen[:-4]

    def _tcp(self, seg: Segment) -> None:
        conn = self.http.get(seg.key)
        data = seg.payload()
        if conn is None and seg.out and data[:4] in METHODS:
            conn = self.http[seg.key] = HttpConnection(seg.five())
        if conn is not None:
            conn.last_us = seg.ts
            stream, parser = (conn.client, conn.requests) if seg.out else (conn.server, conn.responses)
            for chunk in stream.push(seg.seq, data):
                parser.feed(chunk, seg.ts)
            self._http_done(seg, conn)
        if seg.out and (seg.key in self.hellos or tls.hello_length(data)):
            self._hello(seg, data)

    def _http_done(self, seg: Segment, conn: HttpConnection) -> None:
        """Collect finished requests; RST, or FIN from the server, ends the connection."""
        ends = bool(seg.flags & RST or (seg.flags & FIN and not seg.out))
        finished = conn.close() if ends else conn.take()
        if ends:
            del self.http[seg.key]
        for request in finished:
            self._http_event(conn.five, seg.key, request)

    def _http_event(self, five: Five, key: int, request: Request) -> None:
        self.http_events.append(HttpEvent(five, request))
        if request.host:
            names = self.names.setdefault(key, [])
            names.append((request.ts_us, request.host))
            del names[:-8]

    def _hello(self, seg: Segment, data: bytes) -> None:
        key, ts = seg.key, seg.ts
        hello = self.hellos.get(key)
        if hello is None:
            need = tls.hello_length(data)
            if need is None:
                return
            hello = _Hello(Reassembler(), bytearray(), min(need, tls.MAX_HELLO))
        hello.last_us = ts
        for chunk in hello.stream.push(seg.seq, data):
            if chunk is not None:
                hello.data += chunk
        if len(hello.data) < hello.need:
            self.hellos[key] = hello
            return
        self.hellos.pop(key, None)
        name = tls.server_name(bytes(hello.data[:hello.need]))
        if name:
            names = self.names.setdefault(key, [])
            names.append((ts, name))
            del names[:-8]

    def evict(self, newest_us: int | None) -> None:
        """Close connections and forget queries idle for IDLE_US (everything at the end)."""
        limit = None if newest_us is None else newest_us - IDLE_US
        for key, conn in list(self.http.items()):
            if limit is None or conn.last_us < limit:
                for request in conn.close():
                    self._http_event(conn.five, key, request)
                del self.http[key]
        for table in (self.tcp_dns, self.hellos):
            for key in [k for k, v in table.items() if limit is None or v.last_us < limit]:
                del table[key]
        if limit is None or len(self.queries) > 100_000:
            self.queries = {k: t for k, t in self.queries.items() if limit is not None and t >= limit}
        self._followed = np.array(sorted({*self.http, *self.tcp_dns, *self.hellos}), np.uint64)

    def take_events(self) -> tuple[list[DnsEvent], list[HttpEvent]]:
        dns_events, http_events = self.dns_events, self.http_events
        self.dns_events, self.http_events = [], []
        return dns_events, http_events

    def server_name(self, key: int, remote: tuple[int, int], start_us: int, end_us: int) -> str | None:
        """SNI or Host seen in the flow, else the query whose answer gave the address most
        recently before the flow started (or during it)."""
        for ts, name in self.names.get(key, ()):
            if start_us <= ts <= end_us:
                return name
        answers = self.resolved.get(remote, ())
        before = [(ts, name) for ts, name in answers if ts <= start_us]
        if before:
            return max(before)[1]
        during = [(ts, name) for ts, name in answers if ts <= end_us]
        return min(during)[1] if during else None

    def forget_names(self, key: int, before_us: int) -> None:
        names = self.names.get(key)
        if names is not None:
            names[:] = [(ts, n) for ts, n in names if ts > before_us]
            if not names:
                del self.names[key]
