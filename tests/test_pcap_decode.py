"""The compiled header decoder equals the vectorised numpy definition, field for field."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ucnstudy.sources.pcap import decode as dec
from ucnstudy.sources.pcap.reader import read_blocks
from ucnstudy.sources.pcap.records import PAD, Block

FIELDS = ("is_ip", "ip_len", "proto", "src_hi", "src_lo", "dst_hi", "dst_lo", "has_ports", "sport",
          "dport", "tcp_flags", "seq", "ack", "win", "seg_len", "pl_off", "pl_len", "number", "ts_us")
LINKTYPES = (1, 101, 12, 14, 228, 229, 113, 276, 0, 108, 147)


def assert_same(block: Block) -> None:
    assert dec.decode_headers is not None  # the extension is built by `make venv` (pip install -e .)
    fast, slow = dec.decode(block), dec.decode_numpy(block)
    for name in FIELDS:
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype, name
        assert np.array_equal(a, b), (name, np.flatnonzero(a != b)[:5])


def block_of(packets: list[tuple[int, bytes]]) -> Block:
    raw = bytearray()
    offsets, caplens = [], []
    for _, data in packets:
        raw += bytes(16)  # a record header's room, as in a real block
        offsets.append(len(raw))
        caplens.append(len(data))
        raw += data
    raw += bytes(PAD)
    n = len(packets)
    return Block(raw, np.array(offsets, np.int64), np.array(caplens, np.int64),
                 np.arange(n, dtype=np.int64) * 1000, np.array([lt for lt, _ in packets], np.int32), 1)


def ipv4(proto: int, l4: bytes, frag: int = 0, ihl: int = 5) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + 4 * (ihl - 5) + len(l4), 1, frag, 64, proto, 0,
                       b"\x0a\x00\x00\x02", b"\x5d\xb8\xd8\x22")
    return head + bytes(4 * (ihl - 5)) + l4


def ipv6(next_header: int, rest: bytes) -> bytes:
    src, dst = b"\x20\x01" + bytes(13) + b"\x01", b"\x2a\x00" + bytes(13) + b"\x02"
    return struct.pack("!IHBB16s16s", 0x60000000, len(rest), next_header, 64, src, dst) + rest


TCP = struct.pack("!HHIIBBHHH", 50000, 443, 123456789, 0, 0x50, 0x18, 1024, 0, 0) + b"hello"
UDP = struct.pack("!HHHH", 5353, 53, 12, 0) + b"abcd"
ETH = b"\x02" * 12


def wrap(link: int, ip: bytes) -> tuple[int, bytes]:
    family_v6 = ip[:1] and ip[0] >> 4 == 6
    return link, {
        1: ETH + (b"\x86\xdd" if family_v6 else b"\x08\x00") + ip,
        101: ip,
        113: bytes(14) + (b"\x86\xdd" if family_v6 else b"\x08\x00") + ip,
        276: (b"\x86\xdd" if family_v6 else b"\x08\x00") + bytes(18) + ip,
        0: (b"\x1e\x00\x00\x00" if family_v6 else b"\x02\x00\x00\x00") + ip,
    }[link]


def crafted() -> list[tuple[int, bytes]]:
    ips = [ipv4(6, TCP), ipv4(17, UDP), ipv4(6, TCP, frag=0x2001), ipv4(6, TCP, ihl=7), ipv4(1, bytes(16)),
           ipv6(6, TCP), ipv6(17, UDP), ipv6(0, b"\x06\x00" + bytes(6) + TCP),  # hop-by-hop, then TCP
           ipv6(44, b"\x11\x00\x00\x08" + bytes(4) + UDP),  # a non-first fragment
           ipv6(43, b"\x3c\x01" + bytes(14) + b"\x11\x00" + bytes(6) + UDP)]  # routing, dest. options
    packets = [wrap(link, ip) for ip in ips for link in (1, 101, 113, 276, 0)]
    packets.append((1, ETH + b"\x81\x00\x00\x07\x88\xa8\x00\x08\x08\x00" + ipv4(6, TCP)))  # two VLAN tags
    packets.append((1, ETH + b"\x08\x00" + ipv4(6, TCP)[:30]))  # cut inside TCP
    packets.append((1, b"\x02" * 10))  # shorter than Ethernet
    return packets


def test_crafted_packets_of_every_link_type() -> None:
    block = block_of(crafted())
    assert_same(block)
    got = dec.decode(block)
    assert got.has_ports.sum() > 20 and got.is_ip.sum() > 40  # the cases exercise real decoding


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(LINKTYPES), st.binary(max_size=120)), min_size=1, max_size=30))
def test_random_packets(packets: list[tuple[int, bytes]]) -> None:
    assert_same(block_of(packets))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_crafted_packets(data: st.DataObject) -> None:
    packets = crafted()
    mutated = []
    for link, frame in packets:
        raw = bytearray(frame)
        for _ in range(data.draw(st.integers(0, 3))):
            if raw:
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(0, len(raw)))
        mutated.append((link, bytes(raw[:cut]) if data.draw(st.booleans()) else bytes(raw)))
    assert_same(block_of(mutated))


def test_real_captures(real_data: Path) -> None:
    files = sorted((real_data / "pcap").glob("*.pcap*"))
    assert files
    blocks = 0
    for path in files:
        for block in read_blocks(str(path), lambda message, packet: None, 1 << 16):
            assert_same(block)
            blocks += 1
    assert blocks >= len(files)
