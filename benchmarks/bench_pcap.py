"""pcap import speed and memory, side by side with tshark field extraction of the same fields.

`python -m benchmarks pcap [--quick]`. The synthetic captures (benchmarks/pcap_synth.py) are
cached in $UCN_BENCH_CACHE (default: <tmp>/ucnstudy-bench), never committed. Each measurement
runs in a fresh process: wall seconds, CPU seconds of that process (the machine may be shared,
so CPU time is the fairer speed) and its peak RSS. Two capture sizes show whether memory
depends on the file size.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.pcap_synth import DEVICE, write_capture
from benchmarks.runner import Result, in_subprocess

TSHARK_FIELDS = (
    "frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ip.len",
    "tcp.srcport", "tcp.dstport", "tcp.flags", "udp.srcport", "udp.dstport",
    "dns.id", "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.resp.type", "dns.resp.name",
    "dns.a", "dns.aaaa", "dns.cname", "dns.resp.ttl",
    "http.request.method", "http.host", "http.request.uri", "http.user_agent", "http.referer",
    "http.response.code", "http.content_length", "http.content_type",
    "tls.handshake.extensions_server_name",
)


def cache_dir() -> Path:
    path = Path(os.environ.get("UCN_BENCH_CACHE", Path(tempfile.gettempdir()) / "ucnstudy-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def capture(packets: int) -> Path:
    path = cache_dir() / f"synthetic-{packets}.pcap"
    if not path.exists():
        write_capture(str(path), packets)
    return path


REPEAT = 3  # each measurement is the best of REPEAT runs (the machine may be shared)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    """One measured run: CPU seconds of all its threads, wall seconds, packets."""

    cpu: float
    wall: float
    packets: int


def import_worker(path: str, with_lease: bool, one_core: bool = False) -> Run:
    """Import one capture into a fresh DuckDB study, as `ucn import pcap` does; with `one_core`,
    the process and every thread it starts run on one CPU (the single-core rate)."""
    if one_core:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import pyarrow as pa

    from ucnstudy import open_study
    from ucnstudy.sources.pcap import import_pcap

    with tempfile.TemporaryDirectory() as tmp:
        study = open_study(Path(tmp) / "bench.duckdb")
        study.create_schema()
        items = [("devices", pa.table({"id": [1], "login": ["bench.device"]}))]
        if with_lease:
            items.append(("device_addresses", pa.table({"devid": [1], "address": [DEVICE]})))
        study.import_rows("table", "bench", items, sha256="bench-device")
        packets = 0

        def count(n: int) -> None:
            nonlocal packets
            packets += n

        cpu, wall = _cpu(), time.perf_counter()
        import_pcap(study, "bench.device", [path], on_progress=count)
        run = Run(_cpu() - cpu, time.perf_counter() - wall, packets)
        study.close()
    return run


def extract_worker(path: str) -> Run:
    """The capture-processing stages alone (read, decode, count, parse payloads, build Arrow
    rows), with the device's lease given, on one thread: the part tshark's field extraction
    does too."""
    import ucnstudy.sources.pcap  # noqa: F401 - the modules an import loads, as in import_worker
    from ucnstudy.sources.pcap.capture import CaptureImport, CaptureOptions
    from ucnstudy.sources.pcap.decode import address_words
    from ucnstudy.sources.pcap.device import DeviceAddresses, Lease

    capture = CaptureImport(CaptureOptions(1), DeviceAddresses([Lease(*address_words(DEVICE))]),
                            lambda message, packet: None)
    cpu, wall = _cpu(), time.perf_counter()
    rows = sum(table.num_rows for _, table in capture.run(path, lambda n: None))
    run = Run(_cpu() - cpu, time.perf_counter() - wall, capture.stats.packets)
    assert rows > 0
    return run


def tshark_worker(path: str) -> Run:
    """tshark field extraction of the importer's fields to /dev/null."""
    args = [shutil.which("tshark") or "tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=a"]
    for field in TSHARK_FIELDS:
        args += ["-e", field]
    before, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Run((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, 0)


def best(worker: Callable[..., Run], *args: object, repeat: int) -> tuple[Run, float]:
    """(the least CPU and the least wall time of `repeat` fresh-process runs, peak MiB)."""
    runs, peak = [], 0.0
    for _ in range(repeat):
        _, run_peak, run = in_subprocess(worker, *args)
        runs.append(run)
        peak = max(peak, run_peak)
    return Run(min(r.cpu for r in runs), min(r.wall for r in runs), runs[0].packets), peak


def _result(name: str, run: Run, peak: float, packets: int, note: str = "") -> Result:
    return Result(name, run.cpu, packets, "pkt", peak,
                  f"CPU s; wall {run.wall:.2f} s ({packets / run.wall:,.0f} pkt/s){note}")


def run(quick: bool) -> list[Result]:
    small, large = (50_000, 200_000) if quick else (250_000, 1_000_000)
    repeat = 1 if quick else REPEAT
    t0 = time.perf_counter()
    paths = {n: capture(n) for n in (small, large)}
    results = [Result("generate synthetic captures (cached)", time.perf_counter() - t0)]
    runs: dict[str, Run] = {}
    for n in (small, large):
        size = f"; file {paths[n].stat().st_size / 2**20:,.0f} MiB"
        imported, peak = best(import_worker, str(paths[n]), True, repeat=repeat)
        results.append(_result(f"ucn import pcap, {n:,} pkts, leases", imported, peak, imported.packets,
                               size))
        extracted, peak = best(extract_worker, str(paths[n]), repeat=repeat)
        results.append(_result(f"capture stages only (no digest, no database), {n:,} pkts", extracted, peak,
                               extracted.packets))
        runs.update(imported=imported, extracted=extracted)
    pinned, peak = best(import_worker, str(paths[large]), True, True, repeat=repeat)
    results.append(_result(f"ucn import pcap, {large:,} pkts, leases, pinned to one core", pinned, peak,
                           pinned.packets))
    heuristic, peak = best(import_worker, str(paths[large]), False, repeat=1)
    results.append(_result(f"ucn import pcap, {large:,} pkts, address heuristic (2 passes)", heuristic,
                           peak, heuristic.packets))
    if shutil.which("tshark") is None:
        results.append(Result("tshark -T fields", 0.0, note="tshark not installed: no comparison"))
        return results
    tshark, peak = best(tshark_worker, str(paths[large]), repeat=repeat)
    imported, extracted = runs["imported"], runs["extracted"]
    results.append(_result(f"tshark -T fields ({len(TSHARK_FIELDS)} fields), {large:,} pkts", tshark, peak,
                           imported.packets))
    end_to_end = f"{tshark.wall / imported.wall:.1f}x wall, {tshark.cpu / imported.cpu:.1f}x CPU"
    stages = f"{tshark.wall / extracted.wall:.1f}x wall, {tshark.cpu / extracted.cpu:.1f}x CPU"
    results.append(Result("ratio tshark / ucn", 0.0,
                          note=f"end to end: {end_to_end}; capture stages: {stages} (best of {repeat})"))
    return results
