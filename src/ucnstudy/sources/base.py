"""The ingest driver: named stages (digest || parse -> load -> record) behind one function.

A source module provides a parser: a callable that takes a path and an IngestContext and yields
(canonical table name, Arrow table or record batch) pairs, in bounded chunks. It reports
malformed records through `ctx.problem(...)` instead of raising, unless the file as a whole
cannot be read. `ingest` makes each file one atomic, idempotent import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from ucnstudy.errors import InputError, StudyError
from ucnstudy.sources.sniff import looks_like
from ucnstudy.sources.timewindow import study_window
from ucnstudy.store import ImportResult, Study
from ucnstudy.store.background import BackgroundLoad
from ucnstudy.store.digest import BackgroundDigest, file_digest, is_container

Rows = pa.Table | pa.RecordBatch
Parser = Callable[[str, "IngestContext"], Iterable[tuple[str, Rows]]]


@dataclass
class IngestContext:
    """What a parser may need from the study, plus the problem log of the current file."""

    study: Study
    path: str = ""
    strict: bool = False
    options: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    on_progress: Callable[[int], None] | None = None  # called with units done (lines, packets)
    units: int = 0  # records read so far (what the parser reported through advance)
    replacing: tuple[int, ...] = ()  # ids of the imports this one replaces (--replace)
    kept: int = 0  # records used without adding rows (Zeek ssl: server names for flows)

    def problem(self, message: str, *, line: int | None = None, packet: int | None = None) -> None:
        """A malformed record: fatal with --strict, else reported and skipped."""
        err = InputError(self.path, message, line=line, packet=packet)
        if self.strict:
            raise err
        self.problems.append(str(err))

    def advance(self, units: int) -> None:
        self.units += units
        if self.on_progress is not None:
            self.on_progress(units)

    def device_id(self, login: str) -> int:
        """devices.id of a login; a clear error when the study does not know it."""
        if self.study.engine.name == "duckdb":  # the same lookup without Ibis (an import's start)
            _, rows = self.study.engine.read_rows(  # type: ignore[attr-defined]
                "SELECT id FROM devices WHERE login = ?", [login])
            ids = [int(i) for (i,) in rows]
        else:
            devices = self.study.table("devices")
            found = devices.filter(devices.login == login).select("id").execute()
            ids = [int(i) for i in found["id"]]
        if not ids:
            raise StudyError(
                f"unknown device {login!r}: import a manifest (ucn import manifest) that lists it"
            )
        return ids[0]


def ingest(
    study: Study,
    kind: str,
    paths: Iterable[str | os.PathLike[str]],
    parser: Parser,
    *,
    strict: bool = False,
    options: dict[str, object] | None = None,
    on_progress: Callable[[int], None] | None = None,
    after_load: Callable[[Study], None] | None = None,
    pending: str | tuple[str, ...] | None = None,
    replace: bool = False,
) -> list[ImportResult]:
    """Import each file as one atomic, idempotent unit; return what each import did.

    `after_load` runs once after the files (e.g. enrichment). When it is named by `pending`,
    each import records that task (or those tasks) in its own transaction and `after_load`
    deletes it in its own: after a kill in between, the next run of this importer completes it,
    even when every file is then skipped as already imported.
    With `replace`, a file imported before is loaded again: its earlier rows are removed in the
    same transaction.
    """
    tasks = (pending,) if isinstance(pending, str) else tuple(pending or ())
    results = []
    with study_window(study):  # records from before the study began are implausible too
        for path in map(os.fspath, paths):
            ctx = IngestContext(study, path, strict, dict(options or {}), on_progress=on_progress)
            results.append(_import_file(kind, parser, ctx, tasks, replace))
    left = bool(set(tasks) & study.pending_tasks())
    if after_load is not None and (left or any(not r.skipped for r in results)):
        after_load(study)
    return results


def _import_file(kind: str, parser: Parser, ctx: IngestContext, tasks: tuple[str, ...],
                 replace: bool = False) -> ImportResult:
    """One file as one atomic, idempotent import."""
    study, path = ctx.study, ctx.path
    if not os.path.isfile(path):
        raise InputError(path, "no such file")
    digest = BackgroundDigest(path)
    try:
        # a replaced file needs its digest first (its earlier imports are found by it); a path
        # seen before is likely a re-run: know the digest first and skip without parsing; a new
        # path is parsed while the digest is computed (checked at commit)
        if replace:
            sha256: str | Callable[[], str] = digest.result()
            ctx.replacing = tuple(study.imports_of_file(kind, path, sha256))
        elif study.imported_path(kind, path):
            sha256 = _known_digest(study, kind, path, digest)
        else:
            sha256 = digest.result
        with study.load(kind, path, sha256, options=ctx.options, replace=replace) as load:
            if load is not None:
                for task in tasks:
                    load.defer(task)
                with BackgroundLoad(load) as sink:
                    for table_name, rows in parser(path, ctx):
                        sink.append(table_name, rows)
                _check_read(kind, ctx, load.result)
                load.result.warnings.extend(ctx.problems)
    finally:
        digest.cancel()
    return study.last_result


def _check_read(kind: str, ctx: IngestContext, result: ImportResult) -> None:
    """A file from which nothing could be read is an error, not an empty import: recorded, it
    would make the right importer skip it later as already imported."""
    if result.total_rows or ctx.kept or (ctx.units and not ctx.problems):
        return
    what = looks_like(ctx.path)
    reason = f"; first problem: {_unplaced(ctx.problems[0], ctx.path)}" if ctx.problems else ""
    command = str(ctx.options.get("command", f"ucn import {kind}"))
    hint = f"; it looks like {what}" if what and f"({command})" not in what else ""
    raise InputError(ctx.path, f"nothing could be read from it as {kind} input{reason}{hint}")


def _unplaced(problem: str, path: str) -> str:
    """A problem without the file name the error starts with already."""
    return problem.removeprefix(f"{path}, ").removeprefix(f"{path}: ")


def _known_digest(study: Study, kind: str, path: str, digest: BackgroundDigest) -> str:
    """The key of a path imported before: its content digest, or the digest of the container
    as stored when that is how an earlier version recorded it (so it is still skipped)."""
    content = digest.result()
    if not study.is_imported(kind, content) and is_container(path):
        stored = file_digest(path)
        if study.is_imported(kind, stored):
            return stored
    return content


def chunked(rows: Iterator[dict[str, object]], table: str, size: int = 100_000
            ) -> Iterator[tuple[str, pa.Table]]:
    """Group row dicts into Arrow tables of at most `size` rows (bounded memory)."""
    buf: list[dict[str, object]] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= size:
            yield table, pa.Table.from_pylist(buf)
            buf = []
    if buf:
        yield table, pa.Table.from_pylist(buf)
