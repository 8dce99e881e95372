"""Inference benchmarks: per-second evaluation at scale, and the targets on the default demo study.

1. Scale: 10M events and 1M ground-truth seconds (200 devices, 28 days), synthetic arrays:
   ground-truth union, the window rule and activities on 10M events, and the per-second
   evaluation (TP/FP/FN/TN, P/R/F1 at 60 s tolerance) with day accuracy; target < 60 s in all.
2. Targets (not with --quick): `evaluate_study` on the default demo study ($UCN_DEMO_DB, or one
   generated in a temporary directory): the original's four configurations and ucnstudy's,
   the best of each family, and whether the best ucnstudy configuration reaches F1 >= 0.8 and
   beats the original's best on both precision and recall, measured in the same run.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.runner import Result, in_subprocess

T0 = 1_444_608_000  # Monday 12 October 2015, 00:00 UTC


def synthetic(events: int, truth_seconds: int, devices: int = 200, days: int = 28, seed: int = 0
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events (half inside sessions, half background) and sessions with the given totals."""
    rng = np.random.default_rng(seed)
    per_dev = truth_seconds // devices
    n_sessions = max(per_dev // 600, 1)
    dev = np.repeat(np.arange(devices), n_sessions)
    start = T0 + rng.integers(0, days * 86400 - 700, dev.size)
    end = start + per_dev // n_sessions
    sessions = pd.DataFrame({"devid": dev, "start": start.astype(float), "end": end.astype(float),
                             "fullscreen": False, "idle": False})
    inside = events // 2
    pick = rng.integers(0, dev.size, inside)
    ts_in = start[pick] + rng.random(inside) * (end[pick] - start[pick])
    ts_bg = T0 + rng.random(events - inside) * days * 86400
    ev = pd.DataFrame({"devid": np.concatenate([dev[pick], rng.integers(0, devices, events - inside)]),
                       "ts": np.concatenate([ts_in, ts_bg])})
    return ev.sort_values(["devid", "ts"], kind="stable").reset_index(drop=True), sessions


def _evaluate_at_scale(events: int, truth_seconds: int) -> dict[str, float]:
    from ucnstudy.inference.daybounds import day_accuracy
    from ucnstudy.inference.detectors import ActivityDetector, WindowDetector
    from ucnstudy.inference.groundtruth import GroundTruthParams, build_ground_truth
    from ucnstudy.inference.metrics import evaluate

    ev, sessions = synthetic(events, truth_seconds)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    truth = build_ground_truth(sessions, pd.DataFrame({"devid": [], "ts": []}), GroundTruthParams())
    timings["ground truth"] = time.perf_counter() - t
    timings["truth_seconds"] = float(sum(iv.total for iv in truth.values()))
    for name, detector in (("window W=0", WindowDetector(0)), ("activities", ActivityDetector(600))):
        t = time.perf_counter()
        det = detector.detect(ev)
        timings[f"detect {name}"] = time.perf_counter() - t
        t = time.perf_counter()
        table = evaluate(det, truth, tolerance=60)
        timings[f"evaluate {name}"] = time.perf_counter() - t
        timings[f"f1 {name}"] = float(table.iloc[-1]["f1"])
    t = time.perf_counter()
    day_accuracy(det, truth)
    timings["day accuracy (activities)"] = time.perf_counter() - t
    return timings


def _demo_targets(path: str) -> dict[str, object]:
    from ucnstudy import open_study
    from ucnstudy.inference.evaluation import evaluate_study

    with open_study(path, read_only=True) as study:
        t = time.perf_counter()
        result = evaluate_study(study)
        seconds = time.perf_counter() - t
    o, u = result.best("original"), result.best("ucnstudy")
    return {"seconds": seconds, "events": result.events, "totals": result.totals(),
            "original": o.to_dict(), "ucnstudy": u.to_dict()}


def _demo_path() -> str:
    path = os.environ.get("UCN_DEMO_DB")
    if path and Path(path).exists():
        return path
    from ucnstudy import open_study
    from ucnstudy.demo.generate import generate_demo
    from ucnstudy.demo.params import DemoParams

    target = str(Path(tempfile.mkdtemp(prefix="ucn-bench-inference-")) / "demo.duckdb")
    with open_study(target) as study:
        generate_demo(study, DemoParams())
    return target


def run(quick: bool) -> list[Result]:
    events, truth = (1_000_000, 100_000) if quick else (10_000_000, 1_000_000)
    seconds, peak, timings = in_subprocess(_evaluate_at_scale, events, truth)
    results = [Result(f"evaluation, {events:,} events, {int(timings['truth_seconds']):,} GT s",
                      seconds, events, "events", peak,
                      "target < 60 s: " + ("met" if seconds < 60 else "NOT met"))]
    for key, value in timings.items():
        if key.startswith(("f1", "truth")):
            continue
        f1 = timings.get("f1 " + key.split(" ", 1)[1])
        results.append(Result(f"  {key}", value, note=f"F1 {f1:.3f}" if key.startswith("evaluate") else ""))
    if quick:
        return results
    seconds, peak, demo = in_subprocess(_demo_targets, _demo_path())
    o, u = demo["original"], demo["ucnstudy"]
    beats = u["precision"] > o["precision"] and u["recall"] > o["recall"]
    results.append(Result("demo study: evaluate_study (all configurations)", seconds, demo["events"],
                          "events", peak))
    for label, row in (("best original", o), ("best ucnstudy", u)):
        results.append(Result(f"  {label}: {row['config']}", 0.0,
                              note=f"P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}"))
    results.append(Result("  targets", 0.0, note=f"F1 >= 0.8: {'met' if u['f1'] >= 0.8 else 'NOT met'}; "
                                                  f"beats original on P and R: {'yes' if beats else 'NO'}"))
    print(demo["totals"][["config", "precision", "recall", "f1"]].to_string(index=False))
    return results
