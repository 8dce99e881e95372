"""`ucn analyze NAME` as a command against the same analysis in a Python script.

Both are whole processes, timed from outside (best of REPEAT): the command writes the table as
Parquet; the script imports ucnstudy, opens the study, runs the analysis and writes the same
Parquet file. The difference is what the command adds beyond the work itself (building the
command line, its imports beyond the analysis's, output): target at most 0.4 s. The study is
the 1M-event study of bench_baselines. Both use one compiled-SQL cache (store/sqlcache.py) in a
temporary directory, filled by an untimed run first: the numbers are warm for both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.extracts import events_of, study_folder
from benchmarks.runner import Result

REPEAT = int(os.environ.get("UCN_BENCH_REPEAT", "3"))
ANALYSES = ("user-summary", "activities", "heatmap")
SCRIPT = """
import sys
import ucnstudy
from ucnstudy.analyses import ANALYSES
with ucnstudy.open(sys.argv[1], read_only=True) as study:
    ANALYSES[sys.argv[2]].run(study).to_parquet(sys.argv[3], index=False)
"""


def _best(argv: list[str], cache: str, repeat: int = REPEAT) -> float:
    best = float("inf")
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "UCN_CACHE_DIR": cache}
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        best = min(best, time.perf_counter() - t0)
    return best


def run(quick: bool) -> list[Result]:
    folder = study_folder(1_000_000)
    db, events = str(folder / "study.duckdb"), events_of(folder)
    ucn = str(Path(sys.executable).with_name("ucn"))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = os.path.join(tmp, "out.parquet"), os.path.join(tmp, "cache")
        for name in ANALYSES[:1] if quick else ANALYSES:
            _best([sys.executable, "-c", SCRIPT, db, name, out], cache, repeat=1)  # fills the cache
            command = _best([ucn, "--db", db, "analyze", name, "--format", "parquet", "--out", out],
                            cache)
            script = _best([sys.executable, "-c", SCRIPT, db, name, out], cache)
            extra = command - script
            results.append(Result(f"ucn analyze {name} (command)", command, events))
            results.append(Result(f"{name} as a Python script", script, events,
                                  note=f"command overhead {extra:+.2f} s (target <= 0.4 s: "
                                       f"{'met' if extra <= 0.4 else 'NOT MET'})"))
    results.append(Result("machine load average (1 min)", 0.0, note=f"{os.getloadavg()[0]:.1f}"))
    return results
