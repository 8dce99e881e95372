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
from ucnstudy.store import ImportResult, Study
from ucnstudy.store.background import BackgroundLoad
from ucnstudy.store.digest import BackgroundDigest

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
    replacing: tuple[int, ...] = ()  # ids of the imports this one replaces (--replace)

    def problem(self, message: str, *, line: int | None = None, packet: int | None = None) -> None:
        """A malformed record: fatal with --strict, else reported and skipped."""
        err = InputError(self.path, message, line=line, packet=packet)
        if self.strict:
            raise err
        self.problems.append(str(err))

    def advance(self, units: int) -> None:
        if self.on_progress is not None:
            self.on_progress(units)

    def device_id(self, login: str) -> int:
        """devices.id of a login; a clear error when the study does not know it."""
        devices = self.study.table("devices")
        found = devices.filter(devices.login == login).select("id").execute()
        if found.empty:
            raise StudyError(
                f"unknown device {login!r}: import a manifest (ucn import manifest) that lists it"
            )
        return int(found["id"].iloc[0])


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
    replace: bool = False,
) -> list[ImportResult]:
    """Import each file as one atomic, idempotent unit; return what each import did.

    With `replace`, a file imported before is loaded again: its earlier rows are removed in the
    same transaction."""
    results = []
    for path in paths:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise InputError(path, "no such file")
        ctx = IngestContext(study, path, strict, dict(options or {}), on_progress=on_progress)
        digest = BackgroundDigest(path)
        try:
            # a path seen before is likely a re-run: know the digest first and skip without
            # parsing; a new path is parsed while the digest is computed (checked at commit)
            sha256 = digest.result() if study.imported_path(kind, path) else digest.result
            if replace:
                sha256 = digest.result()
                ctx.replacing = tuple(study.imports_of_file(kind, path, sha256))
            with study.load(kind, path, sha256, options=ctx.options, replace=replace) as load:
                if load is not None:
                    with BackgroundLoad(load) as sink:
                        for table_name, rows in parser(path, ctx):
                            sink.append(table_name, rows)
                    load.result.warnings.extend(ctx.problems)
        finally:
            digest.cancel()
        results.append(study.last_result)
    if after_load is not None and any(not r.skipped for r in results):
        after_load(study)
    return results


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
