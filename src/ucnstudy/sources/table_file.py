"""Rows of a canonical table from CSV or Parquet, type-checked against the schema.

CSV cells are read as text and parsed per column type: ISO-8601 timestamps (an offset or 'Z'
converts to UTC), booleans true/false/1/0, JSON arrays for list columns, empty = NULL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ucnstudy.errors import InputError
from ucnstudy.schema import Table, table
from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.csv_position import csv_header, locate_csv_error
from ucnstudy.sources.timewindow import TimeWindow, time_window
from ucnstudy.store.conform import conform, first_nul

BATCH_ROWS = 100_000
# tables whose times define the study or its leases (a lease may predate it), not records in it
ABOUT_THE_STUDY = ("users", "device_addresses", "imports", "study_tasks")
BLOCK_BYTES = 1 << 22  # Arrow's CSV block: a record must fit in one


def table_parser(table_name: str):
    """A parser (see sources.base) for files holding rows of `table_name`."""
    target = table(table_name)
    records = table_name not in ABOUT_THE_STUDY  # their times are checked against the study's

    def parse(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
        offset = 0
        window = time_window(of_study=records)
        for batch in _batches(path, target):
            try:
                rows = conform(target, batch, source=path)
            except InputError as exc:
                row = exc.row + offset if exc.row is not None else None
                raise InputError(path, exc.problem, row=row, column=exc.column) from None
            if (nul := first_nul(rows)) is not None:
                raise InputError(path, "a NUL character (U+0000) in the cell; no study engine "
                                 "stores it alike", row=nul[1] + offset, column=nul[0])
            if (late := first_outside(rows, window)) is not None:
                column, row, ts = late
                raise InputError(path, window.outside(ts), row=row + offset, column=column)
            offset += batch.num_rows
            ctx.advance(batch.num_rows)
            yield table_name, rows

    return parse


def first_outside(rows: pa.Table, window: TimeWindow) -> tuple[str, int, datetime] | None:
    """(column, 1-based row, value) of the first timestamp outside the plausible window."""
    lo, hi = (pa.scalar(t, pa.timestamp("us")) for t in (window.lo, window.hi))
    for field in rows.schema:
        if not pa.types.is_timestamp(field.type):
            continue
        col = rows.column(field.name)
        bad = pc.or_kleene(pc.less(col, lo), pc.greater(col, hi))
        if pc.any(bad).as_py():
            row = next(i for i, b in enumerate(bad.to_pylist()) if b)
            return field.name, row + 1, col[row].as_py()
    return None


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
    delimiter = "\t" if suffix.endswith(".tsv") else ","
    header = csv_header(path, delimiter)
    unknown = [c for c in header if c not in target.column_names]
    if unknown:
        raise InputError(path, f"unknown column(s) {', '.join(map(repr, unknown))} for table "
                         f"{target.name}; expected some of: {', '.join(target.column_names)}", line=1)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                   strings_can_be_null=True, quoted_strings_can_be_null=False)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    read = pacsv.ReadOptions(block_size=BLOCK_BYTES)
    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        yield from reader
    except (pa.ArrowInvalid, EOFError, OSError) as exc:
        located = locate_csv_error(path, delimiter, header, BLOCK_BYTES // 2)
        raise located or InputError(path, f"malformed CSV: {exc}") from None
