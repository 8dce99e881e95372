"""Builders of synthetic location histories in the documented formats (shown in docs/inputs/location.md).

Each builder takes plain Python values and returns the file text exactly as the app writes it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta


def moves_time(ts: datetime) -> str:
    """Moves compact time, e.g. 20150417T083000+0200."""
    return ts.strftime("%Y%m%dT%H%M%S%z")


def moves_storyline(days: list[list[dict]]) -> str:
    """A Moves storyline export: one list of segments per day (an empty list: segments null)."""
    out = []
    for segments in days:
        first = segments[0]["start"] if segments else datetime(2015, 4, 16, tzinfo=UTC)
        out.append({
            "date": first.strftime("%Y%m%d"),
            "segments": [_moves_segment(s) for s in segments] or None,
            "lastUpdate": moves_time(first),
        })
    return json.dumps(out)


def _moves_segment(s: dict) -> dict:
    seg = {"type": s["type"], "startTime": moves_time(s["start"]), "endTime": moves_time(s["end"]),
           "lastUpdate": moves_time(s["end"])}
    if s["type"] == "place":
        seg["place"] = {"id": s["id"], "type": s.get("place_type", "unknown"),
                        "location": {"lat": s["lat"], "lon": s["lon"]}}
        if "name" in s:
            seg["place"]["name"] = s["name"]
    elif s["type"] == "move":
        seg["activities"] = [{"activity": a, "group": a, "manual": False,
                              "startTime": moves_time(s["start"]), "endTime": moves_time(s["end"]),
                              "duration": (s["end"] - s["start"]).total_seconds(), "distance": 1234.0,
                              "steps": 1500, "trackPoints": []} for a in s["activities"]]
    return seg


def timeline_android(segments: list[dict]) -> str:
    """An Android Timeline.json (2024+): semanticSegments with visit / activity / timelinePath."""
    out = []
    for s in segments:
        offset = int(s["start"].utcoffset().total_seconds() // 60)
        seg = {"startTime": s["start"].isoformat(timespec="milliseconds"),
               "endTime": s["end"].isoformat(timespec="milliseconds"),
               "startTimeTimezoneUtcOffsetMinutes": offset, "endTimeTimezoneUtcOffsetMinutes": offset}
        if s["type"] == "visit":
            seg["visit"] = {"hierarchyLevel": s.get("level", 0), "probability": 0.9, "topCandidate": {
                "placeId": s["id"], "semanticType": s.get("semantic", "UNKNOWN"), "probability": 0.8,
                "placeLocation": {"latLng": f"{s['lat']:.7f}°, {s['lon']:.7f}°"}}}
        elif s["type"] == "activity":
            seg["activity"] = {"start": {"latLng": f"{s['lat']:.7f}°, {s['lon']:.7f}°"},
                               "end": {"latLng": f"{s['lat']:.7f}°, {s['lon']:.7f}°"},
                               "distanceMeters": 812.5,
                               "topCandidate": {"type": s["activity"], "probability": 0.95}}
        else:
            seg["timelinePath"] = [{"point": f"{s['lat']:.7f}°, {s['lon']:.7f}°",
                                    "time": s["start"].isoformat(timespec="milliseconds")}]
        out.append(seg)
    return json.dumps({"semanticSegments": out, "rawSignals": [], "userLocationProfile": {}},
                      ensure_ascii=False)


def timeline_ios(segments: list[dict]) -> str:
    """The iOS form of the same export: a list, geo: coordinates, string numbers, placeID."""
    out = []
    for s in segments:
        seg = {"startTime": s["start"].isoformat(timespec="milliseconds"),
               "endTime": s["end"].isoformat(timespec="milliseconds")}
        if s["type"] == "visit":
            top = {"probability": "0.8", "semanticType": s.get("semantic", "Unknown"), "placeID": s["id"],
                   "placeLocation": f"geo:{s['lat']},{s['lon']}"}
            seg["visit"] = {"hierarchyLevel": str(s.get("level", 0)), "probability": "0.9",
                            "topCandidate": top}
        else:
            seg["activity"] = {"start": f"geo:{s['lat']},{s['lon']}", "end": f"geo:{s['lat']},{s['lon']}",
                               "topCandidate": {"type": s["activity"].lower(), "probability": "0.9"},
                               "distanceMeters": "812.5"}
        out.append(seg)
    return json.dumps(out)


def records_json(points: list[tuple[datetime, float, float, int]], *, epoch_ms: bool = False) -> str:
    """Takeout Records.json: (time, lat, lon, accuracy) fixes; timestampMs in older exports."""
    locations = []
    for ts, lat, lon, accuracy in points:
        fix: dict[str, object] = {"latitudeE7": round(lat * 1e7), "longitudeE7": round(lon * 1e7),
                                  "accuracy": accuracy, "source": "WIFI"}
        if epoch_ms:
            fix["timestampMs"] = str(int(ts.timestamp() * 1000))
        else:
            fix["timestamp"] = ts.astimezone(UTC).isoformat().replace("+00:00", "Z")
        locations.append(fix)
    return json.dumps({"locations": locations})


def gpx_track(points: list[tuple[datetime | None, float, float]],
              waypoints: list[tuple[datetime | None, float, float, str]] = ()) -> str:
    """GPX 1.1 with one track segment and optional waypoints (time None: no <time>)."""
    def time(ts: datetime | None) -> str:
        return f"<time>{ts.strftime('%Y-%m-%dT%H:%M:%SZ')}</time>" if ts else ""

    wpts = "".join(f'<wpt lat="{lat}" lon="{lon}"><name>{name}</name>{time(ts)}</wpt>\n'
                   for ts, lat, lon, name in waypoints)
    pts = "".join(f'<trkpt lat="{lat}" lon="{lon}"><ele>300</ele>{time(ts)}</trkpt>\n'
                  for ts, lat, lon in points)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">\n'
            f"{wpts}<trk><name>t</name><trkseg>\n{pts}</trkseg></trk>\n</gpx>\n")


def walk(start: datetime, lat: float, lon: float, plan: list[tuple[int, float]]) -> list[tuple]:
    """Fixes every 60 s: plan = [(minutes, metres north per minute), ...]."""
    points, ts = [], start
    for minutes, step in plan:
        for _ in range(minutes):
            points.append((ts, lat, lon))
            ts += timedelta(minutes=1)
            lat += step / 111_195.0
    return points
