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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def import_worker(path: str, with_lease: bool) -> tuple[float, int]:
    """Import one capture into a fresh DuckDB study; (CPU seconds, packets)."""
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

        start = _cpu()
        import_pcap(study, "bench.device", [path], on_progress=count)
        cpu = _cpu() - start
        study.close()
    return cpu, packets


def extract_worker(path: str) -> tuple[float, int]:
    """The capture-processing stages alone (read, decode, count, parse payloads, build Arrow
    rows), with the device's lease given: what tshark's field extraction is compared with."""
    from ucnstudy.sources.pcap.capture import CaptureImport, CaptureOptions
    from ucnstudy.sources.pcap.decode import address_words
    from ucnstudy.sources.pcap.device import DeviceAddresses, Lease

    capture = CaptureImport(CaptureOptions(1), DeviceAddresses([Lease(*address_words(DEVICE))]),
                            lambda message, packet: None)
    start = _cpu()
    rows = sum(table.num_rows for _, table in capture.run(path, lambda n: None))
    cpu = _cpu() - start
    assert rows > 0
    return cpu, capture.stats.packets


def tshark_worker(path: str) -> float:
    """tshark field extraction of the importer's fields to /dev/null; its CPU seconds."""
    args = [shutil.which("tshark") or "tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=a"]
    for field in TSHARK_FIELDS:
        args += ["-e", field]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _ours(path: Path, packets: int, with_lease: bool) -> Result:
    wall, peak, (cpu, seen) = in_subprocess(import_worker, str(path), with_lease)
    how = "leases" if with_lease else "address heuristic (2 passes)"
    size = path.stat().st_size / 2**20
    return Result(f"ucn import pcap, {packets:,} pkts, {how}", cpu, seen, "pkt", peak,
                  f"CPU s; wall {wall:.2f} s ({seen / wall:,.0f} pkt/s); file {size:,.0f} MiB")


def run(quick: bool) -> list[Result]:
    small, large = (50_000, 200_000) if quick else (250_000, 1_000_000)
    results = []
    t0 = time.perf_counter()
    paths = {n: capture(n) for n in (small, large)}
    results.append(Result("generate synthetic captures (cached)", time.perf_counter() - t0))
    for n in (small, large):
        results.append(_ours(paths[n], n, with_lease=True))
        wall, peak, (cpu, seen) = in_subprocess(extract_worker, str(paths[n]))
        results.append(Result(f"capture stages only (no digest, no database), {n:,} pkts", cpu, seen,
                              "pkt", peak, f"CPU s; wall {wall:.2f} s"))
    ours, extract = results[-2], results[-1]
    results.append(_ours(paths[large], large, with_lease=False))
    if shutil.which("tshark") is None:
        results.append(Result("tshark -T fields", 0.0, note="tshark not installed: no comparison"))
        return results
    wall, peak, cpu = in_subprocess(tshark_worker, str(paths[large]))
    packets = ours.units
    results.append(Result(f"tshark -T fields ({len(TSHARK_FIELDS)} fields), {large:,} pkts", cpu, packets,
                          "pkt", peak, f"CPU s; wall {wall:.2f} s; ucn is {_x(cpu, ours)} faster "
                          f"end to end, {_x(cpu, extract)} on the capture stages (CPU)"))
    return results


def _x(tshark_cpu: float, ours: Result) -> str:
    return f"{tshark_cpu / ours.seconds:.1f}x" if ours.seconds else "n/a"
