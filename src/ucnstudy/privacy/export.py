"""The anonymised export: every canonical table, column by column through the policy, streamed.

    key = load_key("study.key")
    export_anonymized(study, "shared/", key)                 # a Parquet study directory
    export_anonymized(study, "shared.duckdb", key, levels("strict"))

Tables stream in record batches (bounded memory: one batch and the per-value caches). Every
table and column must have a rule (policy.py) before anything is written. The key is never
written; the manifest carries its fingerprint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ucnstudy import __version__
from ucnstudy.errors import StudyError
from ucnstudy.privacy.keys import StudyKey
from ucnstudy.privacy.levels import Levels
from ucnstudy.privacy.policy import Rule, policy, rules_for
from ucnstudy.privacy.sinks import DuckDBSink, ParquetSink, Sink
from ucnstudy.privacy.transformer import Transformer
from ucnstudy.schema import TABLES, Table
from ucnstudy.store.export import Progress, _is_export
from ucnstudy.store.fetch import to_arrow, to_batches
from ucnstudy.store.study import Study


@dataclass
class AnonymizedExport:
    path: Path
    manifest: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def export_anonymized(study: Study, target: str | os.PathLike[str], key: StudyKey,
                      levels: Levels | None = None, *, overwrite: bool = False,
                      on_progress: Progress | None = None) -> AnonymizedExport:
    """Write an anonymised copy of `study` to a `.duckdb` file or a Parquet directory."""
    levels = levels or Levels()
    path = _check_target(Path(target).expanduser().resolve(), overwrite)
    chosen = policy(levels)
    rules = {name: rules_for(chosen, name) for name in TABLES}
    tx = Transformer(key, levels)
    existing = study.engine.existing_tables()
    small = {n: to_arrow(study.table(n)) if n in existing else TABLES[n].arrow_schema().empty_table()
             for n in ("users", "devices", "user_devices")}
    tx.learn_people(small["users"], small["devices"])
    if levels.shift != "off":
        tx.learn_owners(small["users"], small["user_devices"])
    sink: Sink = DuckDBSink(path) if path.suffix == ".duckdb" else ParquetSink(path)
    result = AnonymizedExport(path, {})
    try:
        for table in TABLES.values():
            rows = _export_table(study, table, rules[table.name], tx, sink, table.name in existing,
                                 on_progress)
            result.rows[table.name] = rows
        result.manifest = manifest(key, levels, rules, result.rows)
        sink.finish(result.manifest)
    except BaseException:
        sink.abort()
        raise
    return result


def _check_target(path: Path, overwrite: bool) -> Path:
    if path.exists() and not overwrite:
        raise StudyError(f"{path} already exists: choose a new target or pass --overwrite")
    if path.exists() and path.suffix == ".duckdb":
        if not path.is_file():
            raise StudyError(f"{path} exists and is not a DuckDB file; not replacing it")
    elif path.exists() and not (path.is_dir() and _is_export(path)):
        raise StudyError(f"{path} exists and is not a ucnstudy Parquet study; not replacing it")
    return path


def _export_table(study: Study, table: Table, rules: dict[str, Rule], tx: Transformer,
                  sink: Sink, present: bool, on_progress: Progress | None) -> int:
    sink.open_table(table)
    rows = 0
    if present:
        expr = study.table(table.name).select(*table.column_names)
        schema = table.arrow_schema()
        for batch in to_batches(expr):
            if batch.num_rows == 0:
                continue
            sink.write(table, transform(batch, rules, tx, schema))
            rows += batch.num_rows
            if on_progress:
                on_progress(table.name, rows)
    sink.close_table(table)
    return rows


def transform(batch: pa.RecordBatch, rules: dict[str, Rule], tx: Transformer,
              schema: pa.Schema) -> pa.RecordBatch:
    """One batch through its table's rules, in the canonical schema."""
    arrays = []
    for f in schema:
        rule = rules[f.name]
        column = batch.column(f.name) if rule.apply is None else rule.apply(tx, batch, f.name)
        arrays.append(column.cast(f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def manifest(key: StudyKey, levels: Levels, rules: dict[str, dict[str, Rule]],
             rows: dict[str, int]) -> dict[str, Any]:
    """What was kept, transformed or removed, per table and column; the key's fingerprint."""
    return {
        "ucnstudy": __version__,
        "rows": rows,
        "privacy": {
            "anonymized": True,
            "key_fingerprint": key.fingerprint,
            "levels": levels.as_dict(),
            "tables": {t: {c: r.describe() for c, r in cols.items()} for t, cols in rules.items()},
        },
    }
