"""Study: one handle over a study database, whatever the engine."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Union

from ucnstudy.errors import StudyError
from ucnstudy.lazy import pa
from ucnstudy.schema import IMPORT_ID, TABLES, Table
from ucnstudy.store.digest import content_digest
from ucnstudy.store.guard import check_is_study
from ucnstudy.store.notebook import NotebookMethods
from ucnstudy.store.urls import StudyUrl, parse_url

if TYPE_CHECKING:  # opening a study loads only its engine's driver (`ucn info` answers at once)
    import ibis
    import ibis.expr.types as ir

    from ucnstudy.store.engine import Engine, Writer

Rows = Union["pa.Table", "pa.RecordBatch"]  # names: pyarrow loads when rows are loaded


@dataclass
class ImportResult:
    """What one import did: rows added per table, or that the source was already loaded."""

    kind: str
    path: str
    sha256: str
    rows: dict[str, int] = field(default_factory=dict)
    skipped: bool = False
    warnings: list[str] = field(default_factory=list)
    import_id: int | None = None
    replaced_ids: list[int] = field(default_factory=list)  # imports this one replaced (--replace)
    removed: dict[str, int] = field(default_factory=dict)  # their rows, per table

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class Load:
    """Appends rows to canonical tables inside the import's transaction."""

    def __init__(self, writer: Writer, source: object, result: ImportResult) -> None:
        self._writer, self._source, self.result = writer, source, result
        self.pending: set[str] = set()  # tasks (study_tasks) that commit with these rows

    def defer(self, task: str) -> None:
        """Record, with this import, that `task` (e.g. enrich) must still run on its rows."""
        self.pending.add(task)

    def append(self, table_name: str, data: Rows) -> int:
        table = TABLES[table_name]
        from ucnstudy.store.conform import conform, replace_nul

        rows, nuls = replace_nul(conform(table, data, source=self._source))
        rows = stamp(rows, self.result.import_id)
        for column, n in nuls.items():
            self.warn(f"{self._source}: {n} {table_name}.{column} values held a NUL character, "
                      "stored as U+FFFD (no engine keeps NUL in text alike)")
        self._writer.append(table, rows)
        self.result.rows[table_name] = self.result.rows.get(table_name, 0) + rows.num_rows
        return rows.num_rows

    def extend(self, items: Iterable[tuple[str, Rows]]) -> None:
        for table_name, data in items:
            self.append(table_name, data)

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)


class Loads:
    """Many imports in one transaction (Study.loads). Each `load` is one import, as with
    Study.load: its own `imports` record and import_id, skipped when the same importer loaded
    the same content before. They commit together or not at all: an exception inside any load
    rolls back every one (even if the caller catches it, the batch then refuses to commit)."""

    def __init__(self, study: Study, writer: Writer) -> None:
        from ucnstudy.store import imports

        self._study, self._writer = study, writer
        writer.lock_imports()  # held to the commit, as for one import
        # ids and digests are read once: in one transaction every later one is known here
        self._next_id = imports.next_import_id(writer)
        self._digests: dict[str, set[str]] = {}
        self.failed = False
        self.results: list[ImportResult] = []

    def _seen(self, kind: str) -> set[str]:
        if kind not in self._digests:
            rows = self._writer.fetchall("SELECT sha256 FROM imports WHERE source_kind = ?", (kind,))
            self._digests[kind] = {str(digest) for (digest,) in rows}
        return self._digests[kind]

    @contextmanager
    def load(self, kind: str, path: str | os.PathLike[str], sha256: str, *,
             options: dict[str, object] | None = None) -> Iterator[Load | None]:
        """One import of the batch: a Load to append rows, or None when already imported."""

        result = ImportResult(kind, os.fspath(path), sha256)
        self.results.append(result)
        seen = self._seen(kind)
        if sha256 in seen:
            result.skipped = True
            yield None
            return
        result.import_id, self._next_id = self._next_id, self._next_id + 1
        load = Load(self._writer, path, result)
        try:
            yield load
        except BaseException:
            self.failed = True
            raise
        self._study._record_load(self._writer, load, kind, path, sha256, options)
        seen.add(sha256)


