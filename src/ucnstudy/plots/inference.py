"""Figures of the evaluation against ground truth: precision-recall, sweeps, per-device timelines.

Precision-recall plots put recall on x and precision on y (the original's "ROC" plots had the
axes swapped and mislabelled, bug 33).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ucnstudy.inference.intervals import Intervals
from ucnstudy.inference.metrics import confusion_segments, local_day_span
from ucnstudy.plots.style import NamedFigure, colors, new_figure

TIMELINE_COLORS = {"TP": "#2ca02c", "FP": "#d62728", "FN": "#7f7f7f"}


def pr_figure(totals: pd.DataFrame, sweeps: pd.DataFrame) -> NamedFigure:
    """Each configuration as a point; each swept parameter as a curve."""
    fig, axes = new_figure(figsize=(7, 5.5))
    ax = axes[0, 0]
    if not sweeps.empty:
        curves = sweeps.groupby(["sweep", "config"], sort=False)
        for (sweep, config), s in curves:
            if sweep == "without_filter" or len(s) < 2:
                continue
            s = s.sort_values("recall")
            ax.plot(s["recall"], s["precision"], marker=".", lw=1, alpha=0.7, label=f"{config} ({sweep})")
    for (_, r), c in zip(totals.iterrows(), colors(len(totals)), strict=True):
        marker = "s" if r["family"] == "original" else "o"
        ax.scatter([r["recall"]], [r["precision"]], marker=marker, color=c, s=60, zorder=3,
                   label=r["config"], edgecolor="black")
    ax.set_xlabel("recall (share of true active seconds detected)")
    ax.set_ylabel("precision (share of detected seconds truly active)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=6, loc="lower left", ncol=2)
    return NamedFigure("inference-precision-recall", "Precision against recall, per second", fig,
                       "Squares: the original's configurations; circles: ucnstudy's; curves: sweeps.")


def sweep_figures(sweeps: pd.DataFrame) -> list[NamedFigure]:
    out = []
    for sweep, s in sweeps.groupby("sweep", sort=False):
        if sweep == "without_filter":
            continue
        fig, axes = new_figure(1, 3, figsize=(12, 3.6), sharex=True)
        for config, c in s.groupby("config", sort=False):
            for ax, metric in zip(axes[0], ("precision", "recall", "f1"), strict=True):
                ax.plot(c["value"], c[metric], marker="o", label=config)
                ax.set_ylabel(metric)
                ax.set_xlabel(str(sweep))
                ax.set_ylim(0, 1.02)
        axes[0, 2].legend(fontsize=6)
        out.append(NamedFigure(f"inference-sweep-{sweep}", f"Sweep of {sweep}", fig,
                               f"Precision, recall and F1 (all devices) as {sweep} varies."))
    return out


def timeline_figure(name: str, pred: Intervals, truth: Intervals, tolerance: int, tz: str
                    ) -> NamedFigure:
    """One device: one row per local date, hour of day on x, TP/FP/FN seconds coloured."""
    both = [x for x in (pred, truth) if len(x)]
    lo, hi = min(int(x.starts[0]) for x in both), max(int(x.ends[-1]) for x in both)
    span = local_day_span(lo, hi, tz)
    segments = confusion_segments(pred, truth, tolerance, span)
    days = pd.date_range(pd.Timestamp(span[0], unit="s", tz="UTC").tz_convert(tz).normalize(),
                         periods=max(1, round((span[1] - span[0]) / 86400)), freq="D")
    fig, axes = new_figure(figsize=(9, 0.25 * len(days) + 1.5))
    ax = axes[0, 0]
    for kind, iv in segments.items():
        if not len(iv):
            continue
        s = pd.to_datetime(iv.starts, unit="s", utc=True).tz_convert(tz)
        row = np.searchsorted(days.tz_localize(None).values, s.tz_localize(None).normalize().values)
        hour = (s.hour + s.minute / 60 + s.second / 3600).to_numpy()
        width = (iv.ends - iv.starts) / 3600
        ax.barh(row, width, left=hour, height=0.8, color=TIMELINE_COLORS[kind], label=kind, lw=0)
    ax.set_yticks(range(len(days)), [d.strftime("%a %d %b") for d in days], fontsize=6)
    ax.set_xlim(0, 24)
    ax.set_xlabel("hour of day (local time)")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="upper right")
    return NamedFigure(f"inference-timeline-{name}", f"Detected vs true activity: {name}", fig,
                       "Green: true positive seconds; red: false positives; grey: missed (FN).")


def evaluation_figures(result: Any, max_devices: int = 6) -> list[NamedFigure]:
    """Every figure of an `Evaluation` (inference.evaluation)."""
    figures = [pr_figure(result.totals(), result.sweeps)]
    if not result.sweeps.empty:
        figures += sweep_figures(result.sweeps)
    best = result.best("ucnstudy")["config"]
    tz = result.timezones
    for dev in list(result.truth)[:max_devices]:
        det = result.detections[best].get(dev, Intervals.empty())
        login = result.devices.get(dev, str(dev))
        figures.append(timeline_figure(f"{login}".replace("/", "_"), det, result.truth[dev],
                                       result.params.tolerance, tz.get(dev, "UTC")))
    return figures
