"""ucn import location: real Takeout and GPX samples, synthetic Moves and Timeline.json, bad input."""

from __future__ import annotations

import itertools
import json
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import with_manifest
from location_samples import gpx_track, moves_storyline, records_json, timeline_android, timeline_ios, walk
from ucnstudy.cli import main
from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext, ingest
from ucnstudy.sources.location import FORMATS, KIND, LocationOptions, location_parser
from ucnstudy.sources.location.common import RowBuilder

MANIFEST = "users: [{username: ann, country: fr}]\ndevices: [{login: ann.phone, platform: android-phone}]\n"
CEST = timezone(timedelta(hours=2))


@pytest.fixture
def study(duck, tmp_path: Path):
    return with_manifest(duck, tmp_path, MANIFEST)


@pytest.fixture
def both(any_study, tmp_path: Path):
    """The same test on DuckDB and on PostgreSQL."""
    return with_manifest(any_study, tmp_path, MANIFEST)


def load(study, fmt: str, *paths, movements: bool = False, strict: bool = False, **opts):
    parser = location_parser(fmt, "ann.phone", LocationOptions(movements=movements, **opts))
    return ingest(study, KIND, [str(p) for p in paths], parser, strict=strict)


def rows(study, kind: str | None = None) -> list[dict]:
    t = study.table("locations")
    if kind:
        t = t.filter(t.kind == kind)
    df = t.order_by(["entertime", "kind"]).execute()
    return df.astype(object).where(df.notna(), None).to_dict("records")


def ref_stays(points: list[tuple[datetime, float, float]], radius: float, min_s: float) -> list[tuple]:
    """Stay points by the definition, with an independent distance (chord on the unit sphere)."""
    def xyz(lat: float, lon: float) -> tuple[float, float, float]:
        la, lo = math.radians(lat), math.radians(lon)
        return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))

    def dist(a, b) -> float:
        return 2 * 6_371_008.8 * math.asin(math.dist(xyz(*a[1:]), xyz(*b[1:])) / 2)

    out, i = [], 0
    while i < len(points):
        run = list(itertools.takewhile(lambda p, a=points[i]: dist(a, p) <= radius, points[i:]))
        if (run[-1][0] - run[0][0]).total_seconds() >= min_s:
            out.append((run[0][0], run[-1][0]))
            i += len(run)
        else:
            i += 1
    return out


def gpx_points(path: Path) -> list[tuple[datetime, float, float]]:
    """Timed track points read with ElementTree (not the importer's expat reader)."""
    pts = []
    for el in ET.parse(path).getroot().iter():
        if el.tag.endswith("trkpt"):
            t = next((c.text for c in el if c.tag.endswith("time")), None)
            if t:
                ts = datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(UTC)
                pts.append((ts.replace(tzinfo=None), float(el.get("lat")), float(el.get("lon"))))
    return sorted(pts)


# -- real samples -------------------------------------------------------------------------------

def test_semantic_location_history_real_sample(both, real_data: Path) -> None:
    path = real_data / "location" / "google-takeout" / "semantic-2021-august.json"
    objects = json.loads(path.read_text())["timelineObjects"]
    visits = [o["placeVisit"] for o in objects if "placeVisit" in o]
    [result] = load(both, "takeout", path, movements=True)
    assert result.rows == {"locations": 125} and not result.warnings
    places, moves = rows(both, "place"), rows(both, "move")
    assert (len(places), len(moves)) == (64, 61)
    assert len({r["loc_id"] for r in places}) == 40 == len({v["location"]["placeId"] for v in visits})
    everything = places + moves
    assert min(r["entertime"] for r in everything) == datetime(2021, 8, 1, 0, 22, 28)
    assert max(r["exittime"] for r in everything) == datetime(2021, 8, 26, 21, 53, 40)
    assert all(r["source"] == "takeout" and r["exittime"] >= r["entertime"] for r in everything)
    first = visits[0]
    assert places[0]["loc_id"] == first["location"]["placeId"]
    assert places[0]["lat"] == pytest.approx(first["location"]["latitudeE7"] / 1e7)


def test_semantic_without_movements_loads_places_only(study, real_data: Path) -> None:
    load(study, "takeout", real_data / "location" / "google-takeout" / "semantic-2021-august.json")
    assert len(rows(study)) == 64 and {r["kind"] for r in rows(study)} == {"place"}