class _AlreadyImported(Exception):
    """Raised inside the transaction to roll back an import found to be a duplicate."""


class Study(NotebookMethods):
    """A study database. Tables are Ibis tables; every load is atomic and idempotent."""

    def __init__(self, url: StudyUrl, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self._tables: dict[str, ir.Table] = {}  # read-only studies: each table's schema read once

    def __repr__(self) -> str:
        return f"Study({self.url.redacted!r}, engine={self.engine.name})"

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def con(self) -> ibis.BaseBackend:
        return self.engine.ibis

    # -- schema -------------------------------------------------------------------------------

    def create_schema(self) -> None:
        """Create every canonical table that does not exist yet (never alters existing ones)."""
        self._writable()
        existing = self.engine.existing_tables()
        self.engine.create_tables([t for t in TABLES.values() if t.name not in existing])
        if not existing & set(TABLES):  # a new study records the schema version it is written with
            from ucnstudy.store.migrate import record_version

            with self.engine.transaction() as writer:
                record_version(writer)

    def reset(self) -> None:
        """Drop every canonical table and create them empty."""
        self._writable()
        self.engine.drop_tables(list(TABLES))
        self.create_schema()

    def has_table(self, name: str) -> bool:
        return name in self.engine.existing_tables()

    def table(self, name: str) -> ir.Table:
        if name not in TABLES:
            raise StudyError(f"unknown table {name!r}; canonical tables are: {', '.join(TABLES)}")
        # Hook (issue 5): an engine over another layout (the original UCN database) presents
        # canonical tables itself.
        adapted = getattr(self.engine, "canonical_table", None)
        if adapted is not None:
            return adapted(name)
        if name in self._tables:
            return self._tables[name]
        try:
            table = self.con.table(name)
        except Exception:
            raise StudyError(
                f"the study {self.url.redacted} has no table {name!r}; run `ucn demo` or an import"
            ) from None
        if self.engine.read_only:  # its tables cannot change under this handle
            self._tables[name] = table
        return table

    def __getattr__(self, name: str) -> ir.Table:
        if name in TABLES:
            return self.table(name)
        raise AttributeError(name)

    # -- loads --------------------------------------------------------------------------------

    def is_imported(self, kind: str, sha256: str) -> bool:
        return self._imports_where(kind, "sha256", sha256)

    def imported_path(self, kind: str, path: str | os.PathLike[str]) -> bool:
        """True when the importer already loaded a file under this path (maybe other content)."""
        return self._imports_where(kind, "path", os.fspath(path))

    def imports_of_file(self, kind: str, path: str | os.PathLike[str], sha256: str) -> list[int]:
        """Ids of this importer's imports of the same path or content (what a replace removes)."""
        if not self.has_table("imports"):
            return []
        if self.engine.name == "duckdb":  # the same filter without Ibis (an import's start)
            _, rows = self.engine.read_rows(  # type: ignore[attr-defined]
                "SELECT id FROM imports WHERE source_kind = ? AND (path = ? OR sha256 = ?)",
                [kind, os.fspath(path), sha256])
            return sorted(int(i) for (i,) in rows)
        t = self.table("imports")
        found = t.filter((t.source_kind == kind) & ((t.path == os.fspath(path)) | (t.sha256 == sha256)))
        return sorted(int(i) for i in found.id.to_pyarrow().to_pylist())

    def _imports_where(self, kind: str, column: str, value: str) -> bool:
        if not self.has_table("imports"):
            return False
        if self.engine.name == "duckdb":  # the same count without Ibis (an import's start)
            assert column in ("sha256", "path")  # an identifier of the schema, never a value
            _, rows = self.engine.read_rows(  # type: ignore[attr-defined]
                f"SELECT count(*) FROM imports WHERE source_kind = ? AND {column} = ?", [kind, value])
            return int(rows[0][0]) > 0
        t = self.table("imports")
        n = t.filter((t.source_kind == kind) & (t[column] == value)).count().execute()
        return int(n) > 0

    @contextmanager
    def load(self, kind: str, path: str | os.PathLike[str],
             sha256: str | Callable[[], str] | None = None, *,
             options: dict[str, object] | None = None, replace: bool = False) -> Iterator[Load | None]:
        """An atomic, idempotent import of one source.

        Yields a Load to append rows, or None when the same content was already imported by
        the same importer. On any exception nothing of this import stays in the study.
        `sha256` may be a callable that returns the digest once the rows are appended (a
        digest computed alongside the parse): the duplicate check then runs before commit and
        a duplicate is rolled back, so the outcome is the same, only later.
        With `replace`, this importer's earlier imports of the same path or content are
        removed in the same transaction (their rows go, the new ones come, or nothing changes).
        """
        from ucnstudy.store import imports

        self._writable()
        self.create_schema()
        if replace and callable(sha256):
            sha256 = sha256()
        deferred = sha256 if callable(sha256) else None
        digest = "" if deferred else (sha256 or content_digest(path))  # type: ignore[operator]
        result = ImportResult(kind, os.fspath(path), digest)
        self.last_result = result
        if not deferred and not replace and self.is_imported(kind, digest):
            result.skipped = True
            yield None
            return
        try:
            with self.engine.transaction() as writer:
                if not deferred and not replace and self._seen(writer, kind, digest):
                    result.skipped = True
                    yield None
                    return
                result.import_id = imports.next_import_id(writer)
                if replace:
                    result.replaced_ids = imports.imports_of_file(writer, kind, path, digest)
                    result.removed = imports.delete_imports(
                        writer, result.replaced_ids, imports.traced_tables(self.engine.existing_tables()))
                load = Load(writer, path, result)
                yield load
                if deferred:
                    result.sha256 = digest = deferred()
                    if self._seen(writer, kind, digest):
                        raise _AlreadyImported
                self._record_load(writer, load, kind, path, digest, options)
        except _AlreadyImported:
            result.skipped = True
            result.import_id = None
            result.rows.clear()

    @contextmanager
    def loads(self) -> Iterator[Loads]:
        """Many atomic, idempotent imports in one transaction (see Loads): for a loader of many
        sources at once (`ucn demo`: one import per device). One transaction of many rows loads
        much faster than one per source, on DuckDB (whole row groups go straight to the file,
        not through the WAL) as on PostgreSQL (one ANALYZE)."""
        self._writable()
        self.create_schema()
        with self.engine.transaction(bulk=True) as writer:
            batch = Loads(self, writer)
            yield batch
            if batch.failed:
                raise StudyError("an import of this batch failed: none of the batch's imports is kept")

    def _record_load(self, writer: Writer, load: Load, kind: str, path: str | os.PathLike[str],
                     digest: str, options: dict[str, object] | None) -> None:
        """The imports record of a finished load and its pending tasks, at one time."""
        from ucnstudy.store import imports

        now = datetime.now(UTC).replace(tzinfo=None)  # the import's time and its tasks'
        imports.record_import(writer, load.result.import_id, kind, path, digest, load.result.rows,
                              options, imported_at=now)
        self._record_pending(writer, kind, load.pending, now)

    @staticmethod
    def _seen(writer: Writer, kind: str, digest: str) -> bool:
        writer.lock_imports()  # held to the commit: a concurrent import of it waits, then skips
        found = writer.fetchone(
            "SELECT count(*) FROM imports WHERE source_kind = ? AND sha256 = ?", (kind, digest)
        )
        return bool(found and found[0])

    @staticmethod
    def _record_pending(writer: Writer, kind: str, tasks: set[str], now: datetime) -> None:
        """Tasks left with the import; `since` is its imported_at (the imports that left a task
        are those imported since its earliest `since`)."""
        from ucnstudy.store.conform import conform

        if tasks:
            rows = pa.table({"task": sorted(tasks), "source_kind": [kind] * len(tasks),
                             "since": [now] * len(tasks)})
            writer.append(TABLES["study_tasks"], conform(TABLES["study_tasks"], rows))

    def pending_tasks(self) -> set[str]:
        """Tasks committed imports left unfinished (a kill between an import and its enrichment)."""
        if "study_tasks" not in self.engine.existing_tables():
            return set()
        _, rows = self.engine.read_rows("SELECT DISTINCT task FROM study_tasks")
        return {str(task) for (task,) in rows}

    def import_rows(self, kind: str, path: str | os.PathLike[str],
                    items: Iterable[tuple[str, Rows]], sha256: str | None = None) -> ImportResult:
        """Load (table, rows) pairs from one source atomically; skip a source seen before."""
        with self.load(kind, path, sha256) as load:
            if load is not None:
                load.extend(items)
        return self.last_result

    # -- inspection ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        existing = self.engine.existing_tables()
        return {n: int(self.table(n).count().execute()) for n in TABLES if n in existing}

    def close(self) -> None:
        self.engine.close()

    def _writable(self) -> None:
        if self.engine.read_only:
            reason = getattr(self.engine, "read_only_reason", None)  # hook (issue 5): Spark, original
            suffix = f": {reason}" if reason else ""
            raise StudyError(f"the study {self.url.redacted} is open read-only{suffix}")


def open_study(url: str | os.PathLike[str] | None = None, *, read_only: bool = False,
               any_version: bool = False) -> Study:
    """Open (or create, for a DuckDB file) the study at `url`; see DESIGN for URL forms.

    A study of another schema version is refused with a clear message (store/migrate.py),
    unless `any_version` (what `ucn upgrade` needs)."""
    parsed = parse_url(url)
    engine: Engine
    if parsed.engine == "duckdb":
        if read_only and parsed.target != ":memory:" and not Path(parsed.target).exists():
            raise StudyError(f"no study at {parsed.target}: run `ucn demo` or an import first")
        from ucnstudy.store.duckdb_engine import DuckDBEngine

        engine = DuckDBEngine(parsed.target, read_only=read_only)
    elif parsed.engine == "postgres":
        from ucnstudy.store.original import adapt_original  # hook (issue 5): original UCN schema
        from ucnstudy.store.postgres_engine import PostgresEngine

        engine = adapt_original(PostgresEngine(parsed.target, read_only=read_only))
    else:
        try:
            from ucnstudy.store.spark_engine import SparkEngine
        except ImportError as exc:
            raise StudyError(
                f"spark: studies need the spark extra (pip install 'ucnstudy[spark]'): {exc}"
            ) from None
        engine = SparkEngine(parsed.target)
    if parsed.engine != "spark":
        try:
            check_is_study(engine, parsed.redacted)
        except StudyError:
            engine.close()
            raise
    study = Study(parsed, engine)
    if not any_version and getattr(engine, "layout", None) != "original":
        from ucnstudy.store.migrate import check_version

        try:
            check_version(study)
        except BaseException:
            study.close()
            raise
    return study


def stamp(rows: pa.Table, import_id: int | None) -> pa.Table:
    """Rows with their import's id in the import_id column (tables that carry one)."""
    at = rows.schema.get_field_index(IMPORT_ID.name)
    if at < 0 or import_id is None:
        return rows
    ids = pa.repeat(pa.scalar(import_id, pa.int64()), rows.num_rows)
    return rows.set_column(at, rows.schema.field(at), ids)

def table_schema(name: str) -> Table:
    return TABLES[name]
