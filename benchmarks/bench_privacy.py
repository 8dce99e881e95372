"""Anonymised export vs plain export of the same demo study (issue 12: at most 3x).

The default demo study (25 users, 21 days; --quick: 3 users, 7 days) is generated once into a
DuckDB file; then, each in a fresh process (its own peak RSS), `ucn export --to DIR` (plain
Parquet), `ucn export --anonymize --to DIR` (Parquet) and `--to FILE.duckdb`, all at the
standard level, and once with the strict level (the time shift on). The ratio is against the
plain export of the same run; the machine may be shared, so read ratios, not seconds.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

from benchmarks.runner import Result, in_subprocess


def make_study(db: str, users: int, days: int) -> int:
    from ucnstudy import open_study
    from ucnstudy.demo import DemoParams, generate_demo

    with open_study(db) as study:
        generate_demo(study, DemoParams(users=users, days=days, seed=1))
        return sum(study.counts().values())


def cli(args: list[str]) -> int:
    from ucnstudy.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    if code != 0:
        raise RuntimeError(f"ucn {' '.join(args)} exited with {code}")
    return code


def run(quick: bool) -> list[Result]:
    users, days = (3, 7) if quick else (25, 21)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="ucn-bench-privacy-") as tmp:
        root = Path(tmp)
        db = str(root / "demo.duckdb")
        seconds, peak, rows = in_subprocess(make_study, db, users, days)
        results.append(Result(f"demo study {users} users x {days} days", seconds, rows, "rows", peak))
        key = root / "study.key"
        key.write_bytes(b"k" * 16 + bytes(range(16, 48)))
        steps = {
            "plain export (Parquet)": ["export", "--to", str(root / "plain")],
            "anonymised export (Parquet, standard)": [
                "export", "--anonymize", "--key-file", str(key), "--to", str(root / "anon")],
            "anonymised export (DuckDB file, standard)": [
                "export", "--anonymize", "--key-file", str(key), "--to", str(root / "anon.duckdb")],
            "anonymised export (Parquet, strict: shift on)": [
                "export", "--anonymize", "--key-file", str(key), "--level", "strict",
                "--to", str(root / "strict")],
        }
        plain = None
        for name, args in steps.items():
            seconds, peak, _ = in_subprocess(cli, ["--db", db, *args])
            plain = plain or seconds
            results.append(Result(name, seconds, rows, "rows", peak, f"{seconds / plain:.2f}x plain"))
            target = Path(args[-1])
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink()
    return results
