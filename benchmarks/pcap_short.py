"""A synthetic capture shaped like a user's day (issue 11): one device, mostly short TLS
connections, for the pcap benchmark's second shape.

At 300,000 packets: 17,194 flows (8,597 DNS exchanges, 7,982 TLS and 615 HTTP keep-alive
connections), 155,732 per-second 5-tuple rows, 8,597 DNS responses and 7,995 HTTP requests
(the issue's capture: 17,412, 157,208, 8,389 and 8,436). Each TCP connection lives ~20 s: a
handshake, then 13 small request/response exchanges 1 to 1.6 s apart (TLS records, or HTTP
requests on the HTTP connections; the server thinks up to 0.4 s), then FIN. Frames are packed
with struct (no checksums), so generating the file takes a few seconds; the benchmark caches it.
"""

from __future__ import annotations

import os
import random
import struct

DEVICE, RESOLVER = "10.8.0.2", "10.8.0.1"
_ETH = b"\x02\x00\x00\x00\x00\x01" * 2 + b"\x08\x00"
A, S, P, F = 0x10, 0x02, 0x08, 0x01
EXCHANGES = 13  # per TCP connection, one every 1 to 1.6 s


def _ip(a: str) -> bytes:
    return bytes(int(x) for x in a.split("."))


def _ipv4(src: bytes, dst: bytes, proto: int, l4: bytes) -> bytes:
    return _ETH + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, src, dst) + l4


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data


def _udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def _client_hello(host: str) -> bytes:
    name = host.encode()
    sni = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    ext = struct.pack("!HH", 0, len(sni)) + sni
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(ext)) + ext
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def _dns(host: str, qid: int, server: bytes, response: bool) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in host.split(".")) + b"\x00"
    question = labels + struct.pack("!HH", 1, 1)
    if not response:
        return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + server
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer


class Writer:
    """Packets of the capture as pcap records, in time order per connection."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.records, self.count = rng, [], 0

    def add(self, ts: float, frame: bytes) -> None:
        self.records.append((ts, frame))
        self.count += 1

    def tcp_connection(self, t: float, port: int, server: bytes, host: str, http: bool) -> None:
        dev, rtt = _ip(DEVICE), 0.02 + 0.03 * self.rng.random()
        dport = 80 if http else 443
        c, s = 1000, 5000

        def out(ts: float, seq: int, ack: int, fl: int, data: bytes = b"") -> None:
            self.add(ts, _ipv4(dev, server, 6, _tcp(port, dport, seq, ack, fl, data)))

        def inn(ts: float, seq: int, ack: int, fl: int, data: bytes = b"") -> None:
            self.add(ts, _ipv4(server, dev, 6, _tcp(dport, port, seq, ack, fl, data)))

        out(t, c, 0, S)
        inn(t + rtt, s, c + 1, S | A)
        out(t + rtt + 0.0002, c + 1, s + 1, A)
        c, s, t = c + 1, s + 1, t + rtt + 0.0003
        for k in range(EXCHANGES):
            if http:
                request = (b"GET /item/%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0 (bench)\r\n"
                           b"\r\n" % (k, host.encode()))
                body = b"x" * self.rng.randrange(200, 2500)
                response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
                            % len(body)) + body
            else:
                record = b"\x17\x03\x03" + bytes(self.rng.randrange(80, 600))
                request = _client_hello(host) if k == 0 else record
                response = b"\x17\x03\x03" + bytes(self.rng.randrange(100, 1400))
            out(t, c, s, P | A, request)
            c += len(request)
            t += rtt + 0.4 * self.rng.random()  # the server's think time
            for j in range(0, len(response), 1448):
                part = response[j:j + 1448]
                inn(t, s, c, A | (P if j + 1448 >= len(response) else 0), part)
                s += len(part)
                t += 0.0001
            if len(response) > 1448:
                out(t + 0.0001, c, s, A)
            t += 1.0 + 0.6 * self.rng.random()
        out(t, c, s, F | A)
        inn(t + rtt, s, c + 1, F | A)
        out(t + rtt + 0.0002, c + 1, s + 1, A)

    def dns_exchange(self, t: float, port: int, server: bytes, host: str, qid: int) -> None:
        dev, resolver = _ip(DEVICE), _ip(RESOLVER)
        self.add(t, _ipv4(dev, resolver, 17, _udp(port, 53, _dns(host, qid, server, False))))
        self.add(t + 0.012, _ipv4(resolver, dev, 17, _udp(53, port, _dns(host, qid, server, True))))


def write_short_flows(path: str, packets: int = 300_000, seed: int = 2) -> int:
    """Write the capture (at least `packets` packets); returns the number written."""
    rng = random.Random(seed)
    w = Writer(rng)
    t, port, n = 1_430_000_000.0, 20000, 0
    while w.count < packets:
        host = f"h{rng.randrange(2000)}.example{rng.randrange(50)}.com"
        server = bytes([203, 0, 113, rng.randrange(1, 255)])
        w.dns_exchange(t, 30000 + n % 30000, server, host, n % 65536)
        w.tcp_connection(t + 0.02, port, server, host, http=n % 14 == 0)
        port = port + 1 if port < 29999 else 20000
        n += 1
        t += 0.2 * rng.random()
    w.records.sort(key=lambda r: r[0])
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for ts, frame in w.records:
            sec = int(ts)
            f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(frame), len(frame)) + frame)
    os.replace(tmp, path)
    return w.count
