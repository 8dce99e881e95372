"""Demo generator: generation and generation+load throughput (events/s) and peak memory.

An event is a row of an event table (every table with a time column: devicetraffic,
deviceapptraffic, flows, dnsreqs, httpreqs, locations, sockets, runningapps, gt_foreground,
gt_io). Sizes grow with the number of users over one week (chunks are one device and one week),
so the peak memory of a 10x larger study shows whether memory stays bounded. Each measurement is
a fresh process (its own peak RSS); loads go into a fresh DuckDB file, without enrichment.
The default study end to end, per step, is `python -m benchmarks demo_default`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.runner import Result, in_subprocess

DAYS = 7
EVENTS_PER_USER_DAY = 8_700  # measured on the default study (4.57M events, 25 users, 21 days)


def params_for(events: int) -> dict[str, int]:
    return {"users": max(1, round(events / (EVENTS_PER_USER_DAY * DAYS))), "days": DAYS, "seed": 1}


def generate_only(kwargs: dict[str, int]) -> int:
    from ucnstudy.demo import DemoParams, iter_chunks

    return sum(chunk.events for chunk in iter_chunks(DemoParams(**kwargs)))


def generate_and_load(db: str, kwargs: dict[str, int], memory_limit: str = "") -> int:
    from ucnstudy import open_study
    from ucnstudy.demo import DemoParams, generate_demo

    with open_study(db) as study:
        if memory_limit:  # DuckDB's buffer cache otherwise grows up to 80% of RAM
            study.engine.raw.execute("SET memory_limit = ?", [memory_limit])  # type: ignore[attr-defined]
        return generate_demo(study, DemoParams(**kwargs), enrich=False).events


def run(quick: bool) -> list[Result]:
    sizes = (100_000, 1_000_000) if quick else (1_000_000, 10_000_000)
    steps = {"generate only": None, "generate + load (DuckDB defaults)": "",
             "generate + load (DuckDB memory_limit 1GB)": "1GB"}
    results: list[Result] = []
    peaks: dict[str, list[float]] = {step: [] for step in steps}
    for target in sizes:
        kwargs = params_for(target)
        label = f"{kwargs['users']} users x {DAYS} days"
        for step, limit in steps.items():
            note = ""
            if limit is None:
                seconds, peak, events = in_subprocess(generate_only, kwargs)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    db = str(Path(tmp) / "demo.duckdb")
                    seconds, peak, events = in_subprocess(generate_and_load, db, kwargs, limit)
                    note = f"file {Path(db).stat().st_size / 2**20:,.0f} MiB"
            peaks[step].append(peak)
            results.append(Result(f"{step}, {label}", seconds, events, "events", peak, note))
    for step, (small, large) in peaks.items():
        results.append(Result(f"peak memory ratio {sizes[1]:,} / {sizes[0]:,} events: {step}", 0.0, 0,
                              "events", large, f"ratio {large / small:.2f} (1.0 = bounded)"))
    return results
