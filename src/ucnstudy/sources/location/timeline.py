"""Google Maps on-device Timeline export (2024 onwards), Timeline.json, Android and iOS forms.

* Android: an object with `semanticSegments[]`; each has `startTime`/`endTime` (ISO with a UTC
  offset) and one of `visit{hierarchyLevel, probability, topCandidate{placeId, semanticType,
  probability, placeLocation{latLng: "48.1371°, 11.5754°"}}}`, `activity{start{latLng},
  end{latLng}, distanceMeters, topCandidate{type, probability}}` or `timelinePath[]{point, time}`.
  `rawSignals` and `userLocationProfile` are not loaded.
* iOS: a list of segments with the same times and `visit.topCandidate{placeID, semanticType,
  placeLocation: "geo:48.1371,11.5754"}`, `activity{start, end, topCandidate{type}}`.

Visits of hierarchy level 0 become place intervals (deeper levels are places inside them and
are not loaded); activities become move intervals with movements on; timelinePath segments are
raw tracks, covered by the activities, and `timelineMemory` segments (trip summaries) repeat
visits: neither is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.location.common import (
    LocationOptions,
    RowBuilder,
    as_text,
    check_coords,
    convert_records,
    iso_time,
    load_json,
)

Row = dict[str, object]
_LATLNG = re.compile(r"^\s*(?:geo:)?\s*(-?\d+(?:\.\d+)?)\s*°?\s*,\s*(-?\d+(?:\.\d+)?)\s*°?\s*$")


def lat_lng(value: object) -> tuple[float, float]:
    """'48.1371°, 11.5754°', 'geo:48.1371,11.5754' or {'latLng': ...} as (lat, lon)."""
    if isinstance(value, dict):
        value = value.get("latLng")
    match = _LATLNG.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"location {value!r} is not 'lat°, lon°' or 'geo:lat,lon'")
    return check_coords(float(match[1]), float(match[2]))


def parse(path: str, ctx: IngestContext, rows: RowBuilder, opts: LocationOptions) -> Iterator[Row]:
    doc = load_json(path)
    segments = doc.get("semanticSegments") if isinstance(doc, dict) else doc
    if not isinstance(segments, list):
        raise InputError(path, "not a Timeline.json export: expected 'semanticSegments' (Android) "
                               "or a list of segments (iOS)")
    records = ((f"semanticSegments[{i}]", segment) for i, segment in enumerate(segments))
    yield from convert_records(ctx, rows, records, lambda where, seg: _segment(where, seg, rows, opts))
    rows.bogus.report(ctx, "segments")


def _segment(where: str, segment: dict, rows: RowBuilder, opts: LocationOptions) -> Row | None:
    if "visit" in segment:
        visit = segment["visit"]
        if int(visit.get("hierarchyLevel") or 0) != 0:
            return None
        top = visit["topCandidate"]
        lat, lon = lat_lng(top["placeLocation"])
        place_id = as_text(top.get("placeId") or top.get("placeID"))
        semantic = as_text(top.get("semanticType"))
        label = semantic.lower().replace("_", " ") if semantic and semantic.upper() != "UNKNOWN" else None
        return rows.interval(where, iso_time(segment["startTime"]), iso_time(segment["endTime"]),
                             name=label or place_id, loc_id=place_id, loc_name=label, lat=lat, lon=lon)
    if "activity" in segment:
        if not opts.movements:
            return None
        activity = segment["activity"]
        lat, lon = lat_lng(activity["start"]) if activity.get("start") else (None, None)
        kind = as_text((activity.get("topCandidate") or {}).get("type")) or "unknown"
        return rows.interval(where, iso_time(segment["startTime"]), iso_time(segment["endTime"]),
                             kind="move", name=kind.lower().replace("_", " "), lat=lat, lon=lon)
    if "timelinePath" in segment or "timelineMemory" in segment:
        return None
    raise ValueError("neither visit, activity, timelinePath nor timelineMemory")
