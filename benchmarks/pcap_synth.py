"""A synthetic VPN-style capture with a realistic mix, for the pcap benchmark.

Sessions of one device (10.8.0.2) start every 0.1 s: DNS lookups (A with a CNAME chain),
HTTPS downloads (handshake, ClientHello with SNI, 1448-byte segments with delayed ACKs),
HTTP keep-alive connections with three request/response pairs, QUIC-like UDP bursts and
ICMP pings. Packets are built once per template with dpkt, then copied with patched client
ports, server addresses and times, so generating a million packets takes seconds.
"""

from __future__ import annotations

import os
import random
import struct

import dpkt

DEVICE, RESOLVER = "10.8.0.2", "10.8.0.1"
MAC = b"\x02\x00\x00\x00\x00\x01"


def _ip(a: str) -> bytes:
    return bytes(int(x) for x in a.split("."))


def _frame(src: str, dst: str, l4: dpkt.Packet, proto: int) -> bytes:
    ip = dpkt.ip.IP(src=_ip(src), dst=_ip(dst), p=proto, ttl=64, data=l4)
    return bytes(dpkt.ethernet.Ethernet(src=MAC, dst=MAC, type=0x0800, data=ip))


def _tcp(out: bool, seq: int, ack: int, flags: int, payload: bytes = b"") -> tuple[bool, dpkt.tcp.TCP]:
    sport, dport = (40000, 443) if out else (443, 40000)
    return out, dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags, win=65535,
                             data=payload)


def _client_hello(host: str) -> bytes:
    name = host.encode()
    sni = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    ext = struct.pack("!HH", 0, len(sni)) + sni + struct.pack("!HH", 0x002B, 3) + b"\x02\x03\x04"
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x04\x13\x01\x13\x02" + b"\x01\x00"
    body += struct.pack("!H", len(ext)) + ext
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def _tcp_conversation(port: int, exchanges: list[tuple[bytes, bytes]]
                      ) -> list[tuple[float, bool, dpkt.tcp.TCP]]:
    """Handshake, request/response exchanges (responses in 1448-byte segments), FIN."""
    A, S, P, F = dpkt.tcp.TH_ACK, dpkt.tcp.TH_SYN, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN
    c, s, t = 1000, 5000, 0.0
    pkts = [(0.0, *_tcp(True, c, 0, S)), (0.02, *_tcp(False, s, c + 1, S | A)),
            (0.02, *_tcp(True, c + 1, s + 1, A))]
    c, s, t = c + 1, s + 1, 0.02
    for request, response in exchanges:
        t += 0.001
        pkts.append((t, *_tcp(True, c, s, P | A, request)))
        c += len(request)
        for k in range(0, len(response), 1448):
            part = response[k:k + 1448]
            t += 0.0005
            pkts.append((t, *_tcp(False, s, c, A, part)))
            s += len(part)
            if (k // 1448) % 2:
                pkts.append((t, *_tcp(True, c, s, A)))
    pkts += [(t + 0.01, *_tcp(True, c, s, F | A)), (t + 0.03, *_tcp(False, s, c + 1, F | A)),
             (t + 0.03, *_tcp(True, c + 1, s + 1, A))]
    for _, out, seg in pkts:
        seg.sport, seg.dport = (port, seg.dport) if out else (seg.sport, port)
    return pkts


def _dns_pair(host: str, server: str, qid: int) -> list[tuple[float, bool, dpkt.udp.UDP]]:
    q = dpkt.dns.DNS(id=qid, qd=[dpkt.dns.DNS.Q(name=host, type=1)])
    cname = dpkt.dns.DNS.RR(name=host, type=5, ttl=300, cname="edge." + host)
    a = dpkt.dns.DNS.RR(name="edge." + host, type=1, ttl=60, ip=_ip(server))
    r = dpkt.dns.DNS(id=qid, qr=1, qd=q.qd, an=[cname, a])
    return [(0.0, True, dpkt.udp.UDP(sport=50000, dport=53, data=bytes(q))),
            (0.015, False, dpkt.udp.UDP(sport=53, dport=50000, data=bytes(r)))]


class Template:
    """Frames of one session kind with the byte offsets to patch per instance."""

    def __init__(self, packets: list[tuple[float, bool, dpkt.Packet, int, str]]) -> None:
        self.frames = []
        for dt, out, l4, proto, peer in packets:
            src, dst = (DEVICE, peer) if out else (peer, DEVICE)
            frame = _frame(src, dst, l4, proto)
            self.frames.append((dt, out, frame))

    def write(self, out: list[bytes], t0: float, port: int, server: bytes) -> int:
        for dt, is_out, frame in self.frames:
            f = bytearray(frame)
            # the remote side is the server unless it is the resolver; ports only for TCP/UDP
            remote = slice(30, 34) if is_out else slice(26, 30)
            if f[remote] != _ip(RESOLVER):
                f[remote] = server
            if f[23] in (6, 17):
                port_at = 34 if is_out else 36
                f[port_at:port_at + 2] = struct.pack("!H", port)
            ts = t0 + dt
            sec = int(ts)
            out.append(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(f), len(f)) + bytes(f))
        return len(self.frames)


