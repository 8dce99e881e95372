"""DuckDB: the embedded default, one .duckdb file (or :memory:)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from typing import TYPE_CHECKING, Any

import duckdb

from ucnstudy.errors import StudyError
from ucnstudy.schema import Table
from ucnstudy.store.engine import READ_QUERY, index_statements, quote

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from ibis.backends.duckdb import Backend

MEMORY_LIMIT_ENV = "UCN_DUCKDB_MEMORY_LIMIT"
DIRECT_ROWS = 100_000  # rows a transaction inserts directly before it stages the rest


class DuckDBWriter:
    """The appends of one transaction. DuckDB keeps the uncommitted rows of many small INSERTs
    in memory (about 600 bytes a row here) but streams one INSERT from a file into the database
    file. So the first DIRECT_ROWS rows are inserted as they come (fast, and enough for most
    files), and beyond that each table's rows are staged in a Parquet file and reach the table
    in one INSERT before anything reads through this writer (a query, `connection`, the commit):
    the memory of an import stays bounded however large the file (docs/inputs/pcap.md, "Speed")."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._direct = 0
        self._stage: tempfile.TemporaryDirectory[str] | None = None
        self._staged: dict[str, tuple[Table, pq.ParquetWriter, str]] = {}

    @property
    def connection(self) -> Any:
        """The transaction's own DuckDB connection (statements on it commit or roll back together)."""
        self.flush()
        return self._raw

    def append(self, table: Table, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        if self._direct + data.num_rows <= DIRECT_ROWS:
            self._direct += data.num_rows
            self._raw.register("_ucn_incoming", data)
            try:
                self._insert(table, "_ucn_incoming")
            finally:
                self._raw.unregister("_ucn_incoming")
            return
        staged = self._staged.get(table.name)
        if staged is None:
            if self._stage is None:
                self._stage = tempfile.TemporaryDirectory(prefix="ucn-stage-")
            path = os.path.join(self._stage.name, f"{table.name}.parquet")
            import pyarrow.parquet as pq

            writer = pq.ParquetWriter(path, data.schema, compression="lz4")
            staged = self._staged[table.name] = (table, writer, path)
        _, writer, _ = staged
        writer.write_table(data if data.schema == writer.schema else data.cast(writer.schema))

    def _insert(self, table: Table, source: str, params: tuple[Any, ...] = ()) -> None:
        cols = ", ".join(map(quote, table.column_names))
        sql = f"INSERT INTO {quote(table.name)} ({cols}) SELECT {cols} FROM {source}"
        self._raw.execute(sql, list(params))

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        self.flush()
        return self._raw.execute(sql, list(params)).fetchone()

    def flush(self) -> None:
        """Insert the staged rows (one INSERT per table)."""
        staged, self._staged = self._staged, {}
        for table, writer, path in staged.values():
            writer.close()
            self._insert(table, "read_parquet(?)", (path,))
            os.remove(path)

    def discard(self) -> None:
        """Drop what is staged (the transaction rolls back)."""
        for _, writer, _ in self._staged.values():
            writer.close()
        self._staged = {}
        if self._stage is not None:
            self._stage.cleanup()
            self._stage = None


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.read_only = read_only
        # DuckDB caches table blocks up to memory_limit (default 80% of RAM); a study run on a
        # shared machine may cap it, e.g. UCN_DUCKDB_MEMORY_LIMIT=1GB
        limit = os.environ.get(MEMORY_LIMIT_ENV)
        config = {"memory_limit": limit} if limit else {}
        try:  # the Ibis backend wraps this connection on first use (Ibis takes 0.3 s to import)
            target = path if path.startswith(":memory:") else os.path.abspath(path)
            self._raw = duckdb.connect(target, read_only=read_only, config=config)
        except duckdb.Error as exc:
            if limit and "memory" in str(exc).lower():
                raise StudyError(f"{MEMORY_LIMIT_ENV}={limit!r} is not a memory size (e.g. 1GB): "
                                 f"{str(exc).strip()}") from None
            raise
        no_progress_bar(self.raw)

    @cached_property
    def ibis(self) -> Backend:
        import ibis

        return ibis.duckdb.from_connection(self._raw)

    @property
    def raw(self) -> Any:
        return self._raw

    def existing_tables(self) -> set[str]:
        return {name for (name,) in self._raw.execute("SHOW TABLES").fetchall()}

    def create_tables(self, tables: list[Table]) -> None:
        for t in tables:
            self.ibis.create_table(t.name, schema=t.ibis_schema())
            for stmt in index_statements(t):
                self.raw.execute(stmt)

    def drop_tables(self, names: list[str]) -> None:
        for name in names:
            self.raw.execute(f"DROP TABLE IF EXISTS {quote(name)}")

    @contextmanager
    def transaction(self) -> Iterator[DuckDBWriter]:
        """A transaction on a connection of its own: the writer may then run on another thread
        while this thread reads the (committed) study through Ibis."""
        cursor = self.raw.cursor()
        writer = DuckDBWriter(cursor)
        try:
            no_progress_bar(cursor)
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield writer
                writer.flush()
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            writer.discard()
            cursor.close()

    def read_sql(self, query: str, params: Any = None) -> Any:
        """One read-only query, checked by DuckDB's own parser; a pandas DataFrame."""
        return self._read(query, params, lambda cursor: cursor.df())

    def read_rows(self, query: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The same as column names and row tuples (no pandas, no pyarrow)."""
        return self._read(query, params, lambda c: ([d[0] for d in c.description], c.fetchall()))

    def _read(self, query: str, params: Any, fetch: Any) -> Any:
        try:
            statements = duckdb.extract_statements(query)
        except duckdb.Error as exc:
            raise StudyError(f"{READ_QUERY}; this one does not parse: {_first_line(exc)}") from None
        kinds = [s.type.name for s in statements]
        if kinds != ["SELECT"]:
            raise StudyError(f"{READ_QUERY}, not {', '.join(kinds) or 'nothing'}")
        cursor = self.raw.cursor()
        try:
            return fetch(cursor.execute(query, params))
        except duckdb.Error as exc:
            raise StudyError(f"the query failed: {_first_line(exc)}") from None
        finally:
            cursor.close()

    def close(self) -> None:
        self._raw.close()  # the Ibis backend, if made, wraps this same connection


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def no_progress_bar(con: Any) -> None:
    """Library code never prints. In Jupyter without ipywidgets DuckDB has the bar off already
    and refuses to set it (InvalidInputException): nothing to do then."""
    with suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
