"""Per-second evaluation of detected activity against ground truth, by interval arithmetic.

For a device, P is the set of detected seconds, G the ground-truth seconds and t the tolerance;
dil(X) is the set of seconds within t of X. Then
  TP = |P and dil(G)|        detected seconds near a true second (precision's numerator)
  FP = |P and not dil(G)|    detected seconds far from any true second
  TP_truth = |G and dil(P)|  true seconds near a detected second (recall's numerator)
  FN = |G and not dil(P)|    true seconds far from any detection
  TN = span - |P or G|       seconds neither detected nor true
precision = TP / (TP + FP), recall = TP_truth / (TP_truth + FN), F1 their harmonic mean. With
t = 0, TP = TP_truth and these are the original's per-second counts. Each side is counted on its
own set, so a sparse detector cannot borrow the truth's seconds to look precise. The span runs
from local midnight before the first second (detected or true) to local midnight after the
last, as the original's "00:00:00 of the first day to 23:59:59 of the last day". Only devices
with ground truth are scored; the `all` row sums the counts over devices.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ucnstudy.inference.intervals import Intervals, sweep

P_BIT, G_BIT, DP_BIT, DG_BIT = 1, 2, 4, 8
COUNT_COLUMNS = ["tp", "fp", "fn", "tn", "tp_truth"]


def local_day_span(lo: int, hi: int, tz: str) -> tuple[int, int]:
    """[local midnight at or before lo, local midnight after hi - 1), epoch seconds."""
    first = pd.Timestamp(lo, unit="s", tz="UTC").tz_convert(tz).normalize()
    last_day = pd.Timestamp(hi - 1, unit="s", tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    last = (last_day + pd.Timedelta(days=1)).tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    return int(first.timestamp()), int(last.timestamp())


def confusion(pred: Intervals, truth: Intervals, tolerance: int, span: tuple[int, int]) -> dict[str, int]:
    """TP/FP/FN/TN seconds of one device (see the module docstring)."""
    pred = pred.clip(*span)
    truth = truth.clip(*span)
    lengths, mask = sweep(pred, truth, pred.dilate(tolerance), truth.dilate(tolerance))
    in_p, in_g = (mask & P_BIT) > 0, (mask & G_BIT) > 0
    near_p, near_g = (mask & DP_BIT) > 0, (mask & DG_BIT) > 0
    tp = int(lengths[in_p & near_g].sum())
    fp = int(lengths[in_p & ~near_g].sum())
    tp_truth = int(lengths[in_g & near_p].sum())
    fn = int(lengths[in_g & ~near_p].sum())
    either = int(lengths[in_p | in_g].sum())
    return {"tp": tp, "fp": fp, "fn": fn, "tn": span[1] - span[0] - either, "tp_truth": tp_truth}


def scores(counts: pd.DataFrame) -> pd.DataFrame:
    """Add precision, recall and F1 (NaN when undefined) to a frame of counts."""
    out = counts.copy()
    tp, fp, fn = (out[c].astype(float) for c in ("tp", "fp", "fn"))
    tp_truth = out["tp_truth"].astype(float) if "tp_truth" in out else tp
    out["precision"] = tp / (tp + fp).where(tp + fp > 0)
    out["recall"] = tp_truth / (tp_truth + fn).where(tp_truth + fn > 0)
    p, r = out["precision"], out["recall"]
    out["f1"] = (2 * p * r / (p + r).where(p + r > 0)).where(p.notna() & r.notna())
    return out


def evaluate(pred: Mapping[int, Intervals], truth: Mapping[int, Intervals], tolerance: int = 60,
             timezones: Mapping[int, str] | None = None) -> pd.DataFrame:
    """One row per ground-truth device plus an `all` row: device, counts, P, R, F1."""
    rows = []
    for dev in sorted(truth):
        g = truth[dev]
        p = pred.get(dev, Intervals.empty())
        both = [x for x in (p, g) if len(x)]
        if not both:
            continue
        lo = min(int(x.starts[0]) for x in both)
        hi = max(int(x.ends[-1]) for x in both)
        span = local_day_span(lo, hi, (timezones or {}).get(dev, "UTC"))
        rows.append({"device": str(dev), **confusion(p, g, tolerance, span)})
    counts = pd.DataFrame(rows, columns=["device", *COUNT_COLUMNS])
    total = counts[COUNT_COLUMNS].sum().to_dict() if len(counts) else dict.fromkeys(COUNT_COLUMNS, 0)
    counts = pd.concat([counts, pd.DataFrame([{"device": "all", **total}])], ignore_index=True)
    return scores(counts.astype({c: "int64" for c in COUNT_COLUMNS}))


def absence_counts(truth: Intervals, event_seconds: np.ndarray, span: tuple[int, int],
                   min_length: int = 1) -> np.ndarray:
    """Detected user events inside each absence period (complement of the truth in the span).

    Fixes bug 32: the complement is computed by interval arithmetic, so it never overlaps
    activity. Absence periods shorter than `min_length` seconds are ignored.
    """
    absent = truth.complement(*span)
    keep = (absent.ends - absent.starts) >= min_length
    starts, ends = absent.starts[keep], absent.ends[keep]
    sec = np.sort(np.asarray(event_seconds, np.int64))
    return np.searchsorted(sec, ends, side="left") - np.searchsorted(sec, starts, side="left")


def absence_summary(counts: np.ndarray) -> dict[str, float]:
    """Share of absence periods without a false user event, and quantiles of the counts."""
    if not counts.size:
        return {"periods": 0, "zero_share": float("nan"), "median": float("nan"),
                "p80": float("nan"), "max": float("nan")}
    return {"periods": int(counts.size), "zero_share": float(np.mean(counts == 0)),
            "median": float(np.median(counts)), "p80": float(np.quantile(counts, 0.8)),
            "max": float(counts.max())}


def confusion_segments(pred: Intervals, truth: Intervals, tolerance: int, span: tuple[int, int]
                       ) -> dict[str, Intervals]:
    """The TP, FP and FN seconds of one device as interval sets (for timelines)."""
    from ucnstudy.inference.intervals import union

    pred, truth = pred.clip(*span), truth.clip(*span)
    sets = (pred, truth, pred.dilate(tolerance), truth.dilate(tolerance))
    lengths, mask = sweep(*sets)
    points = np.sort(np.concatenate([x for s in sets for x in (s.starts, s.ends)]))
    starts, ends = points[:-1], points[1:]
    in_p, in_g = (mask & P_BIT) > 0, (mask & G_BIT) > 0
    near_p, near_g = (mask & DP_BIT) > 0, (mask & DG_BIT) > 0
    kinds = {"TP": (in_p & near_g) | (in_g & near_p), "FP": in_p & ~near_g, "FN": in_g & ~near_p}
    # (for a timeline, a true second near a detection is shown as found: green)
    return {k: union(starts[m & (lengths > 0)], ends[m & (lengths > 0)]) for k, m in kinds.items()}
