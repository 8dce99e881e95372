"""Benchmark plumbing: time a step in a fresh process and report its peak memory.

A benchmark module `benchmarks/bench_<name>.py` defines `run(quick: bool) -> list[Result]`.
Comparisons are ratios between results measured in the same run.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    name: str
    seconds: float
    units: float = 0.0  # events, packets, lines...
    unit: str = "events"
    peak_mib: float = 0.0
    note: str = ""

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        rate = f"{self.rate:>14,.0f} {self.unit}/s" if self.units else " " * 22
        return (f"{self.name:<48} {self.seconds:>9.2f} s {rate}  peak {self.peak_mib:>8,.0f} MiB"
                f"  {self.note}")


def peak_rss_mib() -> float:
    """Peak resident memory of this process (and waited-for children), in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def in_subprocess(fn: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    """Run fn(*args) in a fresh process: (seconds, peak MiB of that process, return value)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_timed, (fn, *args))


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    t0 = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - t0, peak_rss_mib(), value


def ratio(a: Result, b: Result) -> str:
    return f"{b.seconds / a.seconds:.1f}x" if a.seconds else "n/a"
