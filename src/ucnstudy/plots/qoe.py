"""QoE factor figures: activity duration by network and device type, RTT against duration, the
per-user context matrix (activity-qoe), and the effect sizes with their tests (qoe-effects)."""

from __future__ import annotations

from typing import Any

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ucnstudy.plots.cdfs import plot_log_ecdf
from ucnstudy.plots.style import NamedFigure, line_colors, new_figure, no_data

NETWORK_ORDER = ("home", "work", "public", "cellular", "unknown")
SIGNIFICANT = 0.05


def _duration_cdfs(ax: Axes, acts: pd.DataFrame, by: str, order: tuple[str, ...] = ()) -> None:
    levels = [v for v in order if v in set(acts[by])] + sorted(set(acts[by]) - set(order))
    for level, color in zip(levels, line_colors(len(levels)), strict=True):
        values = acts.loc[acts[by] == level, "duration_s"].to_numpy(dtype=float)
        plot_log_ecdf(ax, values, label=f"{level} ({values.size})", color=color)
    if not levels:
        no_data(ax)
        return
    ax.set_xlabel("Activity duration")
    ax.set_ylabel("CDF")
    ax.legend(title=by.replace("_", " "), fontsize="small")


def duration_cdfs(acts: pd.DataFrame) -> NamedFigure:
    fig, axes = new_figure(1, 2, figsize=(11, 4))
    _duration_cdfs(axes[0, 0], acts, "network_type", NETWORK_ORDER)
    axes[0, 0].set_title("By network type")
    _duration_cdfs(axes[0, 1], acts, "device_type")
    axes[0, 1].set_title("By device type")
    return NamedFigure("activity-qoe-duration-cdfs", "Activity duration by network and device type",
                       fig, "Empirical CDFs of activity duration; legend: activities per line.")


def rtt_vs_duration(acts: pd.DataFrame) -> NamedFigure:
    fig, axes = new_figure(1, 2, figsize=(11, 4), sharey=True)
    for ax, column, side in zip(axes[0], ("rtt_access_ms", "rtt_internet_ms"),
                                ("access (device side)", "internet (server side)"), strict=True):
        known = acts.dropna(subset=[column])
        known = known[(known[column] > 0) & (known["duration_s"] > 0)]
        if known.empty:
            no_data(ax, "no TCP RTT in the flows")
            continue
        levels = [v for v in NETWORK_ORDER if v in set(known["network_type"])]
        for level, color in zip(levels, line_colors(len(levels)), strict=True):
            mine = known[known["network_type"] == level]
            ax.scatter(mine[column], mine["duration_s"], s=8, alpha=0.5, color=color, label=level)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"Median {side} RTT of the activity's flows (ms)")
        ax.legend(title="network", fontsize="small")
    axes[0, 0].set_ylabel("Activity duration (s)")
    return NamedFigure("activity-qoe-rtt-duration", "RTT against activity duration", fig,
                       "One point per activity with a measured RTT; log axes.")


def context_matrix(acts: pd.DataFrame) -> NamedFigure:
    """Users x (device type / network type): the share of each user's activities."""
    cells = acts.assign(context=acts["device_type"].fillna("?") + " / " + acts["network_type"])
    table = pd.crosstab(cells["username"], cells["context"], normalize="index")
    fig, axes = new_figure(figsize=(max(6.0, 1.1 * table.shape[1] + 3), 0.45 * len(table) + 2))
    ax = axes[0, 0]
    if table.empty:
        no_data(ax)
    else:
        image = ax.imshow(table.to_numpy(), aspect="auto", cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(table.shape[1]), table.columns, rotation=45, ha="right")
        ax.set_yticks(range(table.shape[0]), table.index)
        ax.grid(False)
        fig.colorbar(image, ax=ax, label="share of the user's activities")
    return NamedFigure("activity-qoe-context-matrix", "Per-user context matrix", fig,
                       "Share of each user's activities per device type and network type.")


def activity_qoe_figures(acts: pd.DataFrame, params: Any = None, ctx: Any = None
                         ) -> list[NamedFigure]:
    return [duration_cdfs(acts), rtt_vs_duration(acts), context_matrix(acts)]


def qoe_effects_figures(effects: pd.DataFrame, params: Any = None, ctx: Any = None
                        ) -> list[NamedFigure]:
    """Ratio of median durations per (factor, level) and user; filled markers: p < 0.05."""
    rows = effects[effects["measure"].isin(["duration_s", "duration_rel"]) & effects["ratio"].notna()
                   & (effects["ratio"] > 0)]
    fig, axes = new_figure(figsize=(9, 0.3 * max(len(rows), 4) + 1.5))
    ax = axes[0, 0]
    if rows.empty:
        no_data(ax)
    else:
        labels = (rows["factor"] + ": " + rows["level"] + " vs " + rows["reference"] + " — "
                  + rows["username"]).tolist()
        y = np.arange(len(rows))
        tested = rows["p_value"].notna().to_numpy()
        strong = tested & (rows["p_value"].fillna(1.0) < SIGNIFICANT).to_numpy()
        ratio = rows["ratio"].to_numpy(dtype=float)
        ax.scatter(ratio[strong], y[strong], color="C3", label=f"p < {SIGNIFICANT}")
        ax.scatter(ratio[tested & ~strong], y[tested & ~strong], facecolors="none",
                   edgecolors="C0", label="tested, not significant")
        ax.scatter(ratio[~tested], y[~tested], marker="x", color="0.5", label="too few to test")
        ax.axvline(1.0, color="0.3", lw=1)
        ax.set_xscale("log")
        ax.set_yticks(y, labels, fontsize="x-small")
        ax.invert_yaxis()
        ax.set_xlabel("Ratio of median activity durations (level / reference; QoS classes: "
                      "durations relative to their user, device and network type)")
        ax.legend(fontsize="small")
    return [NamedFigure("qoe-effects-duration-ratios", "Effects on activity duration", fig,
                        "Per user and over all users; Mann-Whitney U (per user) and Wilcoxon "
                        "signed-rank (over users) p-values, see docs/analyses.md.")]
