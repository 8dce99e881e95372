"""Small helpers shared by analyses: portable durations and client-side formatting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ucnstudy.lazy import pd

if TYPE_CHECKING:
    from collections.abc import Callable

    import ibis.expr.types as ir
    import pyarrow as pa

    from ucnstudy.store import Study

US_PER_S = 1_000_000
TS = "timestamp(6)"  # an Ibis dtype, nullable; window results of NOT NULL columns need the cast


def micros(seconds: float) -> int:
    """A threshold in seconds as whole microseconds (durations are compared in µs)."""
    return round(seconds * US_PER_S)


def elapsed_us(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue:
    """later - earlier in microseconds: the one timestamp difference identical on every engine."""
    return later.delta(earlier, unit="microsecond")


def us_to_s(us: ir.NumericValue) -> ir.FloatingValue:
    return us.cast("float64") / US_PER_S


def iso_utc(values: pd.Series) -> pd.Series:
    """Naive UTC timestamps as ISO-8601 strings with microseconds and a Z (None stays None)."""
    stamps = pd.to_datetime(values)
    out = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return out.where(stamps.notna(), None).astype(object)


def frame(expr: ir.Table) -> pd.DataFrame:
    """Execute through Arrow (identical schemas on every engine; COPY on PostgreSQL), then to pandas."""
    from ucnstudy.store.fetch import to_arrow

    table = to_arrow(expr)
    return table.to_pandas(types_mapper=None, timestamp_as_object=False)


def query_arrow(study: Study, build: Callable[..., ir.Table], *args: object) -> pa.Table:
    """`build(study, *args)` executed as Arrow, its compiled SQL cached (store/sqlcache.py)."""
    from ucnstudy.store.sqlcache import query_arrow as cached

    return cached(study, build, *args)


def query_frame(study: Study, build: Callable[..., ir.Table], *args: object) -> pd.DataFrame:
    """`frame(build(study, *args))`, its compiled SQL cached (store/sqlcache.py)."""
    return query_arrow(study, build, *args).to_pandas(types_mapper=None, timestamp_as_object=False)