def test_records_json_real_sample_stay_point(study, real_data: Path) -> None:
    path = real_data / "location" / "google-takeout" / "records.json"
    fixes = json.loads(path.read_text())["locations"]
    assert len(fixes) == 12
    [result] = load(study, "takeout", path, movements=True)
    kept = sorted((datetime.fromisoformat(f["timestamp"].replace("Z", "+00:00")).replace(tzinfo=None),
                   f["latitudeE7"] / 1e7, f["longitudeE7"] / 1e7) for f in fixes if f["accuracy"] <= 200)
    expected = ref_stays(kept, 200, 300)
    assert [(r["entertime"], r["exittime"]) for r in rows(study, "place")] == expected
    assert expected[0][0].isoformat().startswith("2015-10-10T18:47") and len(expected) == 1
    assert any("1 fixes less accurate than 200 m" in w for w in result.warnings)


@pytest.mark.parametrize(("name", "trkpt", "timed", "wpt", "first", "last"), [
    ("korita-zbevnica.gpx", 871, 513, 2, datetime(2010, 10, 3, 9, 36, 30), datetime(2010, 10, 3, 13, 19, 31)),
    ("cerknicko-jezero.gpx", 296, 296, 7, datetime(2010, 8, 5, 14, 23, 59), datetime(2010, 8, 5, 16, 23, 49)),
])
def test_gpx_real_tracks(study, real_data: Path, name, trkpt, timed, wpt, first, last) -> None:
    path = real_data / "location" / "gpx" / name
    points = gpx_points(path)
    assert (len(points), points[0][0], points[-1][0]) == (timed, first, last)
    root = ET.parse(path).getroot()
    waypoints = [w for w in root if w.tag.endswith("wpt")]
    timed_wpt = sum(any(c.tag.endswith("time") for c in w) for w in waypoints)
    assert (sum(el.tag.endswith("trkpt") for el in root.iter()), len(waypoints)) == (trkpt, wpt)
    [result] = load(study, "gpx", path, movements=True)
    assert len(rows(study, "waypoint")) == timed_wpt
    notes = " ".join(result.warnings)
    assert (f"{trkpt - timed} track points without <time>" in notes) == (trkpt > timed)
    assert f"{wpt - timed_wpt} waypoints without <time>" in notes
    places = rows(study, "place")
    assert [(r["entertime"], r["exittime"]) for r in places] == ref_stays(points, 200, 300)
    track = [r for r in rows(study) if r["kind"] in ("place", "move")]
    assert track[0]["entertime"] == first and track[-1]["exittime"] == last
    assert all(a["exittime"] == b["entertime"] for a, b in itertools.pairwise(track))  # no gaps


def test_gpx_with_bogus_1901_times_is_reported_not_loaded(study, real_data: Path) -> None:
    path = real_data / "location" / "gpx" / "Mojstrovka.gpx"
    with pytest.raises(InputError, match="implausible times"):
        load(study, "gpx", path, strict=True)
    with pytest.raises(InputError, match="nothing could be read") as failed:  # every point was bad
        load(study, "gpx", path)
    warning = str(failed.value)
    assert str(path) in warning and "184 points with implausible times" in warning and "1901-12-13" in warning
    assert rows(study) == [] and not study.imported_path("location", path)  # nothing recorded
    assert "it looks like" not in warning  # the format was right: no hint at another one


# -- synthetic samples of formats without a real one --------------------------------------------

def test_moves_storyline(study, tmp_path: Path) -> None:
    day = datetime(2015, 4, 17, tzinfo=CEST)
    segs = [
        {"type": "place", "start": day, "end": day + timedelta(hours=8, minutes=30), "id": 7,
         "name": "Home", "place_type": "home", "lat": 48.85, "lon": 2.35},
        {"type": "move", "start": day + timedelta(hours=8, minutes=30), "end": day + timedelta(hours=9),
         "activities": ["walking", "transport", "walking"]},
        {"type": "place", "start": day + timedelta(hours=9), "end": day + timedelta(hours=17), "id": 9,
         "place_type": "work", "lat": 48.86, "lon": 2.34},
        {"type": "off", "start": day + timedelta(hours=17), "end": day + timedelta(hours=18)},
    ]
    path = tmp_path / "storyline.json"
    path.write_text(moves_storyline([segs, []]))
    load(study, "moves", path, movements=True)
    got = [(r["kind"], r["entertime"], r["exittime"], r["name"], r["loc_id"]) for r in rows(study)]
    assert got == [
        ("place", datetime(2015, 4, 16, 22), datetime(2015, 4, 17, 6, 30), "Home", "7"),
        ("move", datetime(2015, 4, 17, 6, 30), datetime(2015, 4, 17, 7), "walking, transport", None),
        ("place", datetime(2015, 4, 17, 7), datetime(2015, 4, 17, 15), "work", "9"),
    ]


