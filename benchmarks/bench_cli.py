"""Start-up time of the `ucn` command: `ucn --help`, every `ucn ... --help`, and `ucn info`.

Each command runs as a user runs it, a fresh process running what the `ucn` entry point runs;
best wall time of REPEAT runs, with the CPU time (user + system) of that run.
Floors measured in the same run: an empty interpreter, and a two-line Typer app (one `--db`
option, one command) asked for the command's help: what any command line on Typer 0.29 pays
(Typer, Rich's help formatting, and pydantic, which Typer uses to coerce every option value);
each line also shows ucnstudy's own cost over that floor. `ucn info` reads the default demo study
(`ucn demo`: 25 users, 21 days), generated once into $UCN_BENCH_DIR (default /tmp/ucn-bench);
`--quick` uses 4 users over 3 days and times only a few commands. Targets (issue 11): help at
most 0.3 s, info at most 0.5 s.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.runner import Result

CACHE = Path(os.environ.get("UCN_BENCH_DIR", "/tmp/ucn-bench"))
REPEAT = 5
HELP_TARGET, INFO_TARGET = 0.3, 0.5
UCN = [sys.executable, "-c", "import sys; from ucnstudy.cli import main; sys.exit(main())"]  # = ucn


def timed(argv: list[str], repeat: int = REPEAT) -> tuple[float, float]:
    """(best wall seconds, CPU seconds of that run) of a command, output discarded."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, (wall, cpu))
    return best


def help_commands() -> list[list[str]]:
    from ucnstudy.cli import app

    out: list[list[str]] = [[]]
    out += [[c.name or c.callback.__name__] for c in app.registered_commands]  # type: ignore[union-attr]
    for group in app.registered_groups:
        out.append([group.name])  # type: ignore[list-item]
        out += [[group.name, c.name or c.callback.__name__]  # type: ignore[list-item, union-attr]
                for c in group.typer_instance.registered_commands]  # type: ignore[union-attr]
    return out


def demo_study(users: int, days: int) -> Path:
    path = CACHE / f"cli-demo-{users}u-{days}d.duckdb"
    if not path.with_suffix(".done").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([*UCN, "--db", str(path), "demo", "--users", str(users), "--days", str(days)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        path.with_suffix(".done").write_text("")
    return path


TYPER_APP = """import typer
app = typer.Typer()
@app.callback()
def root(db: str = typer.Option(None, "--db", help="study")) -> None: ...
@app.command()
def info() -> None:
    "Tables."
app(["info", "--help"])
"""


def result(name: str, wall: float, cpu: float, target: float | None = None,
           floor: tuple[float, float] | None = None) -> Result:
    note = f"cpu {cpu:.2f} s"
    if floor is not None:
        note += f"; over the Typer floor: {wall - floor[0]:+.2f} s wall, {cpu - floor[1]:+.2f} s cpu"
    if target is not None:
        note += ("  met" if wall <= target else "  OVER") + f" (target {target} s)"
    return Result(name, wall, note=note)


def run(quick: bool) -> list[Result]:
    results = [result("floor: python -c pass", *timed([sys.executable, "-c", "pass"]))]
    floor = timed([sys.executable, "-c", TYPER_APP])
    results.append(result("floor: a two-line Typer app, `info --help`", *floor))
    commands = help_commands()
    if quick:
        commands = [c for c in commands if c in ([], ["info"], ["analyze"], ["analyze", "activities"])]
    for argv in commands:
        label = " ".join(["ucn", *argv, "--help"])
        results.append(result(label, *timed([*UCN, *argv, "--help"]), HELP_TARGET, floor))
    study = demo_study(4, 3) if quick else demo_study(25, 21)
    results.append(result(f"ucn info ({study.name})", *timed([*UCN, "--db", str(study), "info"]),
                          INFO_TARGET, floor))
    return results
