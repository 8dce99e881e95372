"""What every engine provides: an Ibis backend, DDL, and transactional bulk writes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa
    from ibis.backends import BaseBackend

    from ucnstudy.schema import Table

from ucnstudy.errors import StudyError
from ucnstudy.schema import TIME_COLUMNS


class Writer(Protocol):
    """Writes inside one transaction; nothing is visible to others until it commits."""

    def append(self, table: Table, data: pa.Table) -> None: ...

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        """Run a query with '?' placeholders (values are never formatted into SQL)."""
        ...

    def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run a statement (DELETE, UPDATE, DDL) in the transaction; rows changed, or -1."""

    def lock_imports(self) -> None:
        """Serialise imports from here to the commit (a duplicate check, then its record)."""
        ...


class Engine(Protocol):
    name: str
    read_only: bool

    @property
    def ibis(self) -> BaseBackend: ...

    def existing_tables(self) -> set[str]: ...

    def create_tables(self, tables: list[Table]) -> None: ...

    def drop_tables(self, names: list[str]) -> None: ...

    def transaction(self, *, bulk: bool = False) -> AbstractContextManager[Writer]:
        """`bulk`: many appends follow (Study.loads); an engine may gather them into fewer
        statements (its queries still see every row appended before them)."""
        ...

    def close(self) -> None: ...


READ_QUERY = "study.sql runs one read-only query (SELECT, WITH ... SELECT, VALUES)"


def check_read_query(query: str, dialect: str) -> None:
    """Raise StudyError unless `query` parses (sqlglot) as exactly one query statement."""
    import sqlglot
    from sqlglot import exp

    from ucnstudy.errors import StudyError

    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise StudyError(f"{READ_QUERY}; this one does not parse: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise StudyError(f"{READ_QUERY}, not {', '.join(type(s).__name__ for s in statements) or 'nothing'}")


LOCK_TIMEOUT_ENV = "UCN_LOCK_TIMEOUT"  # seconds to wait for a study another process writes
LOCK_TIMEOUT_S = 5.0


def lock_timeout_s() -> float:
    text = os.environ.get(LOCK_TIMEOUT_ENV, "")
    try:
        return max(float(text), 0.0) if text else LOCK_TIMEOUT_S
    except ValueError:
        raise StudyError(f"{LOCK_TIMEOUT_ENV}={text!r} is not a number of seconds") from None


def quote(identifier: str) -> str:
    """Quote an identifier that comes from the canonical schema (never from user values)."""
    return '"' + identifier.replace('"', '""') + '"'


def index_statements(table: Table, engine_name: str) -> Iterator[str]:
    """The schema's indexes of the table as this engine keeps them. DuckDB: on the small lookup
    tables only (users, devices, addresses, imports); its event tables (schema.TIME_COLUMNS) are
    read by scans that skip row groups by their min/max (zone maps), never through an ART
    index, while every insert maintains one and every commit writes it (docs/performance.md).
    PostgreSQL: every B-tree index of the schema."""
    if engine_name == "duckdb" and table.name in TIME_COLUMNS:
        return
    for cols in table.indexes:
        name = quote(f"ix_{table.name}_{'_'.join(cols)}")
        yield (
            f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table.name)} "
            f"({', '.join(map(quote, cols))})"
        )
