"""Import throughput of the agent and location sources: HostView databases, Records.json, GPX, Semantic.

Each import runs in a fresh process (peak memory of that process) into a fresh DuckDB study with
one device, without the enrichment pass. Inputs are generated here, deterministically, with the
builders the tests use (tests/hostview_samples.py, tests/location_samples.py).
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from benchmarks.runner import Result, in_subprocess

TESTS = Path(__file__).resolve().parents[1] / "tests"
T0 = datetime(2015, 5, 13, 8, 0)


def _samples():
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import hostview_samples
    import location_samples

    return hostview_samples, location_samples


def write_hostview(path: Path, seconds: int) -> int:
    """A day-like session: 1 activity change / 20 s, io every s, procs and ports every 60 s."""
    hv, _ = _samples()
    rng = random.Random(3)
    rows: dict[str, list[dict]] = {"activity": [], "io": [], "procs": [], "ports": [], "http": []}
    for s in range(seconds):
        ts = hv.ms(T0 + timedelta(seconds=s))
        pid = 100 + (s // 20) % 7
        if s % 20 == 0:
            rows["activity"].append(dict(user="u", pid=pid, name=f"app{pid}.exe", description="",
                                         fullscreen=0, idle=int(rng.random() < 0.2), timestamp=ts))
        rows["io"].append(dict(device=rng.choice((1, 3)), pid=pid, name=f"app{pid}.exe", timestamp=ts))
        if s % 60 == 0:
            for p in range(100, 140):
                rows["procs"].append(dict(pid=p, name=f"app{p}.exe", memory=1 << 24, cpu=0.5, timestamp=ts))
                rows["ports"].append(dict(pid=p, name=f"app{p}.exe", protocol=6, srcip="192.168.1.10",
                                          destip=f"93.184.216.{p}", srcport=40000 + p, destport=443, state=5,
                                          timestamp=ts))
        if s % 5 == 0:
            rows["http"].append(dict(httpverb="GET", httpverbparam=f"/p/{s}", httpstatuscode="200",
                                     httphost="www.example.com", referer="", contenttype="text/html",
                                     contentlength="512", protocol=6, srcip="93.184.216.34",
                                     destip="192.168.1.10", srcport=80, destport=50000, timestamp=ts))
    hv.build_hostview_db(path, rows)
    return sum(len(v) for v in rows.values())


def write_records(path: Path, fixes: int) -> int:
    _, loc = _samples()
    rng = random.Random(4)
    start = T0.replace(tzinfo=UTC)
    plan = []
    while sum(m for m, _ in plan) < fixes:
        plan += [(rng.randrange(5, 90), 0.0), (rng.randrange(2, 30), rng.choice((80.0, 600.0)))]
    points = loc.walk(start, 48.85, 2.35, plan)[:fixes]
    path.write_text(loc.records_json([(t, la, lo, 20) for t, la, lo in points]))
    return fixes


def write_gpx(path: Path, points: int) -> int:
    _, loc = _samples()
    start = T0.replace(tzinfo=UTC)
    track = loc.walk(start, 46.0, 14.5, [(30, 0.0), (60, 100.0)] * (points // 90 + 1))[:points]
    path.write_text(loc.gpx_track(track))
    return points


def write_semantic(path: Path, objects: int) -> int:
    objs = []
    t = T0
    for i in range(objects):
        end = t + timedelta(minutes=30)
        span = {"startTimestamp": t.isoformat() + "Z", "endTimestamp": end.isoformat() + "Z"}
        if i % 2 == 0:
            place = {"latitudeE7": 488500000, "longitudeE7": 23500000, "placeId": f"p{i % 40}"}
            objs.append({"placeVisit": {"location": place, "duration": span}})
        else:
            objs.append({"activitySegment": {"startLocation": {"latitudeE7": 1, "longitudeE7": 1},
                                             "activityType": "WALKING", "duration": span}})
        t = end
    path.write_text(json.dumps({"timelineObjects": objs}))
    return objects


def _study(db: str):
    from ucnstudy import open_study

    study = open_study(db)
    study.create_schema()
    study.import_rows("bench", "devices", [
        ("devices", pa.table({"id": [1], "login": ["bench.pc"]})),
        ("device_addresses", pa.table({"devid": [1], "address": ["192.168.1.10"]})),
    ], sha256="bench-devices")
    return study


def import_hostview(db: str, path: str) -> tuple[int, float]:
    """(rows, seconds of the ingest alone: interpreter start and imports excluded)."""
    from ucnstudy.sources.base import ingest
    from ucnstudy.sources.hostview import KIND, hostview_parser

    with _study(db) as study:
        t0 = time.perf_counter()
        rows = ingest(study, KIND, [path], hostview_parser("bench.pc"))[0].total_rows
        return rows, time.perf_counter() - t0


def import_location(db: str, path: str, fmt: str) -> tuple[int, float]:
    from ucnstudy.sources.base import ingest
    from ucnstudy.sources.location import KIND, LocationOptions, location_parser

    with _study(db) as study:
        parser = location_parser(fmt, "bench.pc", LocationOptions(movements=True))
        t0 = time.perf_counter()
        rows = ingest(study, KIND, [path], parser)[0].total_rows
        return rows, time.perf_counter() - t0


def run(quick: bool) -> list[Result]:
    scale = 1 if quick else 10
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("hostview database", "stats.db", write_hostview, 8_640 * scale, import_hostview, (), "rows"),
            ("takeout Records.json", "records.json", write_records, 20_000 * scale, import_location,
             ("takeout",), "fixes"),
            ("takeout Semantic Location History", "semantic.json", write_semantic, 5_000 * scale,
             import_location, ("takeout",), "objects"),
            ("gpx track", "track.gpx", write_gpx, 20_000 * scale, import_location, ("gpx",), "points"),
        ]
        for name, file, write, size, importer, extra, unit in cases:
            path = Path(tmp) / file
            units = write(path, size)
            db = str(Path(tmp) / f"{file}.duckdb")
            _, peak, (rows, seconds) = in_subprocess(importer, db, str(path), *extra)
            mib = path.stat().st_size / 2**20
            results.append(Result(f"import {name} ({units:,} {unit})", seconds, units, unit, peak,
                                  f"{rows:,} rows, {mib:,.1f} MiB file"))
    return results
