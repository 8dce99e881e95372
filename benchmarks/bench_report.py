"""`ucn report` on the default demo study (`ucn demo` defaults: 25 users, 21 days, about 5.3M
events; $UCN_BENCH_REPORT_DB names an existing study to use instead, e.g. /tmp/demo.duckdb).

Measured in the same run, each in a fresh process: the report drawing figures in the main
process (workers=0) and with worker processes drawing while the analyses run (workers=2, the
CLI default on this 2-core machine); wall time, CPU time (the process and its workers) and peak
memory; then, in one process, the CPU of each part: every analysis table once, the evaluation
section, and building and saving the figures of each analysis (issue 11: 30 s for the
report). Peak memory is the largest of the processes measured so far (the ucn command or one
of its workers).
`--quick` uses 5 users over 7 days. Studies are generated once into $UCN_BENCH_DIR
(default /tmp/ucn-bench) and reused.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.runner import Result, in_subprocess

CACHE = Path(os.environ.get("UCN_BENCH_DIR", "/tmp/ucn-bench"))


def demo_study(users: int, days: int) -> tuple[Path, int]:
    given = os.environ.get("UCN_BENCH_REPORT_DB")
    if given:
        return Path(given), in_subprocess(_events, given)[2]
    path = CACHE / f"report-demo-{users}u-{days}d.duckdb"
    marker = path.with_suffix(".events")
    if not marker.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _, _, events = in_subprocess(_generate, str(path), users, days)
        marker.write_text(str(events))
    return path, int(marker.read_text())


def _events(path: str) -> int:
    from ucnstudy import open_study
    from ucnstudy.schema import TIME_COLUMNS

    with open_study(path, read_only=True) as study:
        return sum(int(study.table(name).count().execute()) for name in TIME_COLUMNS)


def _generate(path: str, users: int, days: int) -> int:
    from ucnstudy import open_study
    from ucnstudy.demo import DemoParams, generate_demo

    Path(path).unlink(missing_ok=True)
    with open_study(path) as study:
        return generate_demo(study, DemoParams(users=users, days=days, seed=1)).events


def _report(path: Path, workers: int) -> tuple[float, float, float, int]:
    """`ucn report` as a command: wall seconds, CPU seconds (with its workers), peak MiB, figures."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    ucn = Path(sys.executable).with_name("ucn")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([str(ucn), "--db", str(path), "report", "--out", out, "--workers", str(workers)],
                       check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        figures = len(list((Path(out) / "figures").glob("*.png")))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, cpu, after.ru_maxrss / 1024, figures


def _parts(path: str) -> tuple[float, float, list[tuple[str, int, float]]]:
    """CPU seconds of every analysis table once, of the evaluation section, and per analysis
    run of building and saving its figures: (tables, evaluation, [(run, figures, seconds)])."""
    from ucnstudy import open_study
    from ucnstudy.inference.report_section import inference_report_section
    from ucnstudy.plots import FigureContext, build_figures
    from ucnstudy.report import ReportOptions
    from ucnstudy.report.assemble import focus_users, user_timezones
    from ucnstudy.report.render import RenderOptions, render_figure
    from ucnstudy.report.runs import RunCache, planned_runs

    with open_study(path, read_only=True) as study:
        t0 = time.process_time()
        cache = RunCache(study, {})
        results = [cache.get(run) for run in planned_runs()]
        ctx = FigureContext(focus_users(cache, "selected"), user_timezones(study),
                            detail_users=ReportOptions().detail_users)
        t1 = time.process_time()
        inference_report_section(study)
        t2 = time.process_time()
    figures = []
    with tempfile.TemporaryDirectory() as out:
        (Path(out) / "figures").mkdir()
        for result in results:
            if result.run.figures and result.frame is not None:
                started = time.process_time()
                built = build_figures(result.run.analysis, result.frame, result.params, ctx)
                for named in built:
                    render_figure(named, RenderOptions(Path(out), 100))
                figures.append((result.run.key, len(built), time.process_time() - started))
    return t1 - t0, t2 - t1, figures


def run(quick: bool) -> list[Result]:
    users, days = (5, 7) if quick else (25, 21)
    path, events = demo_study(users, days)
    label = f"{events / 1e6:.1f}M events" + ("" if os.environ.get("UCN_BENCH_REPORT_DB")
                                             else f" ({users} users x {days} days)")
    results = []
    for workers in (0, 2):
        seconds, cpu, peak, figures = _report(path, workers)
        results.append(Result(f"ucn report, workers={workers}, {label}", seconds, events, "events", peak,
                              f"CPU {cpu:.0f} s, {figures} figures"))
    tables_s, evaluation_s, figures = in_subprocess(_parts, str(path))[2]
    results.append(Result("  CPU: every analysis table once", tables_s))
    results.append(Result("  CPU: the evaluation section (its figures built, not saved)", evaluation_s))
    count, drawing = sum(n for _, n, _ in figures), sum(s for _, _, s in figures)
    results.append(Result("  CPU: build + save every analysis figure", drawing, count, "figures",
                          note=f"{drawing / max(count, 1):.2f} s per figure (PNG)"))
    for key, n, seconds in figures:
        results.append(Result(f"    {key}", seconds, n, "figures", note=f"{seconds / max(n, 1):.2f} s each"))
    results.append(Result("workers=2 / workers=0 wall time", results[1].seconds,
                          note=f"ratio {results[1].seconds / results[0].seconds:.2f}"))
    return results