@pytest.mark.parametrize("builder", [timeline_android, timeline_ios])
def test_timeline_json(study, tmp_path: Path, builder) -> None:
    t0 = datetime(2024, 3, 1, 8, 0, tzinfo=CEST)
    segs = [
        {"type": "visit", "start": t0, "end": t0 + timedelta(hours=1), "id": "ChIJhome", "semantic": "HOME",
         "lat": 48.1371, "lon": 11.5754},
        {"type": "visit", "level": 1, "start": t0, "end": t0 + timedelta(minutes=30), "id": "ChIJshop",
         "lat": 48.1372, "lon": 11.5755},
        {"type": "activity", "start": t0 + timedelta(hours=1), "end": t0 + timedelta(hours=1, minutes=20),
         "activity": "IN_BUS", "lat": 48.1371, "lon": 11.5754},
        {"type": "visit", "start": t0 + timedelta(hours=1, minutes=20), "end": t0 + timedelta(hours=9),
         "id": "ChIJwork", "semantic": "WORK", "lat": 48.15, "lon": 11.58},
    ]
    if builder is timeline_android:
        segs.append({"type": "path", "start": t0, "end": t0 + timedelta(hours=2), "lat": 48.1, "lon": 11.5})
    path = tmp_path / "Timeline.json"
    path.write_text(builder(segs), encoding="utf-8")
    [result] = load(study, "timeline", path, movements=True)
    assert not result.warnings
    got = [(r["kind"], r["entertime"], r["exittime"], r["name"], r["loc_id"]) for r in rows(study)]
    assert got == [
        ("place", datetime(2024, 3, 1, 6), datetime(2024, 3, 1, 7), "home", "ChIJhome"),
        ("move", datetime(2024, 3, 1, 7), datetime(2024, 3, 1, 7, 20), "in bus", None),
        ("place", datetime(2024, 3, 1, 7, 20), datetime(2024, 3, 1, 15), "work", "ChIJwork"),
    ]
    assert rows(study, "place")[0]["lat"] == pytest.approx(48.1371)


def test_records_stay_points_and_waypoints_on_synthetic_tracks(study, tmp_path: Path) -> None:
    start = datetime(2020, 5, 1, 8, tzinfo=UTC)
    plan = [(20, 0.0), (10, 150.0), (3, 0.0), (15, 2.0), (5, 300.0)]  # stay, walk, pause, stay, walk
    points = walk(start, 45.0, 14.0, plan)
    (tmp_path / "r.json").write_text(records_json([(t, la, lo, 20) for t, la, lo in points], epoch_ms=True))
    (tmp_path / "t.gpx").write_text(gpx_track(points, [(start, 45.0, 14.0, "car"), (None, 45, 14, "x")]))
    load(study, "takeout", tmp_path / "r.json")
    naive = [(t.replace(tzinfo=None), la, lo) for t, la, lo in points]
    expected = ref_stays(naive, 200, 300)
    assert len(expected) == 2
    assert [(r["entertime"], r["exittime"]) for r in rows(study, "place")] == expected
    load(study, "gpx", tmp_path / "t.gpx")
    gpx_rows = [r for r in rows(study) if r["source"] == "gpx"]
    assert [(r["kind"], r["name"]) for r in gpx_rows] == [("place", "stay"), ("waypoint", "car"),
                                                         ("place", "stay")]


def test_malformed_record_is_reported_and_the_rest_loaded(study, tmp_path: Path) -> None:
    t0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    segs = [{"type": "visit", "start": t0 + timedelta(hours=h), "end": t0 + timedelta(hours=h, minutes=50),
             "id": f"p{h}", "lat": 1.0, "lon": 2.0} for h in range(3)]
    doc = json.loads(timeline_android(segs))
    doc["semanticSegments"][1]["endTime"] = "soon"
    path = tmp_path / "Timeline.json"
    path.write_text(json.dumps(doc))
    [result] = load(study, "timeline", path)
    assert len(rows(study)) == 2
    assert result.warnings == [f"{path}: semanticSegments[1]: Invalid isoformat string: 'soon'"]
    path.write_text(json.dumps(doc) + " ")  # new content, so not skipped as already imported
    with pytest.raises(InputError, match=r"semanticSegments\[1\]"):
        load(study, "timeline", path, strict=True)
    assert len(rows(study)) == 2  # the strict import left nothing behind


