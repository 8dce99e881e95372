"""Every analysis on DuckDB against the pandas and the polars script a researcher would write.

For each analysis (one entry of ENTRIES) and size (1M and 10M DNS+HTTP events; 100M with
UCN_BENCH_100M=1; `--quick`: 1M only), in one fresh process per implementation: ucnstudy's
in-process time (`ANALYSES[name].run(study)`, from opening the study file to the final
DataFrame), the pandas and polars times (from the Parquet extracts on disk to the same
DataFrame), each the best of REPEAT runs after the imports (ucnstudy twice: cold, with an empty
compiled-SQL cache, and warm, with the SQL cached and the query run on the data); the ratios
pandas/ucnstudy (target >= 3) and polars/ucnstudy (target >= 1), warm and cold; the peak RSS of
each process; and the numpy-sort floor of the user events' timestamps. Every baseline's result
is checked equal to ucnstudy's (rows in a canonical order, floats to 1e-9 relative). Adding an
analysis is one entry in ENTRIES plus its two baseline functions.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.extracts import events_of, study_folder
from benchmarks.runner import Result, in_subprocess, peak_rss_mib

REPEAT = int(os.environ.get("UCN_BENCH_REPEAT", "3"))  # best of REPEAT runs in each process


@dataclass(frozen=True)
class Entry:
    analysis: str  # registry name
    function: str  # the same name in baselines_pandas and baselines_polars


ENTRIES = tuple(Entry(name, name.replace("-", "_")) for name in (
    "activities", "dns-http", "inter-event", "heatmap", "timeline", "user-summary",
    "select-users", "traffic-by-port", "user-agents", "activity-context", "activity-qoe",
    "qoe-effects"))


def _best(fn: Callable[[], pd.DataFrame]) -> tuple[float, pd.DataFrame]:
    times, out = [], None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run_ucnstudy(folder: str, analysis: str, out: str) -> tuple[float, float, int, float]:
    """(best warm seconds, best cold seconds, rows, peak MiB); the result goes to the pickle
    `out` for the baselines (the parent never holds a result: a spawned child starts with its
    parent's peak RSS). Cold: an empty compiled-SQL cache (store/sqlcache.py: the expression is
    built and compiled); warm: the cache filled by the cold runs (the query still runs)."""
    import shutil

    import ucnstudy
    from ucnstudy.analyses import ANALYSES
    from ucnstudy.report.runs import load_analyses
    from ucnstudy.store import sqlcache

    load_analyses()
    entry = ANALYSES[analysis]
    cache = tempfile.mkdtemp(prefix="ucn-bench-sql-")
    os.environ["UCN_CACHE_DIR"] = cache

    def once() -> pd.DataFrame:
        with ucnstudy.open(os.path.join(folder, "study.duckdb"), read_only=True) as study:
            return entry.run(study)

    def cold() -> pd.DataFrame:
        sqlcache.clear_memory()
        shutil.rmtree(os.path.join(cache, "sql"), ignore_errors=True)
        return once()

    cold_s, _ = _best(cold)
    secs, df = _best(once)
    peak = peak_rss_mib()
    df.to_pickle(out)
    shutil.rmtree(cache, ignore_errors=True)
    return secs, cold_s, len(df), peak


def run_baseline(folder: str, module: str, function: str, ours: str) -> tuple[float, float, str]:
    """(best seconds, peak MiB before the check, difference from ucnstudy's result or '')."""
    import importlib

    fn = getattr(importlib.import_module(f"benchmarks.baselines_{module}"), function)
    secs, df = _best(lambda: fn(folder))
    peak = peak_rss_mib()
    return secs, peak, difference(pd.read_pickle(ours), df)


def sort_floor(folder: str) -> float:
    from benchmarks.baselines_pandas import sort_floor_input

    ts = sort_floor_input(folder)
    return min(_timed_sort(ts) for _ in range(REPEAT))


def _timed_sort(ts: np.ndarray) -> float:
    t0 = time.perf_counter()
    np.sort(ts)
    return time.perf_counter() - t0


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Values only, rows in one order: strings as objects, times as µs, None for missing."""
    out = pd.DataFrame(index=range(len(df)))
    for col in df.columns:
        s = df[col].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.astype("datetime64[us]").astype("int64").where(s.notna(), None)
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            s = s.astype("float64")
        else:
            s = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
        out[col] = s
    return out.sort_values(list(out.columns), na_position="first", kind="stable").reset_index(drop=True)


def difference(ours: pd.DataFrame, theirs: pd.DataFrame) -> str:
    """'' when equal, else what differs first."""
    if list(ours.columns) != list(theirs.columns):
        return f"columns {list(ours.columns)} vs {list(theirs.columns)}"
    if len(ours) != len(theirs):
        return f"{len(ours)} rows vs {len(theirs)}"
    try:
        pd.testing.assert_frame_equal(canonical(ours), canonical(theirs), check_dtype=False,
                                      rtol=1e-9, atol=1e-12)
    except AssertionError as exc:
        return " ".join(str(exc).split())[:300]
    return ""


def compare(folder: Path, entry: Entry, events: int, floor_s: float) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        ours = os.path.join(tmp, "ours.pickle")
        ours_s, cold_s, rows, peak = in_subprocess(run_ucnstudy, str(folder), entry.analysis,
                                                   ours)[2]
        label = f"{entry.analysis} @ {events / 1e6:.1f}M"
        results = [Result(f"{label} ucnstudy (DuckDB)", ours_s, events, peak_mib=peak,
                          note=f"{rows:,} rows; {ours_s / floor_s:.0f}x the numpy-sort floor; "
                               "warm: compiled SQL cached"),
                   Result(f"{label} ucnstudy cold", cold_s, events,
                          note="empty SQL cache: builds and compiles the expression")]
        for module, target in {"pandas": 3.0, "polars": 1.0}.items():
            secs, peak, diff = in_subprocess(run_baseline, str(folder), module, entry.function, ours)[2]
            ratio, cold_ratio = secs / ours_s, secs / cold_s
            verdict = "met" if ratio >= target else "NOT MET"
            cold_verdict = "met" if cold_ratio >= target else "NOT MET"
            results.append(Result(
                f"{label} {module}", secs, events, peak_mib=peak,
                note=f"{module}/ucnstudy warm {ratio:.2f}x (target >= {target:g}: {verdict}), "
                     f"cold {cold_ratio:.2f}x ({cold_verdict}); "
                     + ("same result" if not diff else f"DIFFERENT: {diff}")))
    return results


def sizes(quick: bool) -> list[int]:
    if quick or os.environ.get("UCN_BENCH_1M_ONLY"):
        return [1_000_000]
    if os.environ.get("UCN_BENCH_10M_ONLY"):
        return [10_000_000]
    return [1_000_000, 10_000_000] + ([100_000_000] if os.environ.get("UCN_BENCH_100M") else [])


def run(quick: bool, only: tuple[str, ...] = ()) -> Iterator[Result]:
    """The results one by one, as they are measured."""
    wanted = [e for e in ENTRIES if not only or e.analysis in only]
    for size in sizes(quick):
        folder = study_folder(size)
        events = events_of(folder)
        _, _, floor_s = in_subprocess(sort_floor, str(folder))
        yield Result(f"numpy-sort floor @ {events / 1e6:.1f}M (user events' timestamps)", floor_s)
        for entry in wanted:
            yield from compare(folder, entry, events, floor_s)
            yield Result("machine load average (1 min)", 0.0,
                         note=f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main(argv: Any = None) -> None:
    """`python -m benchmarks.bench_baselines [--quick] [ANALYSIS...]`: some analyses only."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    for result in run(quick, tuple(a for a in args if a != "--quick")):
        print(result.line(), flush=True)


if __name__ == "__main__":
    main()
