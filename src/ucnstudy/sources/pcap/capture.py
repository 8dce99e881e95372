"""One capture file through the stages: read -> decode -> orient -> count, follow payloads -> rows."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ucnstudy.sources.pcap import rows
from ucnstudy.sources.pcap.counters import WindowCounter, direction_counters
from ucnstudy.sources.pcap.decode import TCP, UDP, Packets, decode
from ucnstudy.sources.pcap.device import AddressTally, DeviceAddresses
from ucnstudy.sources.pcap.flows import KEYS, FlowRows, FlowTable, key_hash
from ucnstudy.sources.pcap.payloads import PayloadInspector
from ucnstudy.sources.pcap.plausible import keep_plausible
from ucnstudy.sources.pcap.reader import BLOCK_BYTES, read_blocks
from ucnstudy.sources.pcap.tcpperf import TcpTracker
from ucnstudy.sources.timewindow import time_window

Problem = Callable[[str, int], None]
BATCH_ROWS = 20_000
Output = Iterator[tuple[str, pa.Table]]


@dataclass
class CaptureOptions:
    devid: int
    window_s: int = 10
    timeout_s: int = 300
    block_bytes: int = BLOCK_BYTES


@dataclass
class CaptureStats:
    packets: int = 0
    device_packets: int = 0
    late_packets: int = 0


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Parsing allocates many short-lived acyclic objects; with the default thresholds the
    cycle collector keeps walking every object of the process (~8% of the import time)."""
    before = gc.get_threshold()
    gc.set_threshold(20_000, 50, 50)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def guess_addresses(path: str, block_bytes: int = BLOCK_BYTES) -> DeviceAddresses:
    """The device's addresses by the whole-capture heuristic (device.py); problems are reported
    by the main pass, so they are ignored here."""
    tally = AddressTally()
    for block in read_blocks(path, lambda message, packet: None, block_bytes):
        tally.add(decode(block))
    return tally.choose()


class CaptureImport:
    """State of one capture being imported; `run` yields canonical (table, rows) chunks."""

    def __init__(self, opts: CaptureOptions, addresses: DeviceAddresses, problem: Problem) -> None:
        self.opts, self.addresses, self.problem = opts, addresses, problem
        self.seconds = WindowCounter(1_000_000)
        self.windows = WindowCounter(opts.window_s * 1_000_000, KEYS)
        self.flows = FlowTable(opts.timeout_s * 1_000_000)
        self.tcp = TcpTracker(opts.timeout_s * 1_000_000)
        self.inspector = PayloadInspector(problem)
        self.newest: int | None = None
        self.stats = CaptureStats()

    def run(self, path: str, on_packets: Callable[[int], None]) -> Output:
        """Canonical rows in batches of about BATCH_ROWS per table (fewer, larger loads)."""
        with _fewer_gc_passes():
            yield from self._run(path, on_packets)

    def _run(self, path: str, on_packets: Callable[[int], None]) -> Output:
        batches: dict[str, list[pa.Table]] = {}

        def ready(final: bool) -> Output:
            for name in list(batches):
                if final or sum(t.num_rows for t in batches[name]) >= BATCH_ROWS:
                    yield name, pa.concat_tables(batches.pop(name))

        window = time_window()
        for block in read_blocks(path, self.problem, self.opts.block_bytes):
            for name, table in self.add(keep_plausible(decode(block), window, self.problem)):
                batches.setdefault(name, []).append(table)
            yield from ready(final=False)
            on_packets(len(block))
        for name, table in self.finish():
            batches.setdefault(name, []).append(table)
        yield from ready(final=True)

    def add(self, p: Packets) -> Output:
        self.stats.packets += len(p)
        o = self.addresses.orient(p)
        mine = o.mine
        self.stats.device_packets += int(np.count_nonzero(mine))
        if len(p.ts_us):
            newest = int(p.ts_us.max())
            self.newest = newest if self.newest is None else max(self.newest, newest)
        counters = direction_counters(o.outgoing, p.ip_len)
        self.seconds.add(p.ts_us[mine], {}, {k: v[mine] for k, v in counters.items()})
        ports = mine & p.has_ports & ((p.proto == TCP) | (p.proto == UDP)) & (p.sport > 0) & (p.dport > 0)
        keys = {"local_hi": o.local_hi, "local_lo": o.local_lo, "remote_hi": o.remote_hi,
                "remote_lo": o.remote_lo, "proto": p.proto, "local_port": o.local_port,
                "remote_port": o.remote_port}
        sel_keys = {k: v[ports].astype(np.uint64) for k, v in keys.items()}
        sel_counters = {k: v[ports] for k, v in counters.items()}
        self.windows.add(p.ts_us[ports], sel_keys, sel_counters)
        done = self.flows.add(p.ts_us[ports], sel_keys, sel_counters, self.newest)
        h = np.zeros(len(p), np.uint64)
        h[ports] = key_hash(sel_keys)
        self._track_tcp(p, o.outgoing, h, ports & (p.proto == TCP))
        self.inspector.inspect(p, o, h, ports)
        self.inspector.evict(self.newest)
        yield from self._emit(done, self.newest)

    def _track_tcp(self, p: Packets, outgoing: np.ndarray, h: np.ndarray, tcp: np.ndarray) -> None:
        self.tcp.add(h[tcp], p.ts_us[tcp], (~outgoing[tcp]).astype(np.int64), p.seq[tcp],
                     p.ack[tcp], p.tcp_flags[tcp], p.win[tcp], p.seg_len[tcp])

    def finish(self) -> Output:
        self.inspector.evict(None)
        yield from self._emit(self.flows.finish(), None)
        late = self.seconds.late_packets + self.windows.late_packets
        if late:
            self.problem(f"{late:,} packets arrived more than 2 minutes out of time order; "
                         "their seconds or windows have a second row", 0)

    def _emit(self, flows: FlowRows | None, newest: int | None) -> Output:
        devid = self.opts.devid
        seconds = self.seconds.flush(newest)
        if seconds is not None:
            yield "devicetraffic", rows.devicetraffic(devid, seconds)
        windows = self.windows.flush(newest)
        if windows is not None:
            yield "deviceapptraffic", rows.apptraffic(devid, windows)
        dns_events, http_events = self.inspector.take_events()
        if dns_events:
            yield "dnsreqs", rows.dnsreqs(devid, dns_events)
        if http_events:
            yield "httpreqs", rows.httpreqs(devid, http_events)
        if flows is not None:
            yield "flows", rows.flows(devid, flows, self._server_names(flows), self._tcp_measures(flows))

    def _tcp_measures(self, flows: FlowRows) -> list[np.ndarray | None]:
        c = flows.cols
        tcp = c["proto"] == TCP
        keys, start, end = key_hash(c).tolist(), c["start"].tolist(), c["end"].tolist()
        return [self.tcp.take(keys[i], start[i], end[i]) if tcp[i] else None
                for i in range(len(flows))]

    def _server_names(self, flows: FlowRows) -> list[str | None]:
        c = flows.cols
        hashes = key_hash(c)
        names = []
        for i in range(len(flows)):
            key, start, end = int(hashes[i]), int(c["start"][i]), int(c["end"][i])
            names.append(self.inspector.server_name(
                key, (int(c["remote_hi"][i]), int(c["remote_lo"][i])), start, end))
            self.inspector.forget_names(key, end)
        return names
