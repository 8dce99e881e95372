"""Results as Arrow, fast on every engine.

Ibis fetches PostgreSQL results row by row (about 20k rows/s, engine-notes §4); here a
PostgreSQL result streams out through `COPY (<compiled Ibis SQL>) TO STDOUT (FORMAT csv)` and
is parsed by pyarrow's CSV reader into the expression's Arrow schema, about 5x faster. Array
columns travel as (cardinality, elements joined by a control character) and are rebuilt as
Arrow lists. Other engines use Ibis's own Arrow path. Analyses and export use these instead
of `expr.to_pyarrow()`:

    table = to_arrow(expr)                   # a pyarrow.Table
    for batch in to_batches(expr): ...       # bounded memory
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ucnstudy.store.engine import quote

BATCH_ROWS = 500_000
_SEP, _NULL = "\x1f", "\x1e"  # element separator and NULL element marker inside array text
_BLOCK = 8 << 20


def _postgres(expr: ir.Expr) -> Any | None:
    """The Ibis PostgreSQL backend that `expr` runs on, or None for other engines."""
    backend = expr._find_backend(use_default=False)
    return backend if backend.name == "postgres" else None


def to_batches(expr: ir.Table, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The rows of `expr` as Arrow record batches in its Arrow schema, streamed."""
    pg = _postgres(expr)
    if pg is not None:
        pg._run_pre_execute_hooks(expr)  # creates the temp tables of ibis.memtable lookups
        yield from copy_batches(pg.con, pg.compile(expr), expr.schema().to_pyarrow())
        return
    yield from expr.to_pyarrow_batches(chunk_size=batch_rows)


def to_arrow(expr: ir.Table) -> pa.Table:
    """The whole result of `expr` as a pyarrow Table (COPY on PostgreSQL)."""
    if _postgres(expr) is None:
        return expr.to_pyarrow()
    schema = expr.schema().to_pyarrow()
    return pa.Table.from_batches(list(to_batches(expr)), schema=schema)


def copy_batches(conn: Any, query: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Stream `query` out of PostgreSQL with COPY ... TO STDOUT and parse it into `schema`."""
    columns, csv_types = _copy_columns(schema)
    outer = f"COPY (SELECT {', '.join(columns)} FROM ({query}) AS q) TO STDOUT (FORMAT csv)"
    with conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SET DateStyle = 'ISO'")
        cur.execute("SET extra_float_digits = 3")
        with cur.copy(outer) as copy:
            stream = _CopyStream(iter(copy))
            if stream.empty():
                return  # pyarrow refuses an empty CSV; an empty result has no batches
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=list(csv_types), block_size=_BLOCK),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types=csv_types, null_values=[""], strings_can_be_null=True,
                    quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"],
                ),
            )
            for batch in reader:
                yield _rebuild(batch, schema)


def _copy_columns(schema: pa.Schema) -> tuple[list[str], dict[str, pa.DataType]]:
    """SELECT items and CSV column types: arrays become a length and a joined text column."""
    columns, types = [], {}
    for i, field in enumerate(schema):
        col = quote(field.name)
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            columns.append(f"cardinality({col}) AS c{i}_n")
            columns.append(f"array_to_string({col}, chr(31), chr(30)) AS c{i}_v")
            types[f"c{i}_n"], types[f"c{i}_v"] = pa.int64(), pa.string()
        else:
            columns.append(f"{col} AS c{i}")
            types[f"c{i}"] = field.type
    return columns, types


def _rebuild(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for i, field in enumerate(schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            arr = _list_column(batch.column(f"c{i}_n"), batch.column(f"c{i}_v"))
        else:
            arr = batch.column(f"c{i}")
        arrays.append(arr.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _list_column(lengths: pa.Array, text: pa.Array) -> pa.Array:
    valid = pc.fill_null(pc.greater(lengths, 0), False)
    parts = pc.split_pattern(pc.filter(text, valid), _SEP)
    values = pc.list_flatten(parts)
    values = pc.if_else(pc.equal(values, _NULL), pa.scalar(None, pa.string()), values)
    counts = lengths.fill_null(0).to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    if offsets[-1] != len(values):
        raise ValueError("an array element contains the COPY separator character (U+001F)")
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pc.is_null(lengths))


class _CopyStream(io.RawIOBase):
    """A readable file over the chunks that psycopg's COPY yields."""

    def __init__(self, chunks: Iterator[Any]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def empty(self) -> bool:
        """True when the COPY produced no data at all (peeks at the first chunk)."""
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return True
            self._pending = memoryview(bytes(chunk))
        return False

    def readinto(self, buffer: Any) -> int:
        """Fill the whole buffer (pyarrow makes one batch per read), short only at the end."""
        view, filled = memoryview(buffer).cast("B"), 0
        while filled < len(view):
            if not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = memoryview(bytes(chunk))
            n = min(len(view) - filled, len(self._pending))
            view[filled:filled + n] = self._pending[:n]
            self._pending = self._pending[n:]
            filled += n
        return filled