def templates() -> list[tuple[Template, int]]:
    """(template, weight) pairs; weights shape the mix of sessions."""
    host = "www.example.com"
    page = b"x" * 30_000
    https = _tcp_conversation(40000, [(_client_hello(host), b"\x17\x03\x03" + b"y" * 60_000)])
    http_exchanges = [(b"GET /p%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench/1.0\r\nReferer: http://%s/\r\n\r\n"
                       % (k, host.encode(), host.encode()),
                       b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n"
                       + page[:5000]) for k in range(3)]
    http = _tcp_conversation(40000, http_exchanges)
    server = "203.0.113.10"
    for conv in (https, http):
        for seg in (x[2] for x in conv):
            if seg.dport == 443 and conv is http:
                seg.dport = 80
            if seg.sport == 443 and conv is http:
                seg.sport = 80
    quic = [(k * 0.002, k % 3 == 0, dpkt.udp.UDP(sport=40000 if k % 3 == 0 else 443,
                                                   dport=443 if k % 3 == 0 else 40000, data=b"q" * 1200))
            for k in range(12)]
    ping = [(0.0, True, dpkt.icmp.ICMP(type=8, data=dpkt.icmp.ICMP.Echo(id=1, seq=1, data=b"p" * 56))),
            (0.02, False, dpkt.icmp.ICMP(type=0, data=dpkt.icmp.ICMP.Echo(id=1, seq=1, data=b"p" * 56)))]
    return [
        (Template([(t, o, s, 6, server) for t, o, s in https]), 4),
        (Template([(t, o, s, 6, server) for t, o, s in http]), 2),
        (Template([(t, o, s, 17, RESOLVER) for t, o, s in _dns_pair(host, server, 7)]), 6),
        (Template([(t, o, s, 17, server) for t, o, s in quic]), 2),
        (Template([(t, o, s, 1, server) for t, o, s in ping]), 1),
    ]


def write_capture(path: str, packets: int, seed: int = 1) -> int:
    """Write a pcap of at least `packets` packets; returns the number written."""
    rng = random.Random(seed)
    kinds = templates()
    population = [t for t, w in kinds for _ in range(w)]
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    written, t0, port = 0, 1_430_000_000.0, 1024
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(header)
        pending: list[bytes] = []
        while written < packets:
            template = rng.choice(population)
            server = bytes([203, 0, 113, rng.randrange(1, 255)])
            written += template.write(pending, t0, port, server)
            port = port + 1 if port < 65000 else 1024
            t0 += 0.1 * rng.random() * 2
            if len(pending) > 20_000:
                f.write(b"".join(pending))
                pending = []
        f.write(b"".join(pending))
    os.replace(tmp, path)
    return written
