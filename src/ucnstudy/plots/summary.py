"""Per-user bar panels of `user-summary` (the notebook's 5x2 figure) and of `select-users`.

Rows: duration (days), active time (log, 1min/1h/1day), traffic (log, 1KB/1MB/1GB), DNS responses
(log), HTTP requests (log). Columns: one per country, France left and the UK right, users sorted
by duration. The notebook numbered users 0..n; the bars here are labelled with user names.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from ucnstudy.plots.style import (
    BYTE_TICKS,
    MINUTE_TICKS,
    NamedFigure,
    log_ticks,
    new_figure,
    no_data,
)

COUNTRY_ORDER = ("fr", "uk")
COUNTRY_NAMES = {"fr": "France", "uk": "UK"}
MIB = 1024.0**2


def _log_rows() -> list[tuple[str, str, Callable[[pd.DataFrame], pd.Series], tuple | None]]:
    """(title, y label, value of a user, labelled log ticks or None for a plain log axis)."""
    return [
        ("Active time", "Total active time", lambda d: d["active_min"], MINUTE_TICKS),
        ("Traffic", "Total traffic (in + out)",
         lambda d: (d["mib_in"] + d["mib_out"]) * MIB, BYTE_TICKS),
        ("DNS", "DNS responses", lambda d: d["dns"], None),
        ("HTTP", "HTTP requests", lambda d: d["http"], None),
    ]


def country_columns(summary: pd.DataFrame) -> list[str]:
    """Countries in panel order: France, the UK, then any other in alphabetical order."""
    present = [str(c) for c in summary["country"].dropna().unique()]
    known = [c for c in COUNTRY_ORDER if c in present]
    return known + sorted(c for c in present if c not in COUNTRY_ORDER)


def user_summary_figures(summary: pd.DataFrame, params: object = None,
                         title: str = "Participants") -> list[NamedFigure]:
    countries = country_columns(summary) or ["fr", "uk"]
    fig, axes = new_figure(5, len(countries), figsize=(6 * len(countries), 15), sharex="col")
    for col, country in enumerate(countries):
        users = summary[summary["country"] == country].sort_values(
            ["total_days", "username"], ascending=[False, True])
        _bars(axes[0, col], users, users["total_days"].to_numpy(float), "Duration (days)")
        axes[0, col].set_title(f"{COUNTRY_NAMES.get(country, country.upper())} ({len(users)} users)")
        for row, (_, label, value, ticks) in enumerate(_log_rows(), start=1):
            ax = axes[row, col]
            _bars(ax, users, value(users).to_numpy(float), label)
            _log_axis(ax, value(users).to_numpy(float), ticks)
        axes[-1, col].set_xlabel("User")
    fig.suptitle(title)
    return [NamedFigure("user-summary", title, fig,
                        "Per-user duration, active time, traffic, DNS responses and HTTP requests, "
                        "per country, users sorted by duration.")]


def _bars(ax: Axes, users: pd.DataFrame, values: np.ndarray, ylabel: str) -> None:
    ax.set_ylabel(ylabel)
    if users.empty:
        no_data(ax, "no users")
        return
    x = np.arange(len(users))
    ax.bar(x, values, color=sns.color_palette("BuGn_d", len(users)), edgecolor="none")
    ax.set_xticks(x, users["username"].astype(str).tolist(), rotation=90, fontsize=8)
    ax.set_xlim(-0.6, len(users) - 0.4)


def _log_axis(ax: Axes, values: np.ndarray, ticks: tuple | None) -> None:
    """Log y axis whose range shows the smallest positive bar (zero bars stay empty)."""
    ax.set_yscale("log")
    positive = values[values > 0]
    floor = ticks[0][0] / 2 if ticks else 0.5  # counts: a bar of 1 is visible
    lo = min(float(positive.min()) / 2, floor) if positive.size else floor
    hi = float(positive.max()) * 2 if positive.size else 10.0
    if ticks:
        hi = max(hi, ticks[-1][0] * 1.5)
        log_ticks(ax, ticks, axis="y", lo=lo, hi=hi)
    ax.set_ylim(lo, hi)


def select_users_figures(selected: pd.DataFrame, params: object = None) -> list[NamedFigure]:
    """The same panels restricted to the selected users (it needs the user-summary columns)."""
    figs = user_summary_figures(selected, params, title="Selected users")
    figs[0].name = "select-users"
    figs[0].caption = "The users selected per country, with the user-summary panels."
    return figs
