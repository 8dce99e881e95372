"""Decode link, IP and transport headers of every packet of a block at once (numpy).

Fields sit at fixed offsets once the link header length and the IP header length are known,
so each field is one vectorised gather over the block buffer. Addresses are kept as two
uint64 words (IPv4 as the IPv4-mapped IPv6 address ::ffff:a.b.c.d), turned into text only for
the few distinct values that reach a table. A packet whose headers do not fit in its captured
bytes is simply not IP (it counts nowhere), never an error.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ucnstudy.sources.pcap.reader import Block

try:
    from ucnstudy.sources.pcap._decode import decode_headers
except ImportError:  # not compiled (an install without a C compiler): decode_numpy
    decode_headers = None

V4_MAPPED = np.uint64(0xFFFF00000000)
ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options
TCP, UDP = 6, 17


@dataclass
class Packets:
    """Decoded header fields of the packets of one block (arrays of equal length)."""

    buf: np.ndarray  # uint8, the block bytes plus PAD zeros
    view: memoryview  # the same bytes, for cheap payload slices
    number: np.ndarray  # 1-based packet number in the capture
    ts_us: np.ndarray
    is_ip: np.ndarray  # bool
    ip_len: np.ndarray  # IPv4 total length, or 40 + IPv6 payload length
    proto: np.ndarray  # transport protocol number
    src_hi: np.ndarray
    src_lo: np.ndarray
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    has_ports: np.ndarray  # bool: TCP or UDP with both headers captured (first fragment)
    sport: np.ndarray
    dport: np.ndarray
    tcp_flags: np.ndarray
    seq: np.ndarray  # TCP sequence number (uint32 as int64)
    ack: np.ndarray  # TCP acknowledgment number (uint32 as int64)
    win: np.ndarray  # TCP window field as sent (not scaled)
    seg_len: np.ndarray  # TCP segment payload length from the IP length (captured or not)
    pl_off: np.ndarray  # transport payload offset in buf
    pl_len: np.ndarray  # captured transport payload bytes (Ethernet padding excluded)

    def __len__(self) -> int:
        return len(self.ts_us)

    def payload(self, i: int) -> bytes:
        start = int(self.pl_off[i])
        return self.view[start:start + int(self.pl_len[i])].tobytes()


def _gather(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """Bytes buf[pos:pos+width] of every packet as an (n, width) array (rows of a strided
    view: no (n, width) index array to build)."""
    return sliding_window_view(buf, width)[pos]


def be16(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return (buf[pos].astype(np.int64) << 8) | buf[pos + 1]


def be32(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _gather(buf, pos, 4).view(">u4")[:, 0].astype(np.int64)


def be64(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _gather(buf, pos, 8).view(">u8")[:, 0].astype(np.uint64)


def _link_layer(buf: np.ndarray, blk: Block) -> tuple[np.ndarray, np.ndarray]:
    """(offset of the IP header, ethertype-like network protocol) for each packet."""
    off, lt = blk.offset, blk.linktype
    l3 = off.copy()
    proto = np.zeros(len(off), np.int64)
    eth = lt == 1
    if eth.any():
        etype = be16(buf, off + 12)
        l3 = np.where(eth, off + 14, l3)
        for _ in range(2):  # up to two VLAN tags (802.1Q, QinQ)
            tagged = eth & ((etype == ETH_VLAN) | (etype == ETH_QINQ))
            if not tagged.any():
                break
            etype = np.where(tagged, be16(buf, l3 + 2), etype)
            l3 = np.where(tagged, l3 + 4, l3)
        proto = np.where(eth, etype, proto)
    if not eth.all():
        l3, proto = _other_links(buf, off, lt, l3, proto)
    return l3, proto


def _other_links(buf: np.ndarray, off: np.ndarray, lt: np.ndarray, l3: np.ndarray, proto: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Linux cooked captures, BSD loopback and raw IP (VPN tunnels)."""
    sll = lt == 113  # Linux cooked capture v1
    proto = np.where(sll, be16(buf, off + 14), proto)
    l3 = np.where(sll, off + 16, l3)
    sll2 = lt == 276
    proto = np.where(sll2, be16(buf, off), proto)
    l3 = np.where(sll2, off + 20, l3)
    null = (lt == 0) | (lt == 108)  # BSD loopback: address family, either byte order
    if null.any():
        fam = buf[off].astype(np.int64) | buf[off + 3]
        proto = np.where(null, np.where(fam == 2, ETH_IPV4, np.where(np.isin(fam, (10, 24, 28, 30)),
                                                                      ETH_IPV6, 0)), proto)
        l3 = np.where(null, off + 4, l3)
    raw = np.isin(lt, (101, 12, 14, 228, 229))  # raw IP: the version nibble decides
    version = buf[l3] >> 4
    proto = np.where(raw, np.where(version == 4, ETH_IPV4, np.where(version == 6, ETH_IPV6, 0)), proto)
    return l3, proto


