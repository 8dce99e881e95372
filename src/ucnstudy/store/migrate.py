"""Schema versions: which schema a study was written with, and `upgrade` to the current one.

A study records its version in `schema_versions` (one row per creation or upgrade); a study
with canonical tables but no record is version 1 (written before versions were recorded).
Opening an older study says so and asks for `ucn upgrade`; opening a newer one is refused.

`upgrade` is one transaction (DDL is transactional on DuckDB and PostgreSQL, so a killed
upgrade leaves the old study intact). It runs a generic, additive step — create every missing
canonical table, add every missing canonical column, NULL-filled — then the data step of each
migration newer than the study, in order, then records the new version. A change to the schema
appends a Migration (and bumps schema.SCHEMA_VERSION); most need no data step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ucnstudy import __version__
from ucnstudy.errors import StudyError
from ucnstudy.schema import SCHEMA_VERSION, TABLES, Column, Table
from ucnstudy.store.engine import Writer, index_statements, quote

if TYPE_CHECKING:  # the study module imports this one
    from ucnstudy.store.study import Study



def engine_types(engine_name: str) -> type:
    """Ibis's SQL type printer of the engine (loaded only when a study is upgraded)."""
    from ibis.backends.sql.datatypes import DuckDBType, PostgresType

    return {"duckdb": DuckDBType, "postgres": PostgresType}[engine_name]


@dataclass(frozen=True)
class Migration:
    version: int  # the version this migration brings a study to
    what: str
    data: Callable[[Writer], None] | None = None  # runs after the additive step


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "import tracing: import_id on every loaded table, imports.options and "
                 "imports.table_rows; the schema_versions table"),
)


@dataclass
class Upgrade:
    from_version: int
    to_version: int
    tables: list[str] = field(default_factory=list)  # tables created
    columns: list[str] = field(default_factory=list)  # table.column added


def study_version(study: Study) -> int | None:
    """The schema version of the study; None for an empty study (no canonical table yet)."""
    existing = study.engine.existing_tables()
    if "schema_versions" in existing:
        _, rows = study.engine.read_rows("SELECT max(version) FROM schema_versions")  # no Ibis
        found = rows[0][0] if rows else None
        if found is not None:
            return int(found)
    return 1 if existing & set(TABLES) else None


def check_version(study: Study) -> None:
    """A clear error for a study of another schema version (see the module doc)."""
    version = study_version(study)
    if version is None or version == SCHEMA_VERSION:
        return
    url = study.url.redacted
    if version > SCHEMA_VERSION:
        raise StudyError(
            f"the study {url} was written with schema version {version}, newer than this "
            f"ucnstudy {__version__} knows ({SCHEMA_VERSION}): upgrade ucnstudy to open it")
    hint = ("upgrade the DuckDB or PostgreSQL study it was exported from (`ucn upgrade`) and "
            "export it again" if study.engine.name == "spark" else "run `ucn upgrade` to migrate it in place")
    raise StudyError(f"the study {url} has schema version {version}, older than this "
                     f"ucnstudy's ({SCHEMA_VERSION}): {hint}")


def record_version(writer: Writer, version: int = SCHEMA_VERSION) -> None:
    writer.execute("INSERT INTO schema_versions (version, applied_at, ucnstudy_version) VALUES (?, ?, ?)",
                   (version, datetime.now(UTC).replace(tzinfo=None), __version__))


def upgrade(study: Study) -> Upgrade:
    """Bring the study to SCHEMA_VERSION in place, in one transaction (see the module doc)."""
    study._writable()
    engine = study.engine
    version = study_version(study)
    if version is None:
        raise StudyError(f"no study at {study.url.redacted} to upgrade: run `ucn demo` or an import")
    if version > SCHEMA_VERSION:
        check_version(study)
    result = Upgrade(version, SCHEMA_VERSION)
    if version == SCHEMA_VERSION:
        return result
    with engine.transaction() as writer:
        _additive(writer, engine.name, result)
        for migration in MIGRATIONS:
            if migration.version > version and migration.data is not None:
                migration.data(writer)
        record_version(writer)
    return result


def _additive(writer: Writer, engine_name: str, result: Upgrade) -> None:
    """Create every missing canonical table and add every missing column (NULL-filled)."""
    types = engine_types(engine_name)
    existing = _columns(writer)
    for table in TABLES.values():
        if table.name not in existing:
            writer.execute(create_table_sql(table, types))
            result.tables.append(table.name)
            for stmt in index_statements(table, engine_name):
                writer.execute(stmt)
            continue
        for column in table.columns:
            if column.name not in existing[table.name]:
                added = _column_sql(column, types, not_null=False)
                writer.execute(f"ALTER TABLE {quote(table.name)} ADD COLUMN {added}")
                result.columns.append(f"{table.name}.{column.name}")


def _columns(writer: Writer) -> dict[str, set[str]]:
    rows = writer.fetchall("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = current_schema()")
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), set()).add(str(column))
    return found


def _column_sql(column: Column, types: type, not_null: bool = True) -> str:
    sql_type = types.to_string(column.dtype.copy(nullable=True))
    return f"{quote(column.name)} {sql_type}{' NOT NULL' if not_null and not column.nullable else ''}"


def create_table_sql(table: Table, types: type) -> str:
    columns = ", ".join(_column_sql(c, types) for c in table.columns)
    return f"CREATE TABLE {quote(table.name)} ({columns})"
