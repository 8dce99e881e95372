"""`ucn demo`'s own work on the default study (DemoParams() defaults, with enrichment, into a
fresh DuckDB file, in a fresh process): end to end and per step (generate and load, index and
checkpoint, enrich), its CPU time (every thread) and peak memory. The issue-11 target is
500,000 rows/s end to end (rows of every table). `--quick` changes nothing (one run, ~1 min).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.runner import Result, in_subprocess


def default_demo_steps(db: str) -> tuple[int, int, dict[str, float], float]:
    """`ucn demo`'s work on the default study: (rows, events, seconds per step, CPU seconds)."""
    from ucnstudy import open_study
    from ucnstudy.demo import DemoParams, generate_demo

    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    last = ["start", t0]

    def on_progress(step: str, done: int, total: int) -> None:
        if step != last[0]:  # a step ends where the next begins
            now = time.perf_counter()
            steps[str(last[0])] = steps.get(str(last[0]), 0.0) + now - float(last[1])
            last[:] = [step, now]

    cpu0 = time.process_time()
    with open_study(db) as study:
        result = generate_demo(study, DemoParams(), on_progress=on_progress)
    steps[str(last[0])] = steps.get(str(last[0]), 0.0) + time.perf_counter() - float(last[1])
    return sum(result.rows.values()), result.events, steps, time.process_time() - cpu0


def run(quick: bool) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "demo.duckdb")
        seconds, peak, (rows, events, steps, cpu) = in_subprocess(default_demo_steps, db)
    results.append(Result("ucn demo, default study (rows of every table)", seconds, rows, "rows", peak,
                          f"CPU {cpu:.1f} s (all threads); {events:,} events; target 500,000 rows/s"))
    for step, step_seconds in steps.items():
        results.append(Result(f"  step: {step}", step_seconds))
    return results