def decode(blk: Block) -> Packets:
    """Header fields of every packet in the block: one compiled pass (`_decode.pyx`), else the
    vectorised definition below (same fields; the tests compare both)."""
    if decode_headers is None:
        return decode_numpy(blk)
    buf = np.frombuffer(blk.raw, np.uint8)  # the reader leaves PAD zero bytes after the data
    fields = decode_headers(buf, blk.offset, blk.caplen, blk.linktype)
    return Packets(buf=buf, view=memoryview(blk.raw), ts_us=blk.ts_us,
                   number=blk.first_number + np.arange(len(blk), dtype=np.int64), **fields)


def decode_numpy(blk: Block) -> Packets:
    """Header fields of every packet in the block, vectorised with numpy."""
    buf = np.frombuffer(blk.raw, np.uint8)  # the reader leaves PAD zero bytes after the data
    n = len(blk)
    cap_end = blk.offset + blk.caplen
    l3, netproto = _link_layer(buf, blk)
    l3 = np.where(l3 < cap_end, l3, blk.offset)  # keep gathers in bounds for short packets
    first = buf[l3]
    v4 = (netproto == ETH_IPV4) & (first >> 4 == 4) & (l3 + 20 <= cap_end) & ((first & 15) >= 5)
    v6 = (netproto == ETH_IPV6) & (first >> 4 == 6) & (l3 + 40 <= cap_end)
    ihl = (first & 15).astype(np.int64) * 4
    ip_len = np.where(v4, be16(buf, l3 + 2), 40 + be16(buf, l3 + 4))
    proto = np.where(v4, buf[l3 + 9], buf[l3 + 6]).astype(np.int64)
    first_frag = np.where(v4, (be16(buf, l3 + 6) & 0x1FFF) == 0, True)
    l4 = np.where(v4, l3 + ihl, l3 + 40)
    l4, proto, first_frag = _ipv6_extensions(buf, v6, l4, proto, first_frag, cap_end)

    src_hi, src_lo, dst_hi, dst_lo = _addresses(buf, l3, v4, v6, n)
    ip_end = np.minimum(l3 + np.maximum(ip_len, 0), cap_end)
    is_tcp, is_udp = proto == TCP, proto == UDP
    l4_len = np.where(is_tcp, 20, 8)
    has_ports = (v4 | v6) & (is_tcp | is_udp) & first_frag & (l4 + l4_len <= ip_end)
    l4 = np.where(has_ports, l4, blk.offset)
    ports = _gather(buf, l4, 4).view(">u2").astype(np.int64)
    tcp = has_ports & is_tcp
    doff = np.where(tcp, (buf[l4 + 12] >> 4).astype(np.int64) * 4, 8)
    pl_off = l4 + doff
    pl_len = np.where(has_ports, np.maximum(ip_end - pl_off, 0), 0)
    return Packets(
        buf=buf, view=memoryview(blk.raw), ts_us=blk.ts_us,
        number=blk.first_number + np.arange(n, dtype=np.int64),
        is_ip=v4 | v6, ip_len=np.where(v4 | v6, ip_len, 0), proto=np.where(v4 | v6, proto, -1),
        src_hi=src_hi, src_lo=src_lo, dst_hi=dst_hi, dst_lo=dst_lo, has_ports=has_ports,
        sport=np.where(has_ports, ports[:, 0], 0), dport=np.where(has_ports, ports[:, 1], 0),
        tcp_flags=np.where(tcp, buf[l4 + 13], 0).astype(np.int64),
        seq=np.where(tcp, be32(buf, l4 + 4), 0), ack=np.where(tcp, be32(buf, l4 + 8), 0),
        win=np.where(tcp, be16(buf, l4 + 14), 0),
        seg_len=np.where(tcp, np.maximum(l3 + ip_len - pl_off, 0), 0), pl_off=pl_off, pl_len=pl_len,
    )


