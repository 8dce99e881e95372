"""Heatmaps of the share of a user's bytes or events per local time bin (the notebook's
"Network Activity" and "User Activity" figures), one row per participant sorted by total.

Corrections: bins are in each user's local time (the analysis does that), rows are labelled with
user names, the colour scale is the data's (the notebook fixed vmax at 100 %, which washed out
every cell) and the weekday labels sit at the start of each day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ucnstudy.plots.style import WEEKDAYS, NamedFigure, new_figure, no_data

SHARE_COLUMNS = ("share_pct", "pct", "share")
DAY_MINUTES = 24 * 60


def share_column(frame: pd.DataFrame) -> str:
    for name in SHARE_COLUMNS:
        if name in frame.columns:
            return name
    raise KeyError(f"heatmap table has none of the columns {', '.join(SHARE_COLUMNS)}")


def heat_matrix(frame: pd.DataFrame, nbins: int) -> pd.DataFrame:
    """Users x bins matrix of shares, rows in the analysis order (by total), missing bins 0."""
    order = list(dict.fromkeys(frame["username"].astype(str)))
    matrix = frame.pivot_table(index="username", columns="bin", values=share_column(frame),
                               aggfunc="sum", fill_value=0.0)
    matrix.index = matrix.index.astype(str)
    return matrix.reindex(index=order, columns=range(nbins), fill_value=0.0)


def _heatmap(matrix: pd.DataFrame, title: str, xlabel: str,
             ax_size: tuple[float, float]) -> tuple[Figure, Axes]:
    fig, axes = new_figure(1, 1, figsize=ax_size)
    ax = axes[0, 0]
    if matrix.empty:
        no_data(ax, "no participants")
    else:
        vmax = max(float(np.nanmax(matrix.to_numpy())), 1e-9)
        sns.heatmap(matrix, ax=ax, cmap="rocket_r", vmin=0, vmax=vmax, linewidths=0.3,
                    cbar_kws={"label": "share of the user's total (%)"}, xticklabels=False,
                    yticklabels=True)
        ax.tick_params(axis="y", labelsize=7)
    ax.set_title(title)
    ax.set_ylabel("Participant (sorted by total)")
    ax.set_xlabel(xlabel)
    return fig, ax


def week_figure(frame: pd.DataFrame, bin_minutes: int, measure: str) -> NamedFigure:
    nbins = 7 * DAY_MINUTES // bin_minutes
    matrix = heat_matrix(frame, nbins)
    fig, ax = _heatmap(matrix, f"{measure} per {bin_minutes}-min bin of the week (local time)",
                       "Day of week (local time)", (13, 1.5 + 0.28 * max(len(matrix), 4)))
    if not matrix.empty:
        per_day = DAY_MINUTES / bin_minutes
        ax.set_xticks([d * per_day for d in range(7)], WEEKDAYS, rotation=0, ha="left")
    return NamedFigure("heatmap-week", f"Weekly heatmap ({measure})", fig,
                       f"Share of each participant's {measure.lower()} per {bin_minutes}-minute bin "
                       "of the week, Monday to Sunday, in the participant's local time.")


def hour_figure(frame: pd.DataFrame, bin_minutes: int, measure: str, days: str) -> NamedFigure:
    nbins = DAY_MINUTES // bin_minutes
    matrix = heat_matrix(frame, nbins)
    label = {"weekday": "week days", "weekend": "weekends"}.get(days, "all days")
    fig, ax = _heatmap(matrix, f"{measure} per hour of day, {label} (local time)",
                       "Hour of day (local time)", (10, 1.5 + 0.28 * max(len(matrix), 4)))
    if not matrix.empty:
        hours = range(0, 24, 3)
        ax.set_xticks([h * 60 / bin_minutes for h in hours], [f"{h:02d}h" for h in hours], rotation=0)
    return NamedFigure(f"heatmap-hour-{days}", f"Hour-of-day heatmap, {label} ({measure})", fig,
                       f"Share of each participant's {measure.lower()} per {bin_minutes}-minute bin of "
                       f"the day over {label}, in the participant's local time.")


def heatmap_figures(frame: pd.DataFrame, params: object = None, ctx: object = None) -> list[NamedFigure]:
    """Week view, or one hour-of-day view per day class (weekday, weekend, all) in the table."""
    by = str(getattr(params, "by", "week"))
    bin_minutes = int(getattr(params, "bin", 0) or (120 if by == "week" else 60))
    measure = "Events" if str(getattr(params, "of", "bytes")) == "events" else "Bytes"
    if by == "week":
        return [week_figure(frame, bin_minutes, measure)]
    if "days" not in frame.columns or frame.empty:
        return [hour_figure(frame, bin_minutes, measure, "all")]
    order = {"weekday": 0, "weekend": 1, "all": 2}
    parts = sorted(frame.groupby("days", sort=False), key=lambda item: order.get(str(item[0]), 3))
    return [hour_figure(part, bin_minutes, measure, str(days)) for days, part in parts]
