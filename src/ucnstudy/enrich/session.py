"""Set-based rewrites inside the study engine, in one transaction.

Enrichment rewrites derived columns of tables that may hold tens of millions of rows, so it runs
UPDATE statements in the engine instead of moving rows through Python. What differs per engine
(placeholders, temporary tables, bulk transfer) lives here; the statements themselves use SQL
that DuckDB and PostgreSQL share (UPDATE ... FROM, IS DISTINCT FROM, window functions).
Values always travel as parameters or as temporary tables, never formatted into SQL.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv

from ucnstudy.errors import StudyError
from ucnstudy.store import Study
from ucnstudy.store.engine import quote

_PG_TYPES = {pa.string(): "text", pa.int32(): "integer", pa.int64(): "bigint", pa.bool_(): "boolean",
             pa.timestamp("us"): "timestamp(6)", pa.float64(): "double precision"}


class SqlSession(Protocol):
    engine: str  # the engine's name (a statement may have a faster form on one engine)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement with '?' placeholders; the number of rows it changed (or -1)."""
        ...

    def fetch_arrow(self, sql: str, schema: pa.Schema) -> pa.Table: ...

    def put(self, name: str, data: pa.Table) -> None:
        """A temporary table `name` with these rows, dropped when the transaction ends."""
        ...


class DuckDBSession:
    engine = "duckdb"

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._raw.execute("SET enable_progress_bar = false")  # long UPDATEs must not print
        self._temps: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        row = self._raw.execute(sql, list(params)).fetchone()
        return int(row[0]) if row and isinstance(row[0], int) else -1

    def fetch_arrow(self, sql: str, schema: pa.Schema) -> pa.Table:
        return self._raw.execute(sql).to_arrow_table().cast(schema)

    def put(self, name: str, data: pa.Table) -> None:
        view = f"_ucn_incoming_{name}"
        self._raw.register(view, data)
        try:
            self._raw.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT * FROM {quote(view)}")
        finally:
            self._raw.unregister(view)
        self._temps.append(name)

    def drop_temps(self) -> None:
        for name in self._temps:
            self._raw.execute(f"DROP TABLE IF EXISTS {quote(name)}")


class PostgresSession:
    engine = "postgres"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), tuple(params))
            return int(cur.rowcount)

    def fetch_arrow(self, sql: str, schema: pa.Schema) -> pa.Table:
        buf = io.BytesIO()
        with self._conn.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                buf.write(chunk)
        buf.seek(0)
        if not buf.getbuffer().nbytes:
            return schema.empty_table()
        options = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True,
                                       quoted_strings_can_be_null=False)
        read = pacsv.ReadOptions(column_names=schema.names, block_size=1 << 24)
        return pacsv.read_csv(buf, read_options=read, convert_options=options)

    def put(self, name: str, data: pa.Table) -> None:
        from ucnstudy.store.postgres_engine import to_copy_csv

        columns = ", ".join(f"{quote(f.name)} {_PG_TYPES[f.type]}" for f in data.schema)
        self.execute(f"CREATE TEMP TABLE {quote(name)} ({columns}) ON COMMIT DROP")
        if data.num_rows:
            stmt = f"COPY {quote(name)} FROM STDIN (FORMAT csv)"
            with self._conn.cursor() as cur, cur.copy(stmt) as copy:
                for batch in data.to_batches(max_chunksize=200_000):
                    copy.write(to_copy_csv(pa.Table.from_batches([batch], schema=data.schema)))
        self.execute(f"ANALYZE {quote(name)}")


@contextmanager
def transaction(study: Study) -> Iterator[SqlSession]:
    """One engine transaction: every statement commits together or not at all."""
    engine = study.engine
    if engine.name not in ("duckdb", "postgres"):
        raise StudyError(
            f"enrichment rewrites tables in place, which {engine.name} studies cannot do: enrich the "
            "DuckDB or PostgreSQL study before exporting it"
        )
    with engine.transaction() as writer:
        if engine.name == "duckdb":
            session = DuckDBSession(writer.connection)  # type: ignore[attr-defined]
            yield session
            session.drop_temps()
        else:
            yield PostgresSession(engine.raw)  # type: ignore[attr-defined]
