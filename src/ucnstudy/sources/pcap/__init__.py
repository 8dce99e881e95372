"""pcap and pcapng captures of one device -> devicetraffic, deviceapptraffic, flows, dnsreqs,
httpreqs (see docs/inputs/pcap.md).

Modules by role: reader (record headers, blocks), decode (vectorised header fields), device
(which side is the device), counters (aligned windows), flows (idle timeout), tcpperf with
tcpscan/_tcpscan (TCP performance per flow), payloads with dns/http/tls/tcpstream (the few
payloads read), rows (canonical Arrow tables), capture (the stages for one file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from ucnstudy.sources.base import IngestContext, Parser, ingest
from ucnstudy.sources.pcap.capture import CaptureImport, CaptureOptions, guess_addresses
from ucnstudy.sources.pcap.device import DeviceAddresses
from ucnstudy.store import ImportResult, Study

KIND = "pcap"


def device_leases(study: Study, devid: int) -> DeviceAddresses:
    """The device's address leases from the study (empty when the manifest gave none)."""
    if not study.has_table("device_addresses"):
        return DeviceAddresses([])
    if study.engine.name == "duckdb":  # the same rows without Ibis (an import's start)
        _, rows = study.engine.read_rows(  # type: ignore[attr-defined]
            "SELECT address, valid_from, valid_to FROM device_addresses WHERE devid = ?", [devid])
        return DeviceAddresses.from_rows(rows)
    t = study.table("device_addresses")
    found = t.filter(t.devid == devid).select("address", "valid_from", "valid_to").to_pyarrow()
    return DeviceAddresses.from_rows(zip(*(found[c].to_pylist() for c in found.column_names),
                                         strict=True))


def pcap_parser(login: str, *, window_s: int = 10, timeout_s: int = 300) -> Parser:
    """A parser for `ingest`: captures of the device `login`."""
    if window_s <= 0:
        raise ValueError("--window must be a positive number of seconds")

    def parse(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
        devid = ctx.device_id(login)
        addresses = device_leases(ctx.study, devid)
        if not addresses.leases:
            addresses = guess_addresses(path)
            if not addresses.leases:
                ctx.problem("no IP packet found: cannot tell the device's address; nothing loaded")
                return
            ctx.problems.append(f"{path}: device address guessed from the capture (no lease in the "
                                f"manifest): {', '.join(addresses.texts())}")

        def problem(message: str, packet: int) -> None:
            ctx.problem(message, packet=packet or None)

        capture = CaptureImport(CaptureOptions(devid, window_s, timeout_s), addresses, problem)
        yield from capture.run(path, ctx.advance)
        other = capture.stats.packets - capture.stats.device_packets
        if other:
            ctx.problems.append(f"{path}: {other:,} of {capture.stats.packets:,} packets are not "
                                "to or from the device's addresses and were not counted")

    return parse


def import_pcap(study: Study, login: str, paths: Iterable[str | os.PathLike[str]], *,
                window_s: int = 10, strict: bool = False,
                on_progress: Callable[[int], None] | None = None,
                after_load: Callable[[Study], None] | None = None) -> list[ImportResult]:
    """Import captures of one device; each file is one atomic, idempotent import."""
    return ingest(study, KIND, paths, pcap_parser(login, window_s=window_s), strict=strict,
                  options={"window_s": window_s}, on_progress=on_progress, after_load=after_load)


__all__ = ["KIND", "import_pcap", "pcap_parser"]
