"""Google Takeout location history (legacy, until 2024): Records.json and Semantic Location History.

* Records.json (also "Location History.json"): `locations[]` of raw fixes with `timestamp` (ISO)
  or `timestampMs`, `latitudeE7`/`longitudeE7` and `accuracy` (metres). Fixes become place
  intervals by the stay-point rule of `common.stay_points`; fixes less accurate than the limit
  are ignored (noted).
* Semantic Location History (YYYY_MONTH.json): `timelineObjects[]`, each a `placeVisit`
  (location with placeId, name, address, semanticType, E7 coordinates; `duration` with
  start/endTimestamp or start/endTimestampMs) or an `activitySegment` (activityType, start and
  end locations, duration). Nested `childVisits` are not loaded (their parent covers them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.location.common import (
    RECORD_ERRORS,
    LocationOptions,
    Point,
    RowBuilder,
    as_text,
    check_coords,
    convert_records,
    epoch_ms_time,
    iso_time,
    load_json,
    note,
    stay_rows,
)

Row = dict[str, object]


def parse(path: str, ctx: IngestContext, rows: RowBuilder, opts: LocationOptions) -> Iterator[Row]:
    doc = load_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("timelineObjects"), list):
        yield from _semantic(doc["timelineObjects"], ctx, rows, opts)
        rows.bogus.report(ctx, "timeline objects")
    elif isinstance(doc, dict) and isinstance(doc.get("locations"), list):
        yield from _records(doc["locations"], ctx, rows, opts)
        rows.bogus.report(ctx, "location fixes")
    else:
        raise InputError(path, "not a Google Takeout location file: expected an object with "
                               "'timelineObjects' (Semantic Location History) or 'locations' (Records.json)")


def e7(value: object) -> float:
    """E7 integer degrees; values past the int32 range wrap (a known Takeout quirk)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"E7 coordinate {value!r} is not a number")
    number = int(value)
    if number > 1_800_000_000:
        number -= 2**32
    return number / 1e7


def _time(duration: dict, key: str) -> datetime:
    if f"{key}Timestamp" in duration:
        return iso_time(duration[f"{key}Timestamp"])
    return epoch_ms_time(duration[f"{key}TimestampMs"])


def _semantic(objects: list, ctx: IngestContext, rows: RowBuilder, opts: LocationOptions) -> Iterator[Row]:
    def convert(where: str, obj: dict) -> Row | None:
        if "placeVisit" in obj:
            return _place_visit(where, obj["placeVisit"], rows)
        if "activitySegment" in obj:
            return _activity(where, obj["activitySegment"], rows) if opts.movements else None
        raise ValueError("neither placeVisit nor activitySegment")

    records = ((f"timelineObjects[{i}]", obj) for i, obj in enumerate(objects))
    yield from convert_records(ctx, rows, records, convert)


def _place_visit(where: str, visit: dict, rows: RowBuilder) -> Row | None:
    loc = visit["location"]
    lat, lon = check_coords(e7(loc.get("latitudeE7", visit.get("centerLatE7"))),
                            e7(loc.get("longitudeE7", visit.get("centerLngE7"))))
    semantic = as_text(loc.get("semanticType"))
    label = semantic.removeprefix("TYPE_").lower().replace("_", " ") if semantic else None
    place_id, place_name, address = (as_text(loc.get(k)) for k in ("placeId", "name", "address"))
    duration = visit["duration"]
    return rows.interval(where, _time(duration, "start"), _time(duration, "end"),
                         name=place_name or label or address or place_id, loc_id=place_id,
                         loc_name=place_name, lat=lat, lon=lon, street=address)


def _activity(where: str, segment: dict, rows: RowBuilder) -> Row | None:
    start = segment.get("startLocation") or {}
    lat = e7(start["latitudeE7"]) if "latitudeE7" in start else None
    lon = e7(start["longitudeE7"]) if "longitudeE7" in start else None
    if lat is not None and lon is not None:
        check_coords(lat, lon)
    kind = as_text(segment.get("activityType")) or "UNKNOWN_ACTIVITY_TYPE"
    duration = segment["duration"]
    return rows.interval(where, _time(duration, "start"), _time(duration, "end"), kind="move",
                         name=kind.lower().replace("_", " "), lat=lat, lon=lon)


def _records(fixes: list, ctx: IngestContext, rows: RowBuilder, opts: LocationOptions) -> Iterator[Row]:
    points, inaccurate = [], 0
    for index, fix in enumerate(fixes):
        try:
            ts = iso_time(fix["timestamp"]) if "timestamp" in fix else epoch_ms_time(fix["timestampMs"])
            lat, lon = check_coords(e7(fix["latitudeE7"]), e7(fix["longitudeE7"]))
            accuracy = fix.get("accuracy")
            if accuracy is not None and float(accuracy) > opts.accuracy_limit:
                inaccurate += 1
                continue
        except RECORD_ERRORS as exc:
            ctx.problem(f"locations[{index}]: {exc}")
            continue
        if not rows.plausible(ts, f"locations[{index}]"):
            continue
        points.append(Point(ts, lat, lon))
    rows.tick(len(fixes))
    if inaccurate:
        note(ctx, f"{inaccurate} fixes less accurate than {opts.accuracy_limit:g} m ignored")
    points.sort(key=lambda p: p.ts)
    yield from stay_rows(points, opts, rows, "locations")

