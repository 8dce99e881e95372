"""What every engine provides: an Ibis backend, DDL, and transactional bulk writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import pyarrow as pa
from ibis.backends import BaseBackend

from ucnstudy.schema import Table


class Writer(Protocol):
    """Writes inside one transaction; nothing is visible to others until it commits."""

    def append(self, table: Table, data: pa.Table) -> None: ...

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        """Run a query with '?' placeholders (values are never formatted into SQL)."""
        ...

    def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run a statement (DELETE, UPDATE, DDL) in the transaction; rows changed, or -1."""
        ...


class Engine(Protocol):
    name: str
    read_only: bool

    @property
    def ibis(self) -> BaseBackend: ...

    def existing_tables(self) -> set[str]: ...

    def create_tables(self, tables: list[Table]) -> None: ...

    def drop_tables(self, names: list[str]) -> None: ...

    def transaction(self) -> AbstractContextManager[Writer]: ...

    def close(self) -> None: ...


def quote(identifier: str) -> str:
    """Quote an identifier that comes from the canonical schema (never from user values)."""
    return '"' + identifier.replace('"', '""') + '"'


def index_statements(table: Table) -> Iterator[str]:
    for cols in table.indexes:
        name = quote(f"ix_{table.name}_{'_'.join(cols)}")
        yield (
            f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table.name)} "
            f"({', '.join(map(quote, cols))})"
        )
