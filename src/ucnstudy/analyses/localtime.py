"""Users' local time, DST-correct, on every engine.

Timestamps are naive UTC. A user's zone is `users.timezone`, else the one of the country
(`schema.timezone_of`). There is no portable SQL time-zone conversion, so the UTC offsets of
each zone are computed in Python with zoneinfo and joined as a small table of segments
(tz, year, month, valid_from, valid_to, offset_s): one segment per zone, UTC month and
constant offset. The join key (tz, UTC year, UTC month) keeps it an equi-join with at most a
few candidate rows per event; then `ts + offset_s seconds` is the local wall-clock time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ucnstudy.errors import StudyError
from ucnstudy.lazy import ibis, pa
from ucnstudy.schema import COUNTRY_TIMEZONES

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

SPAN_YEARS = (1970, 2100)  # events outside this UTC span have no local time
Segment = tuple[datetime, datetime, int]


def user_zones(study: Study) -> ir.Table:
    """username, user_id, tz: users.timezone, else the country's zone, else UTC."""
    u = study.table("users")
    explicit = u.timezone.nullif("")
    by_country = u.country.lower().substitute(COUNTRY_TIMEZONES, else_="UTC")
    return u.select("username", user_id=u.id, tz=explicit.fill_null(by_country))


def _offset(zone: ZoneInfo, instant: datetime) -> int:
    delta = instant.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _transition(zone: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    """The first second in (lo, hi] whose offset differs from lo's (offsets differ at hi)."""
    before = _offset(zone, lo)
    while (hi - lo) > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if _offset(zone, mid) == before:
            lo = mid
        else:
            hi = mid
    return hi


@lru_cache(maxsize=64)
def zone_segments(tz: str) -> tuple[Segment, ...]:
    """(valid_from, valid_to, offset_s) segments of constant offset, split at UTC month starts."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise StudyError(f"unknown time zone {tz!r} in users.timezone; use an IANA name "
                         "such as Europe/Paris") from None
    segments: list[Segment] = []
    first, last = SPAN_YEARS
    for year in range(first, last):
        for month in range(1, 13):
            start = datetime(year, month, 1)
            end = datetime(year + (month == 12), month % 12 + 1, 1)
            segments.extend(_month_segments(zone, start, end))
    return tuple(segments)


def _month_segments(zone: ZoneInfo, start: datetime, end: datetime) -> list[Segment]:
    out: list[Segment] = []
    seg_start, offset = start, _offset(zone, start)
    day = start
    while day < end:
        nxt = min(day + timedelta(days=1), end)
        if _offset(zone, nxt) != offset or nxt == end:
            cursor = day
            # walk the day's transitions (at most a few), then continue with the next day
            while cursor < nxt and _offset(zone, nxt) != _offset(zone, cursor):
                at = _transition(zone, cursor, nxt)
                out.append((seg_start, at, offset))
                seg_start, offset, cursor = at, _offset(zone, at), at
        day = nxt
    out.append((seg_start, end, offset))
    return out


def offsets_table(zones: list[str]) -> ir.Table:
    """The segments of the given zones as a memtable (tz, y, m, valid_from, valid_to, offset_s)."""
    cols: dict[str, list] = {k: [] for k in ("tz", "y", "m", "valid_from", "valid_to", "offset_s")}
    for tz in sorted(set(zones)):
        for valid_from, valid_to, offset in zone_segments(tz):
            cols["tz"].append(tz)
            cols["y"].append(valid_from.year)
            cols["m"].append(valid_from.month)
            cols["valid_from"].append(valid_from)
            cols["valid_to"].append(valid_to)
            cols["offset_s"].append(offset)
    schema = pa.schema([("tz", pa.string()), ("y", pa.int32()), ("m", pa.int32()),
                        ("valid_from", pa.timestamp("us")), ("valid_to", pa.timestamp("us")),
                        ("offset_s", pa.int32())])
    return ibis.memtable(pa.table(cols, schema=schema))


def exact_truncation(zones: list[str], width_minutes: int) -> str | None:
    """The coarsest unit ("h" or "m") to which UTC times may be truncated before the local
    conversion without moving any of them across a local bin of `width_minutes`, or None.

    Truncation commutes with the conversion when every offset and every segment boundary of the
    zones is a whole number of units, and bins are whole units: then rows can be aggregated per
    (user, unit) first, and only those aggregates converted (a few percent of the rows).
    """
    segments = [s for tz in sorted(set(zones)) for s in zone_segments(tz)]
    for unit, seconds in (("h", 3600), ("m", 60)):
        if (width_minutes * 60) % seconds == 0 and all(
                offset % seconds == 0 and _whole(start, seconds) and _whole(end, seconds)
                for start, end, offset in segments):
            return unit
    return None


def _whole(instant: datetime, seconds: int) -> bool:
    return instant.microsecond == 0 and (instant.minute * 60 + instant.second) % seconds == 0


def study_zones(study: Study) -> list[str]:
    """Every zone some user of the study lives in (a small query on users)."""
    zones = user_zones(study).tz.name("tz").as_table().distinct().to_pyarrow()["tz"]
    return [z for z in zones.to_pylist() if z]


def add_local_time(t: ir.Table, zones: ir.Table, offsets: ir.Table, ts: str = "ts",
                   out: str = "local_ts") -> ir.Table:
    """Add `out`, the local wall-clock time of column `ts`, to rows of t that have `username`."""
    with_tz = t.join(zones.select("username", "tz"), "username")
    stamp = with_tz[ts]
    keyed = with_tz.mutate(_y=stamp.year(), _m=stamp.month())
    o = offsets
    joined = keyed.join(
        o,
        [keyed.tz == o.tz, keyed._y == o.y, keyed._m == o.m,
         keyed[ts] >= o.valid_from, keyed[ts] < o.valid_to],
    )
    local = joined[ts] + joined.offset_s.as_interval("s")
    return joined.select(*[joined[c] for c in t.columns], **{out: local})


def local_time(study: Study, t: ir.Table, ts: str = "ts", out: str = "local_ts") -> ir.Table:
    """`add_local_time` with the study's users' zones."""
    return add_local_time(t, user_zones(study), offsets_table(study_zones(study)), ts, out)
