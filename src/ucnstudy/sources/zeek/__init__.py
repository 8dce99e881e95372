"""Zeek conn, dns, http and ssl logs (TSV or JSON, plain or gzip) into the study.

`import_zeek(study, paths)` is the whole pipeline: expand directories, import each log file as
one atomic, idempotent load (records attributed to devices through the leases), give flows the
server names that ssl (SNI), http (Host) and dns (answers) logs carry, then enrich the study.
Those names are held in memory until the pass: each import records a `zeek-names` task with its
rows, the pass deletes it, and after a kill in between the next pass (`name_flows`, run by the
next Zeek import or `ucn enrich`) re-reads the ssl/http/dns logs of the imports that left it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator

import pyarrow as pa

from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext, ingest
from ucnstudy.sources.leases import Leases
from ucnstudy.sources.timewindow import study_window
from ucnstudy.sources.zeek import tables
from ucnstudy.sources.zeek.names import NAMES_TASK, apply_server_names
from ucnstudy.sources.zeek.reader import FIELDS, Record, ZeekReader, log_type_of_name
from ucnstudy.store import ImportResult, Study
from ucnstudy.store.digest import content_digest, file_digest

KIND = "zeek"
CHUNK_RECORDS = 50_000
# ssl and http first: the server names they carry are applied after every file is in.
ORDER = {"ssl": 0, "http": 1, "dns": 2, "conn": 3}


def log_files(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files to import: the given files, and the conn/dns/http/ssl logs inside given directories."""
    found = []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if log_type_of_name(n))
            if not names:
                raise InputError(path, "no Zeek logs here: expected files named conn.*, dns.*, http.* "
                                       "or ssl.*")
            found.extend(os.path.join(path, n) for n in names)
        elif os.path.exists(path):
            found.append(path)
        else:
            raise InputError(path, "no such file or directory")
    return sorted(found, key=lambda p: (ORDER.get(log_type_of_name(p) or "", 4), p))


def parse_zeek(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
    """The ingest parser of one log file; server names are collected in ctx.options['names']."""
    leases = ctx.options.get("leases")
    if not isinstance(leases, Leases):
        leases = Leases.of_study(ctx.study)
    names: list[pa.Table] = ctx.options.setdefault("names", [])  # type: ignore[assignment]
    resolved: list[pa.Table] = ctx.options.setdefault("resolved", [])  # type: ignore[assignment]
    reader = ZeekReader(path, ctx.problem)
    named_before = sum(t.num_rows for t in names)
    unknown: Counter[str] = Counter()
    batch: list[Record] = []
    for _number, record in reader.records():
        batch.append(record)
        if len(batch) >= CHUNK_RECORDS:
            yield from _rows(reader.log_type or "", batch, leases, unknown, (names, resolved))
            ctx.advance(len(batch))
            batch = []
    if batch:
        yield from _rows(reader.log_type or "", batch, leases, unknown, (names, resolved))
        ctx.advance(len(batch))
    if reader.log_type == "ssl":  # it adds no rows: its server names are what it gives
        ctx.kept += sum(t.num_rows for t in names) - named_before
    if unknown:
        top = ", ".join(f"{pair} ({n})" for pair, n in unknown.most_common(3))
        ctx.problems.append(
            f"{path}: {sum(unknown.values())} {reader.log_type} records between addresses that no device "
            f"lease covers at that time were not loaded: {top}{' ...' if len(unknown) > 3 else ''}")


def _rows(log_type: str, batch: list[Record], leases: Leases, unknown: Counter[str],
          collected: tuple[list[pa.Table], list[pa.Table]]) -> Iterator[tuple[str, pa.Table]]:
    names, resolved = collected
    oriented = tables.orient(batch, leases, unknown)
    if not oriented.records:
        return
    if log_type == "conn":
        yield "flows", tables.conn_rows(oriented)
    elif log_type == "dns":
        rows = tables.dns_rows(oriented)
        resolved.append(tables.resolved_names(oriented, rows))
        yield "dnsreqs", rows
    elif log_type == "http":
        names.append(tables.server_names(oriented, "host", priority=1))
        yield "httpreqs", tables.http_rows(oriented)
    elif log_type == "ssl":
        names.append(tables.server_names(oriented, "server_name", priority=0, protos=(6, 17)))


def import_zeek(study: Study, paths: Iterable[str | os.PathLike[str]], *, strict: bool = False,
                on_progress: Callable[[int], None] | None = None, enrich: bool = True,
                replace: bool = False) -> list[ImportResult]:
    """Import Zeek logs (files or directories); one atomic, idempotent load per file."""
    from ucnstudy.enrich import PENDING, enrich_study

    files = log_files(paths)
    study.create_schema()
    options: dict[str, object] = {"leases": Leases.of_study(study), "names": [], "resolved": []}
    results = ingest(study, KIND, files, parse_zeek, strict=strict, options=options,
                     on_progress=on_progress, pending=(NAMES_TASK, PENDING) if enrich else NAMES_TASK,
                     replace=replace)
    warnings = name_flows(study, options, read={r.path for r in results if not r.skipped})
    if results:
        results[-1].warnings.extend(warnings)
    if enrich and (PENDING in study.pending_tasks() or any(not r.skipped for r in results)):
        enrich_study(study)
    return results


def name_flows(study: Study, collected: dict[str, object] | None = None,
               read: Collection[str] = ()) -> list[str]:
    """The server-name pass, when an import left it pending: names `collected` by parse_zeek
    from the files just `read`, and those of the other ssl/http/dns logs of the imports that
    left the task (an earlier run killed before its pass), re-read from their recorded paths.
    Returns a warning per log that could not be re-read (gone, or changed since its import)."""
    if NAMES_TASK not in study.pending_tasks():
        return []
    options: dict[str, object] = {"names": [], "resolved": [], **(collected or {})}
    options["leases"] = Leases.of_study(study)
    warnings = []
    with study_window(study):
        for path, sha256 in _logs_left_unnamed(study):
            if path in read:
                continue
            if not _unchanged(path, sha256):
                warnings.append(f"{path}: gone or changed since its import, so the server names it "
                                "gave flows could not be restored (the import naming them was stopped)")
                continue
            for _rows in parse_zeek(path, IngestContext(study, path, options=options)):
                pass  # only the names it collects in options
    names = pa.concat_tables([tables.NAME_SCHEMA.empty_table(), *options["names"]])  # type: ignore[misc]
    resolved = pa.concat_tables([tables.RESOLVED_SCHEMA.empty_table(), *options["resolved"]])  # type: ignore[misc]
    apply_server_names(study, names, resolved)
    return warnings


def _logs_left_unnamed(study: Study) -> list[tuple[str, str]]:
    """(path, sha256) of the ssl/http/dns imports recorded since the pass was last done."""
    tasks = study.table("study_tasks")
    since = tasks.filter(tasks.task == NAMES_TASK).since.min().execute()
    imports = study.table("imports")
    found = imports.filter((imports.source_kind == KIND) & (imports.imported_at >= since)) \
        .order_by("id").select("path", "sha256").to_pyarrow().to_pylist()
    # ssl, http and dns logs name flows; a log named otherwise may be one of them (#path)
    return [(r["path"], r["sha256"]) for r in found if log_type_of_name(r["path"]) != "conn"]


def _unchanged(path: str, sha256: str) -> bool:
    return os.path.isfile(path) and sha256 in (content_digest(path), file_digest(path))


__all__ = ["FIELDS", "KIND", "NAMES_TASK", "import_zeek", "log_files", "name_flows", "parse_zeek"]