def _ipv6_extensions(buf: np.ndarray, v6: np.ndarray, l4: np.ndarray, proto: np.ndarray,
                     first_frag: np.ndarray, cap_end: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Skip up to four IPv6 extension headers to reach the transport header."""
    for _ in range(4):
        ext = v6 & np.isin(proto, IPV6_EXTENSIONS) & (l4 + 8 <= cap_end)
        frag = v6 & (proto == 44) & (l4 + 8 <= cap_end)
        if not (ext.any() or frag.any()):
            break
        safe = np.where(ext | frag, l4, 0)
        nxt = buf[safe].astype(np.int64)
        first_frag = np.where(frag, (be16(buf, safe + 2) >> 3) == 0, first_frag)
        step = np.where(frag, 8, (buf[safe + 1].astype(np.int64) + 1) * 8)
        proto = np.where(ext | frag, nxt, proto)
        l4 = np.where(ext | frag, l4 + step, l4)
    return l4, proto, first_frag


def _addresses(buf: np.ndarray, l3: np.ndarray, v4: np.ndarray, v6: np.ndarray, n: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    zero = np.zeros(n, np.uint64)
    v4_pair = _gather(buf, l3 + 12, 8).view(">u4").astype(np.uint64)
    src_lo = np.where(v4, V4_MAPPED | v4_pair[:, 0], zero)
    dst_lo = np.where(v4, V4_MAPPED | v4_pair[:, 1], zero)
    if not v6.any():
        return zero, src_lo, zero.copy(), dst_lo
    at = np.flatnonzero(v6)
    words = _gather(buf, l3[at] + 8, 32).view(">u8").astype(np.uint64)  # src hi, lo, dst hi, lo
    src_hi, dst_hi = zero.copy(), zero.copy()
    src_hi[at], src_lo[at], dst_hi[at], dst_lo[at] = words[:, 0], words[:, 1], words[:, 2], words[:, 3]
    return src_hi, src_lo, dst_hi, dst_lo


_TEXT_CACHE: dict[tuple[int, int], str] = {}


def address_text(hi: int, lo: int) -> str:
    """Text form of an address held as two 64-bit words (IPv4-mapped means IPv4)."""
    key = (int(hi), int(lo))
    text = _TEXT_CACHE.get(key)
    if text is None:
        if key[0] == 0 and key[1] >> 32 == 0xFFFF:
            text = str(ipaddress.IPv4Address(key[1] & 0xFFFFFFFF))
        else:
            text = str(ipaddress.IPv6Address((key[0] << 64) | key[1]))
        if len(_TEXT_CACHE) < 100_000:
            _TEXT_CACHE[key] = text
    return text


def packed_words(packed: bytes) -> tuple[int, int]:
    """The two 64-bit words of a 4- or 16-byte packed address."""
    value = int.from_bytes(packed, "big")
    if len(packed) == 4:
        return 0, int(V4_MAPPED) | value
    return value >> 64, value & 0xFFFFFFFFFFFFFFFF


def address_words(text: str) -> tuple[int, int]:
    """The two 64-bit words of an address in text form (inverse of address_text)."""
    addr = ipaddress.ip_address(text.strip())
    if isinstance(addr, ipaddress.IPv4Address):
        return 0, int(V4_MAPPED) | int(addr)
    value = int(addr)
    return value >> 64, value & 0xFFFFFFFFFFFFFFFF
