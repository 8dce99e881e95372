"""Scale and engines: activities, dns-http, heatmap and user-summary on demo studies.

- DuckDB at 1M and 10M events (100M with UCN_BENCH_100M=1: generation alone takes long), with
  peak memory and the growth ratios 10M/1M and 100M/10M (n log n allows about 11.5 per 10x);
- PostgreSQL (the server on 127.0.0.1:5432, loaded through COPY) and Spark (local[2], over
  the study's Parquet export) at 10M, as ratios to DuckDB at the same size;
- the whole `ucn report` at 10M events (target: under 2 minutes).
`--quick` uses 100k and 1M events. Every timing runs in a fresh process (peak RSS of that
process) and includes opening the study, running the analysis's Ibis expression and fetching
its whole result as Arrow (store.fetch.to_arrow: COPY on PostgreSQL). Studies are generated
once into $UCN_BENCH_DIR (default /tmp/ucn-bench) and reused.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from benchmarks.runner import Result, in_subprocess

ANALYSES = ("activities", "dns-http", "heatmap", "user-summary")
EVENTS_PER_USER_DAY = 10_000  # measured on the demo generator (3 users x 2 days: 60k events)
DAYS = 14
CACHE = Path(os.environ.get("UCN_BENCH_DIR", "/tmp/ucn-bench"))
PG_ADMIN = os.environ.get("UCN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def demo_study(events: int) -> tuple[Path, int]:
    """A demo study of about `events` events (generated once): (path, actual events)."""
    users = max(1, round(events / (EVENTS_PER_USER_DAY * DAYS)))
    path = CACHE / f"demo-{users}u-{DAYS}d.duckdb"
    marker = path.with_suffix(".events")
    if not marker.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _, _, n = in_subprocess(_generate, str(path), users)
        marker.write_text(str(n))
    return path, int(marker.read_text())


def _generate(path: str, users: int) -> int:
    from ucnstudy import open_study
    from ucnstudy.demo import DemoParams, generate_demo

    Path(path).unlink(missing_ok=True)
    with open_study(path) as study:
        return generate_demo(study, DemoParams(users=users, days=DAYS, seed=5)).events


def _run_analysis(url: str, name: str) -> tuple[float, int]:
    """Open the study and compute one analysis to Arrow: (seconds, rows).

    The analysis's Ibis expression is fetched with store.fetch.to_arrow (COPY on PostgreSQL),
    the result the equality suite compares; analyses without one run to a DataFrame. Imports
    are done first and not timed (about 2 s, which would hide the analysis at small sizes)."""
    from ucnstudy import open_study
    from ucnstudy.analyses import ANALYSES as REGISTRY
    from ucnstudy.store.fetch import to_arrow

    analysis = REGISTRY[name]
    t0 = time.perf_counter()
    with open_study(url, read_only=True) as study:
        params = analysis.params()
        if analysis.expr is not None:
            rows = to_arrow(analysis.expression(study, params)).num_rows
        else:
            rows = len(analysis.run(study, params))
    return time.perf_counter() - t0, rows


def time_analyses(url: str, label: str, events: int) -> dict[str, Result]:
    out = {}
    for name in ANALYSES:
        _, peak, (seconds, rows) = in_subprocess(_run_analysis, url, name)
        out[name] = _shown(Result(f"{name} {label}", seconds, events, "events", peak, f"{rows:,} rows"))
    return out


def _shown(result: Result) -> Result:
    """Print each result as soon as it is measured (long runs), then return it."""
    print(result.line(), file=sys.stderr, flush=True)
    return result


def postgres_copy(path: Path, events: int) -> str:
    """The DuckDB study copied into a fresh PostgreSQL database through COPY (reused)."""
    import psycopg

    name = f"ucn_bench_{path.stem.replace('-', '_')}"
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                in_subprocess(_copy_to_postgres, str(path), url)
            except BaseException:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                raise
    return url


def _copy_to_postgres(path: str, url: str) -> None:
    from ucnstudy import open_study
    from ucnstudy.schema import TABLES
    from ucnstudy.store.fetch import to_batches

    with open_study(path, read_only=True) as source, open_study(url) as target:
        target.create_schema()
        batches = ((n, b) for n in TABLES if n != "imports" for b in to_batches(source.table(n)))
        target.import_rows("table", "benchmark", batches, sha256=uuid.uuid4().hex)


def parquet_export(path: Path) -> Path:
    target = path.with_suffix(".parquet.d")
    if not target.exists():
        in_subprocess(_export, str(path), str(target))
    return target


def _export(path: str, target: str) -> None:
    from ucnstudy import open_study
    from ucnstudy.store.export import export_study

    with open_study(path, read_only=True) as study:
        export_study(study, target)


def time_report(path: Path, events: int, label: str) -> Result:
    out = CACHE / f"report-{path.stem}"
    t0 = time.perf_counter()
    ucn = Path(sys.executable).with_name("ucn")
    proc = subprocess.run([str(ucn), "--db", str(path), "report", "--out", str(out)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    note = "ok (target < 120 s)" if proc.returncode == 0 else f"FAILED: {proc.stderr.strip()[-200:]}"
    return Result(f"ucn report {label}", seconds, events, "events", 0.0, note)


def _ratio_line(name: str, a: Result, b: Result, what: str) -> Result:
    return Result(f"{name} {what}", b.seconds, note=f"ratio {b.seconds / a.seconds:.2f}")


def run(quick: bool) -> list[Result]:
    sizes = [100_000, 1_000_000] if quick else [1_000_000, 10_000_000]
    if os.environ.get("UCN_BENCH_100M") == "1" and not quick:
        sizes.append(100_000_000)
    results: list[Result] = []
    duck: dict[int, dict[str, Result]] = {}
    paths: dict[int, tuple[Path, int]] = {}
    for size in sizes:
        paths[size] = demo_study(size)
        path, events = paths[size]
        duck[size] = time_analyses(str(path), f"duckdb {events / 1e6:.1f}M", events)
        results += duck[size].values()
    for small, big in itertools.pairwise(sizes):
        for name in ANALYSES:
            results.append(_shown(_ratio_line(name, duck[small][name], duck[big][name],
                                              f"duckdb {big // small}x events: time ratio")))
    engine_size = sizes[1]
    path, events = paths[engine_size]
    label = f"{events / 1e6:.1f}M"
    results.append(_shown(time_report(path, events, f"duckdb {label}")))
    for engine, url in (("postgres", lambda: postgres_copy(path, events)),
                        ("spark", lambda: f"spark:{parquet_export(path)}")):
        timed = time_analyses(url(), f"{engine} {label}", events)
        for name in ANALYSES:
            results += [timed[name], _shown(_ratio_line(name, duck[engine_size][name], timed[name],
                                                        f"{engine} / duckdb"))]
    return results
