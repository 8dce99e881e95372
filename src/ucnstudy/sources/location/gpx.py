"""GPX 1.0/1.1 tracks and waypoints (handheld GPS units, GPSBabel, sports apps).

Track points (`trk/trkseg/trkpt lat lon` with `time`) of the whole file, sorted by time, become
place intervals by the stay-point rule (`common.stay_points`) and, with movements on, the moves
between them. Waypoints (`wpt`) with a `time` become zero-length intervals of kind 'waypoint'
named by their `name`. Points without `time` cannot be placed in time: they are counted in a
note. Implausible times (GPS units that lost their clock write 1901-12-13T20:45:52Z, the
int32 minimum) are reported, not loaded. A truncated file keeps the points before the damage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.location.common import (
    LocationOptions,
    Point,
    RowBuilder,
    check_coords,
    iso_time,
    note,
    stay_rows,
)

Row = dict[str, object]
CHUNK = 1 << 16


@dataclass
class _Item:
    tag: str  # trkpt or wpt
    line: int
    lat: str | None
    lon: str | None
    texts: dict[str, str] = field(default_factory=dict)


@dataclass
class _Collector:
    """Expat callbacks: collect trkpt and wpt elements with their line and child texts."""

    items: list[_Item] = field(default_factory=list)
    root: str | None = None
    current: _Item | None = None
    child: str | None = None

    def start(self, name: str, attrs: dict[str, str], line: int) -> None:
        tag = name.rsplit(":", 1)[-1]
        if self.root is None:
            self.root = tag
        if tag in ("trkpt", "wpt"):
            self.current = _Item(tag, line, attrs.get("lat"), attrs.get("lon"))
        elif self.current is not None:
            self.child = tag

    def end(self, name: str) -> None:
        tag = name.rsplit(":", 1)[-1]
        if tag in ("trkpt", "wpt") and self.current is not None:
            self.items.append(self.current)
            self.current = None
        self.child = None

    def text(self, data: str) -> None:
        if self.current is not None and self.child in ("time", "name"):
            self.current.texts[self.child] = self.current.texts.get(self.child, "") + data


def _read(path: str, ctx: IngestContext) -> list[_Item]:
    collector = _Collector()
    parser = expat.ParserCreate()
    parser.StartElementHandler = lambda n, a: collector.start(n, a, parser.CurrentLineNumber)
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.text
    parser.EntityDeclHandler = _refuse_entities
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except (expat.ExpatError, ValueError, LookupError) as exc:
        line = getattr(exc, "lineno", None) or parser.CurrentLineNumber
        if collector.root != "gpx":
            raise InputError(path, f"not a GPX file: {exc}", line=line) from None
        ctx.problem(f"XML damaged ({exc}); the points before it are kept", line=line)
    if collector.root != "gpx":
        raise InputError(path, f"not a GPX file: the root element is {collector.root!r}, not 'gpx'")
    return collector.items


def _refuse_entities(*_args: object) -> None:
    raise ValueError("entity declarations are not allowed in GPX")


def parse(path: str, ctx: IngestContext, rows: RowBuilder, opts: LocationOptions) -> Iterator[Row]:
    points: list[Point] = []
    untimed = {"trkpt": 0, "wpt": 0}
    for item in _read(path, ctx):
        rows.tick()
        if "time" not in item.texts:
            untimed[item.tag] += 1
            continue
        try:
            ts = iso_time(item.texts["time"])
            lat, lon = check_coords(float(item.lat or "nan"), float(item.lon or "nan"))
        except (TypeError, ValueError) as exc:
            ctx.problem(f"{item.tag}: {exc}", line=item.line)
            continue
        if not rows.plausible(ts, f"line {item.line}"):
            continue
        if item.tag == "trkpt":
            points.append(Point(ts, lat, lon))
        else:
            name = item.texts.get("name", "").strip() or "waypoint"
            row = rows.interval(f"line {item.line}", ts, ts, kind="waypoint", name=name, lat=lat, lon=lon)
            if row is not None:
                yield row
    rows.bogus.report(ctx, "points")
    for tag, label in (("trkpt", "track points"), ("wpt", "waypoints")):
        if untimed[tag]:
            note(ctx, f"{untimed[tag]} {label} without <time> cannot be placed in time: not loaded")
    points.sort(key=lambda p: p.ts)
    yield from stay_rows(points, opts, rows, "track")
