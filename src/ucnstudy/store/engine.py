"""What every engine provides: an Ibis backend, DDL, and transactional bulk writes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import pyarrow as pa
from ibis.backends import BaseBackend

from ucnstudy.errors import StudyError
from ucnstudy.schema import Table


class Writer(Protocol):
    """Writes inside one transaction; nothing is visible to others until it commits."""

    def append(self, table: Table, data: pa.Table) -> None: ...

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        """Run a query with '?' placeholders (values are never formatted into SQL)."""
        ...

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

    def transaction(self) -> AbstractContextManager[Writer]: ...

    def close(self) -> None: ...


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


def index_statements(table: Table) -> Iterator[str]:
    for cols in table.indexes:
        name = quote(f"ix_{table.name}_{'_'.join(cols)}")
        yield (
            f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table.name)} "
            f"({', '.join(map(quote, cols))})"
        )
