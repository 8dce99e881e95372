"""pcap import speed and memory, side by side with tshark field extraction of the same fields.

`python -m benchmarks pcap [--quick]`. Two shapes of synthetic capture, cached in
$UCN_BENCH_CACHE (default: <tmp>/ucnstudy-bench), never committed: the mix of
benchmarks/pcap_synth.py (long downloads, few flows) at two sizes, and the user's day of
benchmarks/pcap_short.py (300,000 packets of mostly short TLS connections, issue 11). Each
measurement runs in a fresh process: wall seconds, CPU seconds of that process (the machine may
be shared, so CPU time is the fairer speed) and its peak RSS. Each shape is also imported as a
user does it, `ucn import pcap` as a whole process into a fresh DuckDB study, with the time of
each step (benchmarks/pcap_steps.py), and compared with tshark in the same run.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.pcap_short import write_short_flows
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


def short_capture(packets: int) -> Path:
    path = cache_dir() / f"short-flows-{packets}.pcap"
    if not path.exists():
        write_short_flows(str(path), packets)
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


def prepare_study(db: str) -> None:
    """A fresh DuckDB study with the device and its lease (as `ucn import manifest` leaves it)."""
    import pyarrow as pa

    from ucnstudy import open_study

    study = open_study(db)
    study.create_schema()
    study.import_rows("table", "bench", [
        ("devices", pa.table({"id": [1], "login": ["bench.device"]})),
        ("device_addresses", pa.table({"devid": [1], "address": [DEVICE]}))], sha256="bench-device")
    study.close()


STEPS = ("start", "parse", "load", "commit", "enrich", "main")


def command(path: Path, packets: int, repeat: int) -> tuple[Run, float, str]:
    """`ucn import pcap` as a fresh process into a fresh study: (best run, peak MiB of the
    process, the steps of the fastest run)."""
    runs, peak, steps = [], 0.0, ""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            db, marks_path = str(Path(tmp) / "study.duckdb"), Path(tmp) / "marks.json"
            in_subprocess(prepare_study, db)
            args = [sys.executable, "-m", "benchmarks.pcap_steps", str(marks_path), "--db", db,
                    "import", "pcap", "--device", "bench.device", str(path)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            launched, wall = time.time(), time.perf_counter()
            subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - wall
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            marks = json.loads(marks_path.read_text())
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        peak = max(peak, after.ru_maxrss / 1024)
        runs.append(Run(cpu, wall, packets))
        if wall <= min(r.wall for r in runs):
            times = [launched] + [marks[s] for s in STEPS] + [launched + wall]
            names = [*STEPS[:-1], "summary", "exit"]
            steps = ", ".join(f"{n} {b - a:.2f}" for n, a, b in zip(names, times[:-1], times[1:],
                                                                     strict=True)) + " s"
    return Run(min(r.cpu for r in runs), min(r.wall for r in runs), packets), peak, steps


def shape(name: str, path: Path, repeat: int, with_tshark: bool) -> list[Result]:
    """One capture: the whole command, the capture stages alone, tshark, and their ratios."""
    extracted, peak = best(extract_worker, str(path), repeat=repeat)
    packets = extracted.packets
    results = [_result(f"{name}: capture stages only, {packets:,} pkts", extracted, peak, packets,
                       f"; file {path.stat().st_size / 2**20:,.0f} MiB")]
    whole, peak, steps = command(path, packets, repeat)
    results.append(_result(f"{name}: `ucn import pcap` process", whole, peak, packets))
    results.append(Result(f"{name}: steps of the fastest process", whole.wall, note=steps))
    if with_tshark:
        tshark, peak = best(tshark_worker, str(path), repeat=repeat)
        results.append(_result(f"{name}: tshark -T fields ({len(TSHARK_FIELDS)} fields)", tshark, peak,
                               packets))
        results.append(Result(f"{name}: ratio tshark / ucn", 0.0, note=(
            f"whole process: {tshark.wall / whole.wall:.1f}x wall, {tshark.cpu / whole.cpu:.1f}x CPU; "
            f"capture stages: {tshark.wall / extracted.wall:.1f}x wall, "
            f"{tshark.cpu / extracted.cpu:.1f}x CPU (best of {repeat})")))
    return results


def run(quick: bool) -> list[Result]:
    small, large = (50_000, 200_000) if quick else (250_000, 1_000_000)
    short = 100_000 if quick else 300_000
    repeat = 1 if quick else REPEAT
    t0 = time.perf_counter()
    paths = {n: capture(n) for n in (small, large)}
    short_path = short_capture(short)
    results = [Result("generate synthetic captures (cached)", time.perf_counter() - t0)]
    with_tshark = shutil.which("tshark") is not None
    if not with_tshark:
        results.append(Result("tshark -T fields", 0.0, note="tshark not installed: no comparison"))
    results += shape("short flows", short_path, repeat, with_tshark)
    results += shape("synthetic mix", paths[large], repeat, with_tshark)
    extracted, peak = best(extract_worker, str(paths[small]), repeat=repeat)
    results.append(_result(f"synthetic mix: capture stages only, {small:,} pkts (memory vs size)",
                           extracted, peak, extracted.packets))
    pinned, peak = best(import_worker, str(paths[large]), True, True, repeat=repeat)
    results.append(_result(f"ucn import pcap in process, {large:,} pkts, pinned to one core", pinned,
                           peak, pinned.packets))
    pinned, peak = best(import_worker, str(short_path), True, True, repeat=repeat)
    results.append(_result("ucn import pcap in process, short flows, pinned to one core", pinned,
                           peak, pinned.packets))
    heuristic, peak = best(import_worker, str(paths[large]), False, repeat=1)
    results.append(_result(f"ucn import pcap, {large:,} pkts, address heuristic (2 passes)", heuristic,
                           peak, heuristic.packets))
    return results
