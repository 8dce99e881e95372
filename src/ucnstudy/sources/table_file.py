"""Rows of a canonical table from CSV or Parquet, type-checked against the schema.

CSV cells are read as text and parsed per column type: ISO-8601 timestamps (an offset or 'Z'
converts to UTC), booleans true/false/1/0, JSON arrays for list columns, empty = NULL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ucnstudy.errors import InputError
from ucnstudy.schema import Table, table
from ucnstudy.sources.base import IngestContext
from ucnstudy.store.conform import conform

BATCH_ROWS = 100_000


def table_parser(table_name: str):
    """A parser (see sources.base) for files holding rows of `table_name`."""
    target = table(table_name)

    def parse(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
        offset = 0
        for batch in _batches(path, target):
            try:
                rows = conform(target, batch, source=path)
            except InputError as exc:
                row = exc.row + offset if exc.row is not None else None
                raise InputError(path, exc.problem, row=row, column=exc.column) from None
            offset += batch.num_rows
            ctx.advance(batch.num_rows)
            yield table_name, rows

    return parse


def _batches(path: str, target: Table) -> Iterator[pa.RecordBatch]:
    suffix = "".join(Path(path).suffixes[-2:]).lower()
    if suffix.endswith(".parquet") or suffix.endswith(".pq"):
        try:
            yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(path, f"not a readable Parquet file: {exc}") from None
        return
    if not (suffix.endswith(".csv") or suffix.endswith(".csv.gz") or suffix.endswith(".tsv")):
        raise InputError(path, "unknown file type: use .csv, .csv.gz, .tsv or .parquet")
    header = _csv_header(path)
    unknown = [c for c in header if c not in target.column_names]
    if unknown:
        raise InputError(path, f"unknown column(s) {', '.join(map(repr, unknown))} for table "
                         f"{target.name}; expected some of: {', '.join(target.column_names)}", line=1)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                   strings_can_be_null=True, quoted_strings_can_be_null=False)
    parse = pacsv.ParseOptions(delimiter="\t" if suffix.endswith(".tsv") else ",")
    read = pacsv.ReadOptions(block_size=1 << 22)
    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        yield from reader
    except pa.ArrowInvalid as exc:
        raise InputError(path, f"malformed CSV: {exc}") from None


def _csv_header(path: str) -> list[str]:
    try:
        reader = pacsv.open_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={}, include_columns=[]))
        return reader.schema.names
    except pa.ArrowInvalid as exc:
        raise InputError(path, f"malformed CSV header: {exc}", line=1) from None
