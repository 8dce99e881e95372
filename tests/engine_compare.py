"""Helpers of the engine tests: comparing Arrow results value for value, and Spark's presence.

Results are compared through Arrow (engine-notes E18: pandas dtypes differ between engines):
timestamps to the microsecond, floats to 1e-9 relative, every other value exactly, rows in a
deterministic order (sorted on every column) so that engines may return them in any order.
"""

from __future__ import annotations

import math
import os
import shutil
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

REL_TOL = 1e-9
ABS_TOL = 1e-12  # for values that should be exactly 0 but come out as 1e-17 on one engine


def require_spark() -> None:
    """Skip without Java or PySpark, except under CI=true where that is a failure."""
    missing = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "pyspark is not installed (pip install 'ucnstudy[spark]')"
    if missing is None and shutil.which("java") is None:
        missing = "Java is not installed (Spark needs a JRE: apt-get install default-jre-headless)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Spark tests cannot run under CI=true: {missing}")
        pytest.skip(missing)


def as_arrow(result: Any) -> pa.Table:
    """An analysis result (Arrow table or pandas DataFrame) as an Arrow table."""
    if isinstance(result, pa.Table):
        return result
    if isinstance(result, pd.DataFrame):
        return pa.Table.from_pandas(result, preserve_index=False)
    raise TypeError(f"unexpected result type {type(result).__name__}")


def normalise(table: pa.Table) -> pa.Table:
    """Same types for the same values: µs timestamps, 64-bit numbers, no dictionaries."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_timestamp(t):
            t = pa.timestamp("us", t.tz)
        elif pa.types.is_integer(t):
            t = pa.int64()
        elif pa.types.is_floating(t):
            t = pa.float64()
        elif pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields), safe=False)


def _sort_key(row: dict[str, Any]) -> tuple:
    def key(v: Any) -> tuple:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return (1, "")
        if isinstance(v, float):
            return (0, f"{v:.9e}")
        if isinstance(v, list | tuple | dict):
            return (0, repr(v))
        return (0, v)

    return tuple(key(v) for v in row.values())


def sorted_rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(normalise(table).to_pylist(), key=_sort_key)


def assert_same_result(got: pa.Table, want: pa.Table, what: str) -> None:
    """Fail with the first differing row and column unless the results are equal."""
    got_n, want_n = normalise(got), normalise(want)
    assert got_n.column_names == want_n.column_names, f"{what}: columns differ"
    for g, w in zip(got_n.schema, want_n.schema, strict=True):
        assert g.type == w.type, f"{what}: column {g.name} is {g.type}, expected {w.type}"
    assert got_n.num_rows == want_n.num_rows, f"{what}: {got_n.num_rows} rows, expected {want_n.num_rows}"
    for i, (g_row, w_row) in enumerate(zip(sorted_rows(got_n), sorted_rows(want_n), strict=True)):
        for col in want_n.column_names:
            if not values_equal(g_row[col], w_row[col]):
                raise AssertionError(
                    f"{what}: row {i} column {col}: {g_row[col]!r} != expected {w_row[col]!r}\n"
                    f"got row:      {g_row}\nexpected row: {w_row}"
                )


def values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return a == b


