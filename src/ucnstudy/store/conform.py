"""Bring incoming Arrow data to a canonical table's exact schema, or say precisely why not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from ucnstudy.errors import InputError
from ucnstudy.schema import Table


def conform(table: Table, data: pa.Table | pa.RecordBatch, *, source: object = "<data>") -> pa.Table:
    """Select, order and cast the columns of `data` to `table`'s schema.

    Unknown columns and values that do not fit the column type are errors (naming the column
    and the first offending row, 1-based); missing nullable columns are filled with NULL.
    """
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    target = table.arrow_schema()
    unknown = [n for n in data.column_names if n not in table.column_names]
    if unknown:
        raise InputError(
            source,
            f"unknown column(s) {', '.join(map(repr, unknown))} for table {table.name}; "
            f"expected some of: {', '.join(table.column_names)}",
        )
    columns = []
    for field in target:
        if field.name not in data.column_names:
            if not field.nullable:
                raise InputError(source, f"required column {field.name!r} of {table.name} is missing")
            columns.append(pa.nulls(data.num_rows, field.type))
            continue
        columns.append(_cast_column(data.column(field.name), field, source))
    result = pa.Table.from_arrays(columns, schema=target)
    for field in target:
        if not field.nullable and result.column(field.name).null_count:
            row = _first_true(pc.is_null(result.column(field.name)))
            raise InputError(source, "empty value in a required column", row=row, column=field.name)
    return result


def _cast_column(col: pa.ChunkedArray, field: pa.Field, source: object) -> pa.ChunkedArray:
    if col.type.equals(field.type):
        return col
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        if pa.types.is_timestamp(field.type):
            return _parse_strings(col, field, source, _parse_timestamp)
        if pa.types.is_list(field.type):
            return _parse_strings(col, field, source, _parse_json_list)
    if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(col.type) and col.type.tz:
        col = pc.cast(col, pa.timestamp(col.type.unit, "UTC")).cast(pa.timestamp(col.type.unit))
    try:
        return col.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        row, value = _first_bad(col, field.type)
        detail = f"value {value!r} is not a valid {field.type}" if row else str(exc)
        raise InputError(source, detail, row=row, column=field.name) from None


def _parse_timestamp(text: str) -> datetime:
    """ISO-8601 with or without offset ('Z' too); an aware instant becomes naive UTC."""
    value = datetime.fromisoformat(text.strip())
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _parse_json_list(text: str) -> list[object]:
    value = json.loads(text)
    if not isinstance(value, list):
        raise ValueError("not a JSON array")
    return value


def _parse_strings(col: pa.ChunkedArray, field: pa.Field, source: object, parse) -> pa.ChunkedArray:
    """Parse text cells (CSV) into timestamps or lists, naming the first cell that fails."""
    try:
        return col.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    values = []
    for row, text in enumerate(col.to_pylist(), start=1):
        if text is None or text == "":
            values.append(None)
            continue
        try:
            values.append(parse(text))
        except (ValueError, TypeError):
            raise InputError(source, f"value {text!r} is not a valid {field.type}", row=row,
                             column=field.name) from None
    try:
        return pa.chunked_array([pa.array(values, type=field.type)])
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise InputError(source, f"values do not fit {field.type}: {exc}", column=field.name) from None


def _first_bad(col: pa.ChunkedArray, type_: pa.DataType) -> tuple[int | None, object]:
    """Row (1-based) and value of the first element that does not cast."""
    for i, value in enumerate(col.to_pylist(), start=1):
        if value is None:
            continue
        try:
            pa.array([value], type=col.type).cast(type_, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return i, value
    return None, None


def _first_true(mask: pa.ChunkedArray) -> int:
    for i, v in enumerate(mask.to_pylist(), start=1):
        if v:
            return i
    return 0


NUL = "\x00"
REPLACEMENT = "\ufffd"


def _text_columns(data: pa.Table) -> Iterator[tuple[str, pa.ChunkedArray, bool]]:
    """(name, column, is a list) of every text and list-of-text column."""
    for name, col in zip(data.column_names, data.columns, strict=True):
        if pa.types.is_string(col.type):
            yield name, col, False
        elif pa.types.is_list(col.type) and pa.types.is_string(col.type.value_type):
            yield name, col, True


def first_nul(data: pa.Table) -> tuple[str, int] | None:
    """(column, 1-based row) of the first text value holding a NUL character, if any."""
    for name, col, is_list in _text_columns(data):
        values = pc.list_flatten(col) if is_list else col
        if not pc.any(pc.match_substring(values, NUL)).as_py():
            continue
        for row, value in enumerate(col.to_pylist(), start=1):
            if any(NUL in v for v in (value or []) if v) if is_list else (value and NUL in value):
                return name, row
    return None


def replace_nul(data: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    """NUL characters replaced by U+FFFD, and how many values held one per column: PostgreSQL
    cannot store NUL in text, so every engine stores the same replacement."""
    changed: dict[str, int] = {}
    for name, col, is_list in _text_columns(data):
        values = pc.list_flatten(col) if is_list else col
        hits = pc.sum(pc.match_substring(values, NUL)).as_py() or 0
        if not hits:
            continue
        changed[name] = hits
        index = data.column_names.index(name)
        if is_list:
            fixed = [None if v is None else [s.replace(NUL, REPLACEMENT) if s else s for s in v]
                     for v in col.to_pylist()]
            new = pa.chunked_array([pa.array(fixed, col.type)])
        else:
            new = pc.replace_substring(col, NUL, REPLACEMENT)
        data = data.set_column(index, data.field(index), new)
    return data, changed
