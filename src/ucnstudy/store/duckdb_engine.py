"""DuckDB: the embedded default, one .duckdb file (or :memory:)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend

from ucnstudy.schema import Table
from ucnstudy.store.engine import index_statements, quote


class DuckDBWriter:
    def __init__(self, raw: Any) -> None:
        self._raw = raw

    @property
    def connection(self) -> Any:
        """The transaction's own DuckDB connection (statements on it commit or roll back together)."""
        return self._raw

    def append(self, table: Table, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        cols = ", ".join(map(quote, table.column_names))
        self._raw.register("_ucn_incoming", data)
        try:
            self._raw.execute(
                f"INSERT INTO {quote(table.name)} ({cols}) SELECT {cols} FROM _ucn_incoming"
            )
        finally:
            self._raw.unregister("_ucn_incoming")

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        return self._raw.execute(sql, list(params)).fetchone()


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self._con: Backend = ibis.duckdb.connect(path, read_only=read_only)
        self.raw.execute("SET enable_progress_bar = false")  # library code never prints

    @property
    def ibis(self) -> Backend:
        return self._con

    @property
    def raw(self) -> Any:
        return self._con.con

    def existing_tables(self) -> set[str]:
        return set(self._con.list_tables())

    def create_tables(self, tables: list[Table]) -> None:
        for t in tables:
            self._con.create_table(t.name, schema=t.ibis_schema())
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
        try:
            cursor.execute("SET enable_progress_bar = false")
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield DuckDBWriter(cursor)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            cursor.close()

    def close(self) -> None:
        self._con.disconnect()
