"""Where an anonymised export goes: a Parquet study directory or a DuckDB study file.

Both are written under a temporary name next to the target and renamed into place when
complete, so the target is never half-written. The manifest travels inside: `_ucnstudy.json`
(key "privacy") in a directory, table `_ucnstudy_manifest` (one JSON text) in a DuckDB file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from ucnstudy.privacy.manifest import MANIFEST_TABLE
from ucnstudy.schema import TABLES, Table
from ucnstudy.store.engine import index_statements
from ucnstudy.store.export import MANIFEST, ROW_GROUP_ROWS


class Sink(Protocol):
    partial: Path

    def open_table(self, table: Table) -> None: ...

    def write(self, table: Table, batch: pa.RecordBatch) -> None: ...

    def close_table(self, table: Table) -> None: ...

    def finish(self, manifest: dict[str, Any]) -> None: ...

    def abort(self) -> None: ...


def partial_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


class ParquetSink:
    def __init__(self, target: Path) -> None:
        self.target, self.partial = target, partial_name(target)
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir(parents=True)
        self._writer: pq.ParquetWriter | None = None

    def open_table(self, table: Table) -> None:
        directory = self.partial / table.name
        directory.mkdir()
        self._writer = pq.ParquetWriter(directory / "part-00000.parquet", table.arrow_schema(),
                                        compression="zstd")

    def write(self, table: Table, batch: pa.RecordBatch) -> None:
        assert self._writer is not None
        self._writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)

    def close_table(self, table: Table) -> None:
        if self._writer is not None:
            self._writer.close()  # an empty table still gets its file and schema
            self._writer = None

    def finish(self, manifest: dict[str, Any]) -> None:
        (self.partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if self.target.exists():
            shutil.rmtree(self.target)
        self.partial.rename(self.target)

    def abort(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        shutil.rmtree(self.partial, ignore_errors=True)


class DuckDBSink:
    """A new DuckDB study file with the canonical tables (and indexes) and the manifest."""

    def __init__(self, target: Path) -> None:
        from ucnstudy.store.study import open_study

        self.target = target
        self.partial = Path(f"{partial_name(target)}.duckdb")
        self._remove(self.partial)
        self.study = open_study(self.partial)
        for table in TABLES.values():  # indexes after the rows: one bulk build, not per insert
            self.study.con.create_table(table.name, schema=table.ibis_schema())
        self._tx: Any = None
        self._writer: Any = None

    def open_table(self, table: Table) -> None:
        self._tx = self.study.engine.transaction()
        self._writer = self._tx.__enter__()

    def write(self, table: Table, batch: pa.RecordBatch) -> None:
        self._writer.append(table, pa.Table.from_batches([batch]))

    def close_table(self, table: Table) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.__exit__(None, None, None)

    def finish(self, manifest: dict[str, Any]) -> None:
        raw = self.study.engine.raw
        for table in TABLES.values():
            for statement in index_statements(table, self.study.engine.name):
                raw.execute(statement)
        raw.execute(f'CREATE TABLE "{MANIFEST_TABLE}" (manifest VARCHAR)')
        raw.execute(f'INSERT INTO "{MANIFEST_TABLE}" VALUES (?)', [json.dumps(manifest)])
        raw.execute("CHECKPOINT")
        self.study.close()
        if self.target.exists():
            self.target.unlink()
        self.partial.rename(self.target)

    def abort(self) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            with contextlib.suppress(Exception):
                tx.__exit__(RuntimeError, RuntimeError("export aborted"), None)
        self.study.close()
        self._remove(self.partial)

    @staticmethod
    def _remove(path: Path) -> None:
        for p in (path, Path(f"{path}.wal")):
            if p.exists():
                p.unlink()
