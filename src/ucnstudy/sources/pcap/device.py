"""Which side of each packet is the device: address leases, else a whole-capture heuristic.

Leases (table device_addresses) say which address the device held when; a packet belongs to
the device when its source or destination is a leased address valid at the packet's time.
Without leases, `guess_addresses` reads every packet of the capture (bug 12: the original
looked at the first matching packet only) and picks, per IP family, the address that
1. sent the most DNS queries (UDP or TCP to port 53 with the QR bit clear), else
2. appears in the most packets among private, shared (100.64/10, VPN and CGNAT),
   link-local and unique-local addresses, else
3. appears in the most packets.
An IPv6 address is added to an IPv4 one only when it sent DNS queries or appears in at least
a tenth as many packets, so that a neighbour's multicast chatter is not taken for the device.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ucnstudy.sources.pcap.decode import UDP, Packets, address_text, address_words

NEVER, FOREVER = np.iinfo(np.int64).min, np.iinfo(np.int64).max


@dataclass
class Lease:
    hi: int
    lo: int
    start_us: int = int(NEVER)
    end_us: int = int(FOREVER)  # exclusive


@dataclass
class Orientation:
    """Per packet: does it belong to the device, in which direction, and its oriented tuple."""

    mine: np.ndarray
    outgoing: np.ndarray
    local_hi: np.ndarray
    local_lo: np.ndarray
    remote_hi: np.ndarray
    remote_lo: np.ndarray
    local_port: np.ndarray
    remote_port: np.ndarray


@dataclass
class DeviceAddresses:
    leases: list[Lease]
    how: str = "leases"  # or "heuristic"

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, object, object]]) -> DeviceAddresses:
        """Leases from (address, valid_from, valid_to) rows; times are naive UTC datetimes."""
        leases = []
        for address, start, end in rows:
            hi, lo = address_words(str(address))
            leases.append(Lease(hi, lo, _micros(start, NEVER), _micros(end, FOREVER)))
        return cls(leases)

    def texts(self) -> list[str]:
        return [address_text(le.hi, le.lo) for le in self.leases]

    def orient(self, p: Packets) -> Orientation:
        src_mine = self._match(p.src_hi, p.src_lo, p.ts_us)
        dst_mine = self._match(p.dst_hi, p.dst_lo, p.ts_us)
        out = src_mine & p.is_ip
        mine = out | (dst_mine & p.is_ip)
        return Orientation(
            mine=mine, outgoing=out,
            local_hi=np.where(out, p.src_hi, p.dst_hi), local_lo=np.where(out, p.src_lo, p.dst_lo),
            remote_hi=np.where(out, p.dst_hi, p.src_hi), remote_lo=np.where(out, p.dst_lo, p.src_lo),
            local_port=np.where(out, p.sport, p.dport), remote_port=np.where(out, p.dport, p.sport),
        )

    def _match(self, hi: np.ndarray, lo: np.ndarray, ts: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(hi), bool)
        for le in self.leases:
            same = (lo == np.uint64(le.lo)) & (hi == np.uint64(le.hi))
            if le.start_us != NEVER or le.end_us != FOREVER:
                same &= (ts >= le.start_us) & (ts < le.end_us)
            hit |= same
        return hit


def _micros(value: object, default: int) -> int:
    if value is None or value != value:  # None or NaT
        return int(default)
    return int(np.datetime64(value, "us").astype(np.int64))


@dataclass
class AddressTally:
    """Packets per address and DNS queries per source, accumulated block by block."""

    packets: Counter[tuple[int, int]] = field(default_factory=Counter)
    dns_queries: Counter[tuple[int, int]] = field(default_factory=Counter)

    def add(self, p: Packets) -> None:
        for hi, lo in ((p.src_hi, p.src_lo), (p.dst_hi, p.dst_lo)):
            self._count(self.packets, hi[p.is_ip], lo[p.is_ip])
        query = p.has_ports & (p.dport == 53) & (p.pl_len >= 3)
        tcp_query = query & (p.proto != UDP)
        flag_at = np.where(tcp_query, p.pl_off + 4, p.pl_off + 2)  # TCP DNS has a length prefix
        query &= (p.buf[np.where(query, flag_at, 0)] & 0x80) == 0
        self._count(self.dns_queries, p.src_hi[query], p.src_lo[query])

    @staticmethod
    def _count(counter: Counter[tuple[int, int]], hi: np.ndarray, lo: np.ndarray) -> None:
        v4 = hi == 0  # IPv4-mapped: the low word alone identifies the address
        values, counts = np.unique(lo[v4], return_counts=True)
        for low, c in zip(values.tolist(), counts.tolist(), strict=True):
            counter[(0, low)] += c
        if not v4.all():
            pairs, counts = np.unique(np.stack([hi[~v4], lo[~v4]], axis=1), axis=0, return_counts=True)
            for (h, low), c in zip(pairs.tolist(), counts.tolist(), strict=True):
                counter[(h, low)] += c

    def choose(self) -> DeviceAddresses:
        best: dict[int, tuple[tuple[int, int, int], tuple[int, int]]] = {}
        for key, count in self.packets.items():
            family = _family(key)
            if family == 0:
                continue
            rank = (self.dns_queries.get(key, 0), int(_is_local(key)), count)
            if family not in best or rank > best[family][0]:
                best[family] = (rank, key)
        chosen = _primary_and_secondary(best)
        return DeviceAddresses([Lease(hi, lo) for hi, lo in chosen], how="heuristic")


def _primary_and_secondary(best: dict[int, tuple[tuple[int, int, int], tuple[int, int]]]
                           ) -> list[tuple[int, int]]:
    if not best:
        return []
    ranked = sorted(best.values(), reverse=True)
    (top_rank, top), rest = ranked[0], ranked[1:]
    chosen = [top]
    for rank, key in rest:
        if rank[0] > 0 or rank[2] * 10 >= top_rank[2]:
            chosen.append(key)
    return chosen


def _family(key: tuple[int, int]) -> int:
    """4 or 6 for a unicast address that can be a device; 0 for multicast, broadcast, unspecified."""
    addr = ipaddress.ip_address(address_text(*key))
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback:
        return 0
    if isinstance(addr, ipaddress.IPv4Address):
        return 0 if str(addr).endswith(".255") or addr == ipaddress.IPv4Address("255.255.255.255") else 4
    return 6


_SHARED = ipaddress.ip_network("100.64.0.0/10")


def _is_local(key: tuple[int, int]) -> bool:
    addr = ipaddress.ip_address(address_text(*key))
    shared = isinstance(addr, ipaddress.IPv4Address) and addr in _SHARED
    return addr.is_private or addr.is_link_local or shared
