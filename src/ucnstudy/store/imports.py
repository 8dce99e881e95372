"""The imports table: what was loaded from where, and the rows each import added.

Every row an importer loads carries the `import_id` of its import (schema.TRACED tables), so an
import can be listed, removed or replaced exactly. These helpers run inside an engine
transaction (a `Writer`); values always travel as parameters, identifiers come from the schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from ucnstudy import __version__
from ucnstudy.errors import StudyError
from ucnstudy.schema import IMPORT_ID, TABLES, TRACED
from ucnstudy.store.conform import conform
from ucnstudy.store.engine import Writer, quote


@dataclass(frozen=True)
class ImportRecord:
    """One row of `imports`, decoded (`table_rows` is empty for imports before tracing)."""

    id: int
    kind: str
    path: str | None
    sha256: str
    rows: int
    table_rows: dict[str, int]
    options: dict[str, object]
    parser_version: str | None
    imported_at: datetime | None


def next_import_id(writer: Writer) -> int:
    found = writer.fetchone("SELECT coalesce(max(id), 0) + 1 FROM imports")
    return int(found[0]) if found else 1


def recordable(options: Mapping[str, object] | None) -> dict[str, object]:
    """The options worth recording: JSON scalars (parsers also pass objects such as leases)."""
    return {k: v for k, v in (options or {}).items()
            if v is None or isinstance(v, str | int | float | bool)}


def record_import(writer: Writer, import_id: int, kind: str, path: str | os.PathLike[str],
                  digest: str, table_rows: Mapping[str, int],
                  options: Mapping[str, object] | None = None,
                  imported_at: datetime | None = None) -> None:
    record = pa.table({
        "id": [import_id],
        "source_kind": [kind],
        "path": [os.fspath(path)],
        "sha256": [digest],
        "rows": [sum(table_rows.values())],
        "imported_at": [imported_at or datetime.now(UTC).replace(tzinfo=None)],
        "parser_version": [__version__],
        "options": [json.dumps(recordable(options), sort_keys=True)],
        "table_rows": [json.dumps({t: n for t, n in table_rows.items() if n}, sort_keys=True)],
    })
    writer.append(TABLES["imports"], conform(TABLES["imports"], record))


def imports_of_file(writer: Writer, kind: str, path: str | os.PathLike[str], digest: str) -> list[int]:
    """Ids of this importer's imports of the same path or the same content (what --replace drops)."""
    rows = writer.fetchall(
        "SELECT id FROM imports WHERE source_kind = ? AND (path = ? OR sha256 = ?) ORDER BY id",
        (kind, os.fspath(path), digest))
    return [int(r[0]) for r in rows]


def delete_imports(writer: Writer, ids: Sequence[int], tables: Sequence[str]) -> dict[str, int]:
    """Delete every row of these imports from `tables` and their `imports` rows; rows per table."""
    removed: dict[str, int] = {}
    if not ids:
        return removed
    marks = ", ".join("?" for _ in ids)
    for name in tables:
        n = writer.execute(f"DELETE FROM {quote(name)} WHERE {IMPORT_ID.name} IN ({marks})", tuple(ids))
        if n > 0:
            removed[name] = n
    writer.execute(f"DELETE FROM imports WHERE id IN ({marks})", tuple(ids))
    return removed


def traced_tables(existing: set[str]) -> list[str]:
    return [n for n in TRACED if n in existing]


def check_known(writer: Writer, ids: Sequence[int]) -> None:
    """A clear error naming the ids that are not imports of this study."""
    known = {int(r[0]) for r in writer.fetchall("SELECT id FROM imports")}
    unknown = [str(i) for i in ids if i not in known]
    if unknown:
        raise StudyError(f"no import with id {', '.join(unknown)} in this study; `ucn imports` "
                         "lists them")


def decode(row: Mapping[str, object]) -> ImportRecord:
    def parsed(name: str) -> dict:
        text = row.get(name)
        return json.loads(text) if isinstance(text, str) and text else {}

    return ImportRecord(
        id=int(row["id"]), kind=str(row["source_kind"]), path=row.get("path"),  # type: ignore[arg-type]
        sha256=str(row["sha256"]), rows=int(row.get("rows") or 0),  # type: ignore[call-overload]
        table_rows=parsed("table_rows"), options=parsed("options"),
        parser_version=row.get("parser_version"), imported_at=row.get("imported_at"),  # type: ignore[arg-type]
    )