def test_same_file_twice_is_skipped_and_wrong_format_is_a_clear_error(study, real_data: Path) -> None:
    path = real_data / "location" / "google-takeout" / "records.json"
    load(study, "takeout", path)
    [again] = load(study, "takeout", path)
    assert again.skipped and len(rows(study)) == 1
    semantic = real_data / "location" / "google-takeout" / "semantic-2021-august.json"
    with pytest.raises(InputError, match=r"not a Timeline\.json export"):
        load(study, "timeline", semantic)
    with pytest.raises(InputError, match="not a GPX file"):
        load(study, "gpx", semantic)


def test_cli_location_import(tmp_path: Path, real_data: Path, capsys) -> None:
    db = str(tmp_path / "s.duckdb")
    (tmp_path / "m.yaml").write_text(MANIFEST)
    assert main(["--db", db, "import", "manifest", str(tmp_path / "m.yaml")]) == 0
    gpx = real_data / "location" / "gpx" / "Mojstrovka.gpx"
    semantic = real_data / "location" / "google-takeout" / "semantic-2021-august.json"
    assert main(["--db", db, "import", "location", "--device", "ann.phone", "--format", "gpx", str(gpx)]) == 2
    assert "implausible times" in " ".join(capsys.readouterr().err.split())  # nothing else to load
    assert main(["--db", db, "import", "location", "--device", "ann.phone", "--format", "takeout",
                 "--movements", str(semantic)]) == 0
    assert "added 125 locations" in " ".join(capsys.readouterr().out.split())
    assert main(["--db", db, "import", "location", "--device", "bob.pc", "--format", "gpx", str(gpx)]) == 2
    assert "unknown device 'bob.pc'" in capsys.readouterr().err


# -- fuzzing: every parser returns records or an InputError naming the file ----------------------

def _seed_documents() -> dict[str, str]:
    t0 = datetime(2024, 3, 1, 8, 0, tzinfo=CEST)
    visit = {"type": "visit", "start": t0, "end": t0 + timedelta(hours=1), "id": "x", "lat": 1.5, "lon": 2.5}
    move = {"type": "activity", "start": t0, "end": t0 + timedelta(hours=1), "activity": "WALKING",
            "lat": 1.5, "lon": 2.5}
    place = {"type": "place", "start": t0, "end": t0 + timedelta(hours=1), "id": 1, "lat": 1.5, "lon": 2.5}
    pts = walk(t0, 1.5, 2.5, [(6, 0.0), (2, 300.0)])
    return {
        "moves": moves_storyline([[place, {**move, "type": "move", "activities": ["walking"]}]]),
        "takeout": records_json([(t, la, lo, 10) for t, la, lo in pts]),
        "timeline": timeline_android([visit, move]),
        "gpx": gpx_track(pts, [(t0, 1.5, 2.5, "w")]),
    }


SEEDS = _seed_documents()


def _run_parser(fmt: str, path: Path) -> None:
    ctx = IngestContext(study=None, path=str(path))  # type: ignore[arg-type]
    rows_builder = RowBuilder(ctx, 1, fmt)
    try:
        produced = list(FORMATS[fmt](str(path), ctx, rows_builder, LocationOptions(movements=True)))
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert all(r["entertime"] <= r["exittime"] for r in produced)
    assert all(str(path) in p for p in ctx.problems)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(sorted(FORMATS)), data=st.data())
def test_mutated_and_random_inputs_never_crash(tmp_path: Path, fmt: str, data) -> None:
    seed = SEEDS[fmt].encode()
    choice = data.draw(st.integers(0, 2))
    if choice == 0:
        raw = data.draw(st.binary(max_size=400))
    elif choice == 1:  # overwrite a few bytes
        raw = bytearray(seed)
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        raw = bytes(raw)
    else:  # truncate
        raw = seed[: data.draw(st.integers(0, len(seed)))]
    path = tmp_path / f"fuzz.{fmt}"
    path.write_bytes(raw)
    _run_parser(fmt, path)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["moves", "takeout", "timeline"]), data=st.data())
def test_json_values_of_wrong_types_never_crash(tmp_path: Path, fmt: str, data) -> None:
    doc = json.loads(SEEDS[fmt])
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                       st.text(max_size=8), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))

    def mutate(node):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
            if data.draw(st.booleans()):
                node[key] = data.draw(leaves)
            else:
                mutate(node[key])
        elif isinstance(node, list) and node:
            mutate(node[data.draw(st.integers(0, len(node) - 1))])

    for _ in range(data.draw(st.integers(1, 3))):
        mutate(doc)
    path = tmp_path / f"fuzz-{fmt}.json"
    path.write_text(json.dumps(doc))
    _run_parser(fmt, path)
