"""Crafted TCP connections with known losses, delays and reordering (dpkt frames), and tshark's
own per-packet analysis of a capture, as the reference for the flows table's TCP columns."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import dpkt
import pytest

from pcap_helpers import DEVICE, T0, ip_frame

SERVER = "93.184.216.34"
MSS = 1448
F, S, R, A = dpkt.tcp.TH_FIN, dpkt.tcp.TH_SYN, dpkt.tcp.TH_RST, dpkt.tcp.TH_ACK


@dataclass
class Conn:
    """One connection seen at the capture point; times in ms from T0."""

    sport: int = 40000
    dport: int = 443
    packets: list[tuple[float, bytes]] = field(default_factory=list)

    def out(self, ms: float, seq: int, ack: int, length: int = 0, flags: int = A,
            win: int = 65535) -> None:
        self._add(ms, DEVICE, SERVER, self.sport, self.dport, seq, ack, length, flags, win)

    def inn(self, ms: float, seq: int, ack: int, length: int = 0, flags: int = A,
            win: int = 65535) -> None:
        self._add(ms, SERVER, DEVICE, self.dport, self.sport, seq, ack, length, flags, win)

    def _add(self, ms: float, src: str, dst: str, sport: int, dport: int, seq: int, ack: int,
             length: int, flags: int, win: int) -> None:
        seg = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq % 2**32, ack=ack % 2**32,
                           flags=flags, win=win, data=b"\x17" * length)
        self.packets.append((T0 + ms / 1000, ip_frame(src, dst, seg, 6)))

    def handshake(self, syn_ms: float, internet_ms: float, access_ms: float, isn_out: int,
                  isn_in: int) -> float:
        self.out(syn_ms, isn_out, 0, flags=S)
        self.inn(syn_ms + internet_ms, isn_in, isn_out + 1, flags=S | A)
        self.out(syn_ms + internet_ms + access_ms, isn_out + 1, isn_in + 1)
        return syn_ms + internet_ms + access_ms


def ordered(conns: list[Conn]) -> list[tuple[float, bytes]]:
    """All packets by capture time (a stable sort: equal times keep their order)."""
    return sorted((p for c in conns for p in c.packets), key=lambda p: p[0])


TSHARK = shutil.which("tshark")
FIELDS = ("frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "tcp.srcport", "tcp.dstport",
          "tcp.seq", "tcp.len", "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
          "tcp.analysis.spurious_retransmission", "tcp.analysis.duplicate_ack",
          "tcp.analysis.out_of_order", "tcp.analysis.zero_window", "tcp.analysis.ack_rtt",
          "tcp.analysis.acks_frame", "tcp.analysis.initial_rtt")


def need_tshark() -> str:
    """tshark's path; a test without it fails under CI=true and is skipped elsewhere."""
    if TSHARK is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tshark is required under CI=true")
        pytest.skip("tshark not installed")
    return TSHARK


def tshark_packets(path: Path) -> list[dict[str, str]]:
    """One dict per TCP packet: tshark's fields (absent flags are empty strings)."""
    cmd = [need_tshark(), "-r", str(path), "-Y", "tcp", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f", "-o", "tcp.relative_sequence_numbers:FALSE"]
    for name in FIELDS:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in out.splitlines()]


