"""squid access logs -> httpreqs, attributed to devices by (client IP, time) through the leases.

Two line formats are recognised line by line (a file may mix them):
  native   time.ms elapsed client action/code size method URL ident hierarchy/from type
  custom   the UCN study's logformat (reference section 2.10): local time; epoch with ms;
           response time; client IP; action/code; size; method; URL; user; protocol version;
           hierarchy/from; MIME type; "Referer"; "User-Agent"
The epoch (UTC) gives ts; the custom format's local time is ignored (bug 14). Lines of clients
that no lease covers at that time are counted and reported, not loaded; malformed lines are
reported with their line number and skipped (fatal with --strict).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.leases import Leases, canonical_address
from ucnstudy.sources.logfiles import epoch_to_timestamp, numbered_lines, valid_epoch
from ucnstudy.sources.urls import clean_mimetype, split_url

CHUNK_LINES = 100_000
_COMMON = (r"(?P<epoch>\d+(?:\.\d+)?)\s+(?P<elapsed>-?\d+)\s+(?P<client>\S+)\s+(?P<action>[^\s/]+)/"
           r"(?P<status>\d{1,3})\s+(?P<size>-?\d+)\s+(?P<method>\S+)\s+(?P<url>\S+)\s+(?P<user>\S+)\s+")
NATIVE = re.compile(rf"^\s*{_COMMON}(?P<hierarchy>\S+)\s+(?P<mime>\S+)\s*$")
_QUOTED = r'"(?P<{}>(?:[^"\\]|\\.)*)"'
CUSTOM = re.compile(
    rf"^\s*\[?(?P<local>\S+(?:\s+[+-]\d{{4}})?)\]?\s+{_COMMON}(?P<version>\S+)\s+(?P<hierarchy>\S+)\s+"
    rf"(?P<mime>\S+)\s+{_QUOTED.format('referer')}\s+{_QUOTED.format('ua')}\s*$"
)
FIELDS = ("epoch", "elapsed", "client", "status", "size", "method", "url", "hierarchy", "mime",
          "referer", "ua")


def parse_line(text: str) -> dict[str, str | None] | None:
    """The fields of one native or custom squid line, or None when it is neither."""
    found = NATIVE.match(text) or CUSTOM.match(text)
    if found is None or not valid_epoch(found["epoch"]) or len(found["size"]) > 18:
        return None
    fields = found.groupdict()
    return {name: fields.get(name) for name in FIELDS}


def unquote(value: str | None) -> str | None:
    """A squid quoted-string value: '-' and empty mean absent; backslash escapes are undone."""
    if value is None or value in ("", "-"):
        return None
    if "\\" in value:
        value = re.sub(r"\\(.)", r"\1", value)
    return value


@dataclass
class _Batch:
    numbers: list[int] = field(default_factory=list)
    columns: dict[str, list[str | None]] = field(default_factory=lambda: {f: [] for f in FIELDS})

    def add(self, number: int, fields: dict[str, str | None]) -> None:
        self.numbers.append(number)
        for name, value in fields.items():
            self.columns[name].append(value)

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass
class SquidStats:
    """Lines of clients without a lease, per client address."""

    unknown: Counter[str] = field(default_factory=Counter)


def _server_address(hierarchy: str | None) -> str | None:
    """DIRECT/93.184.216.34 -> the server address when squid logged one."""
    return canonical_address((hierarchy or "").partition("/")[2]) if hierarchy else None


def _records(batch: _Batch, ts_at_end: bool) -> pa.Table:
    c = batch.columns
    ts = epoch_to_timestamp(c["epoch"])  # type: ignore[arg-type]
    if ts_at_end:  # squid 2.x logs the completion time; the request started `elapsed` ms earlier
        elapsed = pa.array([max(int(e or 0), 0) * 1000 for e in c["elapsed"]], pa.int64())
        ts = pc.subtract(ts, elapsed.cast(pa.duration("us")))
    hosts, paths, ports = [], [], []
    for url, method in zip(c["url"], c["method"], strict=True):
        host, path, port = split_url(url or "", method)
        hosts.append(host)
        paths.append(path)
        ports.append(port)
    return pa.table({
        "source": pa.array(["squid"] * len(batch), pa.string()),
        "ts": ts,
        "req_method": pa.array(c["method"], pa.string()),
        "req_url": pa.array(c["url"], pa.string()),
        "req_url_host": pa.array(hosts, pa.string()),
        "req_url_path": pa.array(paths, pa.string()),
        "req_ua": pa.array([unquote(v) for v in c["ua"]], pa.string()),
        "req_referer": pa.array([unquote(v) for v in c["referer"]], pa.string()),
        "res_status_code": pa.array([int(s) or None for s in c["status"]], pa.int32()),  # type: ignore[arg-type]
        "res_size": pa.array([max(int(s), 0) for s in c["size"]], pa.int64()),  # type: ignore[arg-type]
        "res_mimetype": pa.array([clean_mimetype(m) for m in c["mime"]], pa.string()),
        "srcip": pa.array([canonical_address(a) or a for a in c["client"]], pa.string()),
        "dstip": pa.array([_server_address(h) for h in c["hierarchy"]], pa.string()),
        "proto": pa.array([6] * len(batch), pa.int32()),
        "dstport": pa.array(ports, pa.int32()),
    })


def _attributed(records: pa.Table, leases: Leases, stats: SquidStats) -> pa.Table:
    devids = leases.attribute(records.column("srcip"), records.column("ts"))
    unknown = pc.is_null(devids)
    if pc.any(unknown).as_py():
        stats.unknown.update(records.column("srcip").filter(unknown).to_pylist())
    return records.append_column("devid", devids).filter(pc.invert(unknown))


def parse_squid(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
    """The ingest parser: httpreqs chunks of a squid access log (plain or gzip)."""
    leases = ctx.options.get("leases")
    if not isinstance(leases, Leases):
        leases = Leases.of_study(ctx.study)
    ts_at_end = bool(ctx.options.get("ts_at_end", False))
    stats = SquidStats()
    batch = _Batch()
    for number, text in numbered_lines(path, lambda msg, line: ctx.problem(msg, line=line)):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = parse_line(text)
        if fields is None:
            ctx.problem("not a squid access log line (native or UCN custom logformat)", line=number)
            continue
        batch.add(number, fields)
        if len(batch) >= CHUNK_LINES:
            yield "httpreqs", _attributed(_records(batch, ts_at_end), leases, stats)
            ctx.advance(len(batch))
            batch = _Batch()
    if len(batch):
        yield "httpreqs", _attributed(_records(batch, ts_at_end), leases, stats)
        ctx.advance(len(batch))
    if stats.unknown:
        ctx.problems.append(unknown_clients_message(path, stats.unknown))


def unknown_clients_message(path: str, unknown: Counter[str], shown: int = 5) -> str:
    """One warning for every line skipped because no lease covers its client at that time."""
    top = ", ".join(f"{address} ({n})" for address, n in unknown.most_common(shown))
    more = f" and {len(unknown) - shown} more" if len(unknown) > shown else ""
    return (f"{path}: {sum(unknown.values())} lines of {len(unknown)} client address(es) without a device "
            f"lease at that time were not loaded: {top}{more}; add their leases to the manifest "
            "(ucn import manifest) before importing their logs")
