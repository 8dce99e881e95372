"""Moves storyline JSON (the Moves app, 2013-2018): `/user/storyline/daily` or the export's storyline.json.

The file is a list of days (a single day object is accepted too). Each day has `date`
(yyyyMMdd) and `segments` (null on days without data). A segment has `type` (place, move or
off), `startTime`/`endTime` in the compact form yyyyMMdd'T'HHmmss±hhmm (or Z), e.g.
20150417T083000+0200, and for a place `place{id, name, type, foursquareId, location{lat, lon}}`
(type: unknown, home, work, school, user, foursquare); for a move `activities[]{activity, group,
startTime, endTime, duration, distance, steps, trackPoints[]}`. Places become place intervals;
moves become move intervals (with movements on), named after their activities; `off` segments
(the phone was off) are not loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.location.common import (
    LocationOptions,
    RowBuilder,
    as_text,
    check_coords,
    convert_records,
    load_json,
    utc,
)

Row = dict[str, object]


def moves_time(text: object) -> datetime:
    """20150417T083000+0200 (or ...Z) as naive UTC."""
    if not isinstance(text, str):
        raise TypeError(f"time {text!r} is not a string")
    return utc(datetime.strptime(text.strip(), "%Y%m%dT%H%M%S%z"))


def parse(path: str, ctx: IngestContext, rows: RowBuilder, opts: LocationOptions) -> Iterator[Row]:
    doc = load_json(path)
    days = [doc] if isinstance(doc, dict) and "segments" in doc else doc
    if not isinstance(days, list):
        raise InputError(path, "not a Moves storyline: expected a list of days with 'segments'")
    for d, day in enumerate(days):
        segments = day.get("segments") if isinstance(day, dict) else None
        if segments is None:  # a day without data
            continue
        if not isinstance(segments, list):
            ctx.problem(f"day {d} ({day.get('date')}): 'segments' is not a list")
            continue
        records = ((f"day {d} ({day.get('date')}) segment {s}", seg) for s, seg in enumerate(segments))
        yield from convert_records(ctx, rows, records, lambda where, seg: _segment(where, seg, rows, opts))
    rows.bogus.report(ctx, "segments")


def _segment(where: str, segment: dict, rows: RowBuilder, opts: LocationOptions) -> Row | None:
    kind = segment["type"]
    if kind == "off" or (kind == "move" and not opts.movements):
        return None
    enter, exit_ = moves_time(segment["startTime"]), moves_time(segment["endTime"])
    if kind == "move":
        groups = [as_text(a.get("group") or a.get("activity")) for a in segment.get("activities") or []]
        name = ", ".join(dict.fromkeys(g for g in groups if g)) or "move"
        return rows.interval(where, enter, exit_, kind="move", name=name)
    if kind != "place":
        raise ValueError(f"segment type {kind!r} is not place, move or off")
    place = segment["place"]
    location = place.get("location") or {}
    lat = lon = None
    if "lat" in location and "lon" in location:
        lat, lon = check_coords(float(location["lat"]), float(location["lon"]))
    place_name, place_type = as_text(place.get("name")), as_text(place.get("type"))
    label = place_type if place_type and place_type != "unknown" else None
    return rows.interval(where, enter, exit_, name=place_name or label or "unknown place",
                         loc_id=as_text(place.get("id")), loc_name=place_name or label, lat=lat, lon=lon)
