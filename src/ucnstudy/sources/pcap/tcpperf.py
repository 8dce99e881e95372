"""TCP performance of every flow: the tracker that feeds a block's TCP packets to the per-flow
scan (`_tcpscan.pyx`, else `tcpscan.scan`) and hands each finished flow's measures to its
`flows` row (docs/inputs/pcap.md, "TCP performance").

State is one fixed-size row per open TCP flow (tcpscan.WIDTH int64), kept in one array with a
free list; a flow's row is released when its `flows` row is written (idle timeout, as the flow
table), so memory is bounded by the flows open at once, not by the file. A flow idle for longer
than the timeout starts a new measure, exactly where the flow table starts a new flow.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ucnstudy.sources.pcap import tcpscan as ts_
from ucnstudy.sources.pcap.tcpscan import ACCUMULATED, COUNT, PER_DIR, RTT, START

try:
    from ucnstudy.sources.pcap._tcpscan import scan as compiled_scan
except ImportError:  # not compiled: the Python definition
    compiled_scan = None

Measures = np.ndarray  # the ACCUMULATED leading fields of a row
_NEW = ts_.new_row()


class TcpTracker:
    def __init__(self, timeout_us: int, compiled: bool = True) -> None:
        self.timeout = timeout_us
        self.scan = compiled_scan if compiled and compiled_scan is not None else ts_.scan
        self.rows = np.zeros((0, ts_.WIDTH), np.int64)
        self.free: list[int] = []
        self.active: dict[int, int] = {}  # flow hash -> row
        self.ended: dict[int, list[Measures]] = {}  # measures split off by an idle gap

    def add(self, h: np.ndarray, t: np.ndarray, d: np.ndarray, seq: np.ndarray, ack: np.ndarray,
            flags: np.ndarray, win: np.ndarray, seglen: np.ndarray) -> None:
        """TCP packets of the device in capture order: flow hash, time, direction (0 out)."""
        if not len(h):
            return
        order = np.argsort(h, kind="stable")
        hs = h[order]
        starts = np.flatnonzero(np.r_[True, hs[1:] != hs[:-1]])
        run_row = np.array([self._row(int(k)) for k in hs[starts].tolist()], np.int64)
        ts = t[order]
        same = hs[1:] == hs[:-1]
        splits = int(np.count_nonzero(same & (ts[1:] - ts[:-1] > self.timeout)))
        out = np.zeros((len(starts) + splits, ACCUMULATED + 1), np.int64)
        n = self.scan(self.rows, np.r_[starts, len(hs)].astype(np.int64), run_row, ts,
                      d[order].astype(np.int64), seq[order], ack[order], flags[order], win[order],
                      seglen[order], self.timeout, out)
        keys = hs[starts]
        for measures in out[:n]:
            key = int(keys[measures[ACCUMULATED]])
            self.ended.setdefault(key, []).append(measures[:ACCUMULATED].copy())

    def _row(self, key: int) -> int:
        row = self.active.get(key)
        if row is None:
            if not self.free:
                self._grow()
            row = self.free.pop()
            self.rows[row] = _NEW
            self.active[key] = row
        return row

    def _grow(self) -> None:
        n = len(self.rows)
        more = max(1024, n)
        self.rows = np.concatenate([self.rows, np.zeros((more, ts_.WIDTH), np.int64)])
        self.free.extend(range(n + more - 1, n - 1, -1))

    def take(self, key: int, start: int, end: int) -> Measures | None:
        """The measures of the flow (key, start, end), released; None when no TCP was seen."""
        parts = [m for m in self.ended.pop(key, []) if start <= m[START] <= end]
        row = self.active.get(key)
        if row is not None and start <= self.rows[row, START] <= end:
            parts.append(self.rows[row, :ACCUMULATED].copy())
            del self.active[key]
            self.free.append(row)
        if not parts:
            return None
        return merge(parts)


def merge(parts: list[Measures]) -> Measures:
    """One flow's measures from the pieces a capture split (normally a single piece)."""
    m = parts[0].copy()
    for p in parts[1:]:
        if m[ts_.HS1] < 0 and m[ts_.HS2] < 0:  # the first handshake seen, with its direction
            for field in (ts_.HS1, ts_.HS2, ts_.SYN_DIR):
                m[field] = p[field]
        for side in (0, 4):
            a = RTT + side
            if p[a]:
                m[a + 2] = p[a + 2] if not m[a] else min(m[a + 2], p[a + 2])
                m[a], m[a + 1], m[a + 3] = m[a] + p[a], m[a + 1] + p[a + 1], max(m[a + 3], p[a + 3])
        m[COUNT:ACCUMULATED] += p[COUNT:ACCUMULATED]
    return m


def _ms(us: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(us / 1000.0, pa.float64(), mask=~valid)


def columns(measures: list[Measures | None]) -> dict[str, pa.Array]:
    """The flows table's TCP performance columns (NULL for flows without TCP measures)."""
    tcp = np.array([m is not None for m in measures], bool)
    m = np.array([x if x is not None else np.full(ACCUMULATED, -1, np.int64) for x in measures],
                 np.int64).reshape(len(measures), ACCUMULATED)
    out = m[:, ts_.SYN_DIR] != 1  # the device sent the SYN: SYN -> SYN/ACK is the internet side
    internet = np.where(out, m[:, ts_.HS1], m[:, ts_.HS2])
    access = np.where(out, m[:, ts_.HS2], m[:, ts_.HS1])
    cols = {"hs_rtt_internet_ms": _ms(internet, tcp & (internet >= 0)),
            "hs_rtt_access_ms": _ms(access, tcp & (access >= 0))}
    for side, at in (("internet", RTT), ("access", RTT + 4)):
        n = m[:, at]
        has = tcp & (n > 0)
        cols[f"rtt_{side}_n"] = pa.array(np.maximum(n, 0).astype(np.int32), mask=~tcp)
        cols[f"rtt_{side}_min_ms"] = _ms(m[:, at + 2], has)
        cols[f"rtt_{side}_mean_ms"] = _ms(m[:, at + 1] / np.maximum(n, 1), has)
        cols[f"rtt_{side}_max_ms"] = _ms(m[:, at + 3], has)
    for j, name in enumerate(PER_DIR):
        for d, suffix in ((0, "out"), (1, "in")):
            v = m[:, COUNT + d * len(PER_DIR) + j]
            if name.endswith("_us"):
                cols[f"{name[:-3]}_secs_{suffix}"] = pa.array(v / 1e6, pa.float64(), mask=~tcp)
            else:
                cols[f"{name}_{suffix}"] = pa.array(v, pa.int64(), mask=~tcp)
    return cols
