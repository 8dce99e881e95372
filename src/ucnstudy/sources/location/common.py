"""What every location format shares: options, time parsing, plausibility, rows, stay points."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.timewindow import time_window

# A record is skipped (and reported) when a value has the wrong shape.
RECORD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)

EARTH_RADIUS_M = 6_371_008.8
COLUMNS = ("devid", "source", "entertime", "exittime", "kind", "name", "loc_id", "loc_name", "lat", "lon",
           "street")


@dataclass(frozen=True)
class LocationOptions:
    """Parameters of the location importers (CLI flags of `ucn import location`)."""

    movements: bool = False  # also load move segments (kind 'move')
    stay_radius_m: float = 200.0  # stay point: every point within this distance of the first
    stay_min_s: float = 300.0  # ... for at least this long
    max_accuracy_m: float | None = None  # ignore fixes less accurate than this (None: the radius)

    @property
    def accuracy_limit(self) -> float:
        return self.stay_radius_m if self.max_accuracy_m is None else self.max_accuracy_m


@dataclass(frozen=True)
class Point:
    ts: datetime
    lat: float
    lon: float


def utc(value: datetime) -> datetime:
    """Naive UTC from an aware or naive (already UTC) datetime."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def iso_time(text: object) -> datetime:
    """ISO-8601 with 'Z' or an offset (fractions of any length) as naive UTC."""
    if not isinstance(text, str):
        raise TypeError(f"time {text!r} is not a string")
    value = text.strip()
    if "." in value:  # Python accepts at most 6 fraction digits: cut the rest
        head, _, tail = value.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        value = f"{head}.{tail[:min(digits, 6)]}{tail[digits:]}" if digits else head + tail
    return utc(datetime.fromisoformat(value))


def epoch_ms_time(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"millisecond time {value!r} is not a number")
    return datetime(1970, 1, 1) + timedelta(milliseconds=int(value))


def as_text(value: object) -> str | None:
    """A text field: None stays None, numbers become text, anything else is a record error."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{value!r} is not text")


def is_plausible(ts: datetime) -> bool:
    return ts in time_window()


def check_coords(lat: float, lon: float) -> tuple[float, float]:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"coordinates ({lat}, {lon}) are outside the globe")
    return lat, lon


def distance_m(a: Point, b: Point) -> float:
    """Great-circle (haversine) distance in metres."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class ImplausibleTimes:
    """Counts records with bogus times; reported once per file (the GPX 1901 artefact)."""

    count: int = 0
    first: str = ""
    examples: set[str] = field(default_factory=set)

    def add(self, ts: datetime, where: str) -> None:
        self.count += 1
        if not self.first:
            self.first = where
        if len(self.examples) < 3:
            self.examples.add(ts.isoformat())

    def report(self, ctx: IngestContext, what: str) -> None:
        if self.count:
            ctx.problem(f"{self.count} {what} with implausible times ({', '.join(sorted(self.examples))}; "
                        f"plausible is {time_window().describe()}), first at {self.first}: not loaded")


def convert_records(ctx: IngestContext, rows: RowBuilder, records: Iterable[tuple[str, object]],
                    convert: Callable[[str, object], dict[str, object] | None]
                    ) -> Iterator[dict[str, object]]:
    """Convert each (where, record): a malformed record is reported with its place and skipped."""
    for where, record in records:
        try:
            row = convert(where, record)
        except RECORD_ERRORS as exc:
            ctx.problem(f"{where}: {exc}")
            continue
        rows.tick()
        if row is not None:
            yield row


def note(ctx: IngestContext, message: str) -> None:
    """Information about skipped optional content: reported, never fatal (even with --strict)."""
    ctx.problems.append(str(InputError(ctx.path, message)))


def load_json(path: str) -> object:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply") from None


@dataclass
class RowBuilder:
    """Makes `locations` rows for one device and source, keeping only plausible intervals."""

    ctx: IngestContext
    devid: int
    source: str
    bogus: ImplausibleTimes = field(default_factory=ImplausibleTimes)
    pending: int = 0  # records read but not yet reported to the progress bar

    def tick(self, records: int = 1) -> None:
        """Count records read; the progress bar hears of them in batches (it is not free)."""
        self.pending += records
        if self.pending >= 1000:
            self.flush()

    def flush(self) -> None:
        self.ctx.advance(self.pending)
        self.pending = 0

    def plausible(self, ts: datetime, where: str) -> bool:
        """True for a plausible time; an implausible one is counted for the file's report."""
        if is_plausible(ts):
            return True
        self.bogus.add(ts, where)
        return False

    def interval(self, where: str, enter: datetime, exit_: datetime, **columns: object
                 ) -> dict[str, object] | None:
        if not (is_plausible(enter) and is_plausible(exit_)):
            self.bogus.add(enter if not is_plausible(enter) else exit_, where)
            return None
        if exit_ < enter:
            self.ctx.problem(f"{where}: ends ({exit_}) before it starts ({enter})")
            return None
        row = dict.fromkeys(COLUMNS)  # every row has every column: chunks infer one schema
        row.update(devid=self.devid, source=self.source, entertime=enter, exittime=exit_, kind="place")
        row.update(columns)
        return row


def stay_points(points: list[Point], opts: LocationOptions) -> Iterator[tuple[int, int]]:
    """Index ranges [i, j] of stays (time-sorted points).

    Rule (Li et al. 2008, anchored form): from point i, extend j while every point i..j lies
    within `stay_radius_m` of point i; when t_j - t_i >= `stay_min_s`, points i..j are a stay
    and the search continues at j + 1, else at i + 1.
    """
    i, n = 0, len(points)
    while i < n:
        j = i
        while j + 1 < n and distance_m(points[i], points[j + 1]) <= opts.stay_radius_m:
            j += 1
        if (points[j].ts - points[i].ts).total_seconds() >= opts.stay_min_s:
            yield i, j
            i = j + 1
        else:
            i += 1


def stay_rows(points: list[Point], opts: LocationOptions, rows: RowBuilder, label: str
              ) -> Iterator[dict[str, object]]:
    """Places from stay points, and (with movements) the moves between them, covering the track."""
    cursor = 0  # index of the first point not yet covered by a place or a move
    for i, j in stay_points(points, opts):
        if opts.movements and i > cursor:
            yield from _row(rows.interval(f"{label} points {cursor + 1}-{i + 1}", points[cursor].ts,
                                          points[i].ts, kind="move", name="move"))
        stay = points[i:j + 1]
        lat = sum(p.lat for p in stay) / len(stay)
        lon = sum(p.lon for p in stay) / len(stay)
        yield from _row(rows.interval(f"{label} points {i + 1}-{j + 1}", points[i].ts, points[j].ts,
                                      name="stay", loc_id=f"{lat:.3f},{lon:.3f}", lat=lat, lon=lon))
        cursor = j
    if opts.movements and len(points) - 1 > cursor:
        yield from _row(rows.interval(f"{label} points {cursor + 1}-{len(points)}", points[cursor].ts,
                                      points[-1].ts, kind="move", name="move"))


def _row(row: dict[str, object] | None) -> Iterator[dict[str, object]]:
    if row is not None:
        yield row
