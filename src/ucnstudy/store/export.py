"""Export a study as a Parquet study directory: one directory per canonical table.

`DIR/<table>/part-00000.parquet` for every canonical table (empty tables too, so that every
engine sees the full schema), in the canonical Arrow schema: timestamp[us] without time zone
(E16: Spark cannot read nanosecond Parquet) and signed integers only (E15). Rows stream in
batches (bounded memory); from PostgreSQL they leave through COPY (store.fetch). The export
is written next to DIR and renamed into place at the end, so DIR is never half-written.
`spark:DIR` then opens it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ucnstudy import __version__
from ucnstudy.errors import StudyError
from ucnstudy.schema import TABLES, Table
from ucnstudy.store.fetch import to_batches
from ucnstudy.store.study import Study

MANIFEST = "_ucnstudy.json"
ROW_GROUP_ROWS = 1_000_000
Progress = Callable[[str, int], None]  # (table name, rows written so far in that table)


@dataclass
class ExportResult:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def export_study(study: Study, target: str | os.PathLike[str], *, overwrite: bool = False,
                 on_progress: Progress | None = None) -> ExportResult:
    """Write every canonical table of `study` under `target` as Parquet."""
    target = Path(target).expanduser().resolve()
    if target.exists() and not overwrite:
        raise StudyError(f"{target} already exists: choose a new directory or pass --overwrite")
    if target.exists() and not (target.is_dir() and _is_export(target)):
        raise StudyError(f"{target} exists and is not a ucnstudy Parquet study; not replacing it")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    result = ExportResult(target)
    try:
        existing = study.engine.existing_tables()
        for table in TABLES.values():
            if table.name in existing:
                result.rows[table.name] = _export_table(study, table, partial, on_progress)
            else:
                _write_empty(table, partial)
                result.rows[table.name] = 0
        manifest = {"ucnstudy": __version__, "source": study.url.redacted, "rows": result.rows}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return result


def _is_export(path: Path) -> bool:
    return (path / MANIFEST).exists() or not any(path.iterdir())


def _export_table(study: Study, table: Table, root: Path, on_progress: Progress | None) -> int:
    schema = table.arrow_schema()
    expr = study.table(table.name).select(*table.column_names)
    directory = root / table.name
    directory.mkdir()
    rows = 0
    with pq.ParquetWriter(directory / "part-00000.parquet", schema, compression="zstd") as writer:
        for batch in to_batches(expr):
            if batch.num_rows == 0:
                continue
            writer.write_batch(_canonical(batch, schema), row_group_size=ROW_GROUP_ROWS)
            rows += batch.num_rows
            if on_progress:
                on_progress(table.name, rows)
    return rows


def _canonical(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast to the canonical schema (µs timestamps, signed ints); nullability as declared."""
    arrays = [batch.column(i).cast(f.type) for i, f in enumerate(schema)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _write_empty(table: Table, root: Path) -> None:
    directory = root / table.name
    directory.mkdir()
    pq.write_table(table.arrow_schema().empty_table(), directory / "part-00000.parquet")
