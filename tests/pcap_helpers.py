"""Hand-made captures for the pcap importer tests (built with dpkt, independent of the reader)."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

import dpkt
import pyarrow as pa

from ucnstudy import Study
from ucnstudy.errors import InputError
from ucnstudy.sources.pcap.capture import CaptureImport, CaptureOptions, guess_addresses

DEVICE, DEVICE6 = "10.8.0.2", "fd00::2"
T0 = 1_430_000_000.0  # 2015-04-25 22:13:20 UTC
MAC = b"\x02\x00\x00\x00\x00\x01"


def ip_frame(src: str, dst: str, l4: dpkt.Packet | bytes, proto: int) -> bytes:
    """An Ethernet frame carrying IPv4 or IPv6 (by the address family)."""
    if ":" in src:
        ip6 = dpkt.ip6.IP6(src=ipaddress.ip_address(src).packed, dst=ipaddress.ip_address(dst).packed,
                           nxt=proto, hlim=64, data=l4)
        ip6.plen = len(bytes(l4))
        return bytes(dpkt.ethernet.Ethernet(src=MAC, dst=MAC, type=0x86DD, data=ip6))
    ip = dpkt.ip.IP(src=ipaddress.ip_address(src).packed, dst=ipaddress.ip_address(dst).packed,
                    p=proto, ttl=64, data=l4)
    return bytes(dpkt.ethernet.Ethernet(src=MAC, dst=MAC, type=0x0800, data=ip))


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"x" * 20) -> bytes:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    u.ulen = 8 + len(payload)
    return ip_frame(src, dst, u, 17)


def tcp(src: str, dst: str, sport: int, dport: int, seq: int, payload: bytes = b"",
        flags: int = dpkt.tcp.TH_ACK) -> bytes:
    return ip_frame(src, dst, dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=1, flags=flags,
                                           win=65535, data=payload), 6)


def dns_query(name: str, qid: int, qtype: int = 1) -> bytes:
    return bytes(dpkt.dns.DNS(id=qid, qd=[dpkt.dns.DNS.Q(name=name, type=qtype)]))


def dns_response(name: str, qid: int, answers: list[dpkt.dns.DNS.RR], qtype: int = 1) -> bytes:
    return bytes(dpkt.dns.DNS(id=qid, qr=1, qd=[dpkt.dns.DNS.Q(name=name, type=qtype)], an=answers))


def rr_a(name: str, addr: str, ttl: int) -> dpkt.dns.DNS.RR:
    return dpkt.dns.DNS.RR(name=name, type=1, ttl=ttl, ip=ipaddress.ip_address(addr).packed)


def rr_aaaa(name: str, addr: str, ttl: int) -> dpkt.dns.DNS.RR:
    return dpkt.dns.DNS.RR(name=name, type=28, ttl=ttl, ip6=ipaddress.ip_address(addr).packed)


def rr_cname(name: str, target: str, ttl: int) -> dpkt.dns.DNS.RR:
    return dpkt.dns.DNS.RR(name=name, type=5, ttl=ttl, cname=target)


def write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> Path:
    with open(path, "wb") as f:
        writer = dpkt.pcap.Writer(f)
        for ts, frame in packets:
            writer.writepkt(frame, ts=ts)
    return path


def write_pcapng(path: Path, packets: list[tuple[int, bytes]], tsresol: int = 9) -> Path:
    """A pcapng with one Ethernet interface; times are integer ticks of 10^-tsresol s."""
    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    option = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    out += block(1, struct.pack("<HHI", 1, 0, 262144) + option)
    for ticks, frame in packets:
        out += block(6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame))
                     + frame)
    path.write_bytes(out)
    return path


def add_device(study: Study, login: str = "alice.laptop", devid: int = 1,
               leases: list[tuple[str, object, object]] | None = None) -> None:
    items = [("devices", pa.table({"id": [devid], "login": [login]}))]
    if leases:
        items.append(("device_addresses", pa.table({
            "devid": [devid] * len(leases), "address": [a for a, _, _ in leases],
            "valid_from": pa.array([f for _, f, _ in leases], pa.timestamp("us")),
            "valid_to": pa.array([t for _, _, t in leases], pa.timestamp("us"))})))
    study.import_rows("table", f"device {login}", items, sha256=f"device-{login}")


def parse_capture(path: Path, window_s: int = 10) -> tuple[dict[str, pa.Table], list[str]]:
    """The importer's stages without a study: rows per table and the problems reported.
    Raises InputError only when the file as a whole is unreadable."""
    problems: list[str] = []
    addresses = guess_addresses(str(path))
    capture = CaptureImport(CaptureOptions(1, window_s), addresses,
                            lambda message, packet: problems.append(f"packet {packet}: {message}"))
    tables: dict[str, list[pa.Table]] = {}
    if addresses.leases:
        for name, rows in capture.run(str(path), lambda n: None):
            tables.setdefault(name, []).append(rows)
    return {k: pa.concat_tables(v) for k, v in tables.items()}, problems


__all__ = ["InputError"]
