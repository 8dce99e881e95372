"""PostgreSQL: a shared study database. Bulk loads go through COPY inside one transaction."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ibis
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from ibis.backends.postgres import Backend
from psycopg import sql

from ucnstudy.errors import StudyError
from ucnstudy.schema import Table
from ucnstudy.store.engine import LOCK_TIMEOUT_ENV, READ_QUERY, index_statements, lock_timeout_s, quote


def _pg_array_literal(values: list[Any] | None) -> str | None:
    """One list value as a PostgreSQL array literal, every element quoted and escaped."""
    if values is None:
        return None
    items = []
    for v in values:
        if v is None:
            items.append("NULL")
        else:
            text = str(v).replace("\\", "\\\\").replace('"', '\\"')
            items.append(f'"{text}"')
    return "{" + ",".join(items) + "}"


def to_copy_csv(data: pa.Table) -> bytes:
    """Arrow rows as CSV for COPY ... (FORMAT csv): lists become array literals."""
    columns = []
    for col in data.columns:
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            col = pa.array([_pg_array_literal(v) for v in col.to_pylist()], type=pa.string())
        columns.append(col)
    table = pa.Table.from_arrays(columns, names=data.column_names)
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
    return buf.getvalue()


class PostgresWriter:
    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def append(self, table: Table, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, data.column_names))
        )
        with self._conn.cursor() as cur, cur.copy(stmt) as copy:
            for batch in data.to_batches(max_chunksize=200_000):
                copy.write(to_copy_csv(pa.Table.from_batches([batch])))

    def lock_imports(self) -> None:
        """Two imports of the same content at once would both pass the duplicate check: the
        check takes a lock on `imports` that only one transaction holds (readers are not held
        up), waited for at most UCN_LOCK_TIMEOUT seconds."""
        timeout = f"{max(int(lock_timeout_s() * 1000), 1)}ms"
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT set_config('lock_timeout', %s, true)", (timeout,))
                cur.execute("LOCK TABLE imports IN SHARE ROW EXCLUSIVE MODE")
        except psycopg.errors.LockNotAvailable:
            raise StudyError(
                f"another import is writing this study (waited {lock_timeout_s():g} s): wait for "
                f"it to finish, or set {LOCK_TIMEOUT_ENV} to wait longer") from None

    def fetchone(self, query: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._conn.cursor() as cur:
            cur.execute(query.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cur.fetchone()

    def fetchall(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cur:
            cur.execute(query.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cur.fetchall()

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> int:
        with self._conn.cursor() as cur:
            cur.execute(query.replace("?", "%s"), params)  # type: ignore[arg-type]
            return int(cur.rowcount)


class PostgresEngine:
    name = "postgres"

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.read_only = read_only
        try:
            self._conn = psycopg.connect(url, autocommit=True)
            self._con: Backend = ibis.connect(url.replace("postgresql://", "postgres://", 1))
        except (psycopg.Error, Exception) as exc:  # libpq errors never contain the password
            raise StudyError(f"cannot connect to the PostgreSQL study: {_first_line(exc)}") from None
        if self._conn.info.server_version >= 140000:
            # a client killed mid-statement (kill -9 during an enrichment UPDATE) is noticed within
            # seconds and its statement cancelled, instead of running on for minutes holding locks
            self._conn.execute("SET client_connection_check_interval = '2s'")
        if read_only:
            # Only the write connection is made read-only: Ibis registers ibis.memtable lookups
            # (local-time offsets, heatmap bins) as session-private temp tables, and PostgreSQL
            # refuses even CREATE TEMP TABLE in a read-only transaction (issue 5).
            self._conn.execute("SET default_transaction_read_only = on")

    @property
    def ibis(self) -> Backend:
        return self._con

    @property
    def raw(self) -> psycopg.Connection:
        return self._conn

    def existing_tables(self) -> set[str]:
        rows = self._conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        return {r[0] for r in rows}

    def create_tables(self, tables: list[Table]) -> None:
        for t in tables:
            self._con.create_table(t.name, schema=t.ibis_schema())
            for stmt in index_statements(t, self.name):
                self._conn.execute(stmt)  # type: ignore[arg-type]

    def drop_tables(self, names: list[str]) -> None:
        for name in names:
            self._conn.execute(f"DROP TABLE IF EXISTS {quote(name)}")  # type: ignore[arg-type]

    @contextmanager
    def transaction(self, *, bulk: bool = False) -> Iterator[PostgresWriter]:
        """`bulk` (many appends) changes nothing here: every append is already one COPY."""
        with self._conn.transaction():
            yield PostgresWriter(self._conn)
        self._conn.execute("ANALYZE")

    def read_sql(self, query: str, params: Any = None) -> Any:
        """One query in a READ ONLY transaction (PostgreSQL refuses any write); a DataFrame."""
        import pandas as pd

        columns, rows = self.read_rows(query, params)
        return pd.DataFrame.from_records(rows, columns=columns)

    def read_rows(self, query: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The same as column names and row tuples."""
        try:
            with self._conn.transaction():
                self._conn.execute("SET TRANSACTION READ ONLY")
                cursor = self._conn.execute(query, params)  # type: ignore[arg-type]
                if cursor.description is None:
                    raise StudyError(f"{READ_QUERY}: this statement returns no rows")
                rows, columns = cursor.fetchall(), [d.name for d in cursor.description]
        except psycopg.Error as exc:
            raise StudyError(f"the query failed: {_first_line(exc)}") from None
        return columns, rows

    def close(self) -> None:
        self._con.disconnect()
        self._conn.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