def tshark_flows(path: Path, device: str = DEVICE) -> dict[tuple[int, int], dict[str, object]]:
    """Per device-side (srcport, dstport): tshark's counts per direction and its ack_rtt values
    on data segments split by side, keyed like the flows table."""
    packets = tshark_packets(path)
    data_frames = {p["frame.number"]: p for p in packets if int(p["tcp.len"] or 0) > 0}
    resent = [p for p in packets if any(p[f"tcp.analysis.{k}"] for k in (
        "retransmission", "fast_retransmission", "spurious_retransmission"))]
    flows: dict[tuple[int, int], dict[str, object]] = {}
    for p in packets:
        src = p["ip.src"] or p["ipv6.src"]
        d = "out" if src == device else "in"
        ports = (int(p["tcp.srcport"]), int(p["tcp.dstport"]))
        key = ports if d == "out" else ports[::-1]
        f = flows.setdefault(key, {f"{n}_{x}": 0 for n in ("retrans_pkts", "retrans_bytes",
                                                              "dupacks", "ooo_pkts", "zerowin")
                                   for x in ("out", "in")} | {"rtt_internet": [], "rtt_access": [],
                                                             "karn": [], "initial_rtt": None})
        retrans = any(p[f"tcp.analysis.{k}"] for k in ("retransmission", "fast_retransmission",
                                                       "spurious_retransmission"))
        if retrans:
            f[f"retrans_pkts_{d}"] += 1
            f[f"retrans_bytes_{d}"] += int(p["tcp.len"] or 0)
        for name, flag in (("dupacks", "duplicate_ack"), ("ooo_pkts", "out_of_order"),
                           ("zerowin", "zero_window")):
            if p[f"tcp.analysis.{flag}"]:
                f[f"{name}_{d}"] += 1
        if p["tcp.analysis.ack_rtt"] and p["tcp.analysis.acks_frame"] in data_frames:
            side = "rtt_access" if d == "out" else "rtt_internet"  # the ACK's sender
            value = float(p["tcp.analysis.ack_rtt"]) * 1000
            f[side].append(value)
            before = [r for r in resent if int(r["frame.number"]) < int(p["frame.number"])]
            if not sent_again(data_frames[p["tcp.analysis.acks_frame"]], before):
                f["karn"].append((side, value))
        if p["tcp.analysis.initial_rtt"] and f["initial_rtt"] is None:
            f["initial_rtt"] = float(p["tcp.analysis.initial_rtt"]) * 1000
    return flows


def sent_again(segment: dict[str, str], resent: list[dict[str, str]]) -> bool:
    """Whether bytes of a data segment were sent again (before its ACK: Karn's rule drops the
    RTT sample)."""
    lo, n = int(segment["tcp.seq"]), int(segment["tcp.len"])
    same = (segment["ip.src"] or segment["ipv6.src"], segment["tcp.srcport"], segment["tcp.dstport"])
    return any((p["ip.src"] or p["ipv6.src"], p["tcp.srcport"], p["tcp.dstport"]) == same
               and int(p["tcp.seq"]) < lo + n and lo < int(p["tcp.seq"]) + int(p["tcp.len"])
               for p in resent)


def lossy_transfer(n: int, dropped: set[int], swapped: set[int], fast: bool, spurious: bool,
                   isn_in: int = 5000) -> Conn:
    """A handshake, a request, then n server segments 0.1 ms apart: `dropped` ones are lost
    before the capture point, each of `swapped` arrives after its successor; the device ACKs
    every arrival cumulatively (so holes give duplicate ACKs); the lost segments are resent
    0.5 ms (fast) or 50 ms (timeout) after the burst, and with `spurious` segment 0 once more."""
    c = Conn()
    t = c.handshake(0, 30, 5, 1000, isn_in)
    c.out(t + 1, 1001, isn_in + 1, 300)
    base = isn_in + 1
    arrivals = sorted((100 + 0.1 * i + (0.17 if i in swapped else 0), i)
                      for i in range(n) if i not in dropped)
    resend = 0.5 if fast else 50
    last = arrivals[-1][0] if arrivals else 100
    arrivals += [(last + resend + 0.1 * k, i) for k, i in enumerate(sorted(dropped))]
    if spurious:
        arrivals.append((arrivals[-1][0] + 60, 0))
    got: set[int] = set()
    for ms, i in arrivals:
        c.inn(ms, base + i * MSS, 1301, MSS)
        got.add(i)
        upto = next((j for j in range(n + 1) if j not in got), n)
        c.out(ms + 0.04, 1301, base + upto * MSS)
    return c
