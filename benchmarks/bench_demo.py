"""Demo generator: generation and generation+load throughput (events/s) and peak memory.

An event is a row of an event table (every table with a time column: devicetraffic,
deviceapptraffic, flows, dnsreqs, httpreqs, locations, sockets, runningapps, gt_foreground,
gt_io). Sizes grow with the number of users over one week (chunks are one device and one week),
so the peak memory of a 10x larger study shows whether memory stays bounded. Each measurement is
a fresh process (its own peak RSS); loads go into a fresh DuckDB file, without enrichment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.runner import Result, in_subprocess

DAYS = 7
EVENTS_PER_USER_DAY = 7_500  # measured on the default study (3.9M events, 25 users, 21 days)


def params_for(events: int) -> dict[str, int]:
    return {"users": max(1, round(events / (EVENTS_PER_USER_DAY * DAYS))), "days": DAYS, "seed": 1}


def generate_only(kwargs: dict[str, int]) -> int:
    from ucnstudy.demo import DemoParams, iter_chunks

    return sum(chunk.events for chunk in iter_chunks(DemoParams(**kwargs)))


def generate_and_load(db: str, kwargs: dict[str, int]) -> int:
    from ucnstudy import open_study
    from ucnstudy.demo import DemoParams, generate_demo

    with open_study(db) as study:
        return generate_demo(study, DemoParams(**kwargs), enrich=False).events


def run(quick: bool) -> list[Result]:
    sizes = (100_000, 1_000_000) if quick else (1_000_000, 10_000_000)
    results: list[Result] = []
    peaks: dict[str, list[float]] = {"generate": [], "load": []}
    for target in sizes:
        kwargs = params_for(target)
        label = f"{kwargs['users']} users x {DAYS} days"
        seconds, peak, events = in_subprocess(generate_only, kwargs)
        peaks["generate"].append(peak)
        results.append(Result(f"generate only, {label}", seconds, events, "events", peak))
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "demo.duckdb")
            seconds, peak, events = in_subprocess(generate_and_load, db, kwargs)
            size = Path(db).stat().st_size / 2**20
        peaks["load"].append(peak)
        results.append(
            Result(
                f"generate + load (DuckDB), {label}", seconds, events, "events", peak, f"file {size:,.0f} MiB"
            )
        )
    for step, (small, large) in peaks.items():
        results.append(
            Result(
                f"peak memory {step}: {sizes[1]:,} vs {sizes[0]:,} events",
                0.0,
                0,
                "events",
                large,
                f"ratio {large / small:.2f} (1.0 = bounded)",
            )
        )
    return results
