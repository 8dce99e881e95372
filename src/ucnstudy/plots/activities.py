"""Activity figures: per user the duration ECDF, the events-per-activity histogram and the
duration/events scatter (one row of three, as in the notebook), and the per-device activity map
(local start date against local start hour, marker area proportional to duration).

Corrections: the map is in the user's local time, an activity involving two devices is drawn
once per device (the notebook did so too, but coloured by a dict order), and the histogram has
integer bins.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.ticker import NullLocator

from ucnstudy.plots.cdfs import SPARSE_TICKS, log_time_axis, overlay_legend, plot_log_ecdf
from ucnstudy.plots.style import (
    SECOND_TICKS,
    NamedFigure,
    colors,
    date_axis,
    line_colors,
    log_ticks,
    new_figure,
    no_data,
    outer_labels,
    slug,
    small_multiples,
)

MAX_MARKER_AREA = 400.0


def _utc(values: pd.Series) -> pd.Series:
    """ISO-8601 UTC strings (or timestamps) as tz-aware UTC timestamps."""
    return pd.to_datetime(values, utc=True, format="ISO8601")


def activity_stats_figure(username: str, acts: pd.DataFrame) -> NamedFigure:
    fig, axes = new_figure(1, 3, figsize=(15, 4))
    durations = acts["duration_s"].to_numpy(float)
    events = acts["events"].to_numpy(int)
    ax1, ax2, ax3 = axes[0]
    plot_log_ecdf(ax1, durations, color=colors(1)[0])
    ax1.set_title(f"Activities [user={username}, count={len(acts):,}]")
    ax1.set_xlabel("Activity duration")
    if len(acts):
        edges = np.histogram_bin_edges(events, bins=min(40, int(events.max() - events.min()) + 1))
        ax2.hist(events, bins=np.unique(np.floor(edges)) if edges.size > 1 else 1, color=colors(2)[1])
        ax3.scatter(np.maximum(durations, 1e-3), events, marker="*", color=colors(3)[2], rasterized=True)
        log_ticks(ax3, SECOND_TICKS, axis="x", lo=1.0, hi=max(float(durations.max()), 60.0))
        ax3.set_ylim(0, float(events.max()) * 1.05)
    else:
        no_data(ax2)
        no_data(ax3)
    ax2.set_title("Histogram of events per activity")
    ax2.set_xlabel("Events per activity")
    ax2.set_ylabel("Activities")
    ax3.set_title("Duration and events")
    ax3.set_xlabel("Activity duration")
    ax3.set_ylabel("Events")
    return NamedFigure(f"activities-{slug(username)}", f"Activities: {username}", fig,
                       f"{username}: ECDF of activity durations, events per activity, and both together.")


def activity_map_figure(username: str, acts: pd.DataFrame, timezone: str) -> NamedFigure:
    """Activities by local date and start hour, one colour per contributing device."""
    fig, axes = new_figure(1, 1, figsize=(15, 4))
    ax = axes[0, 0]
    per_device = acts.assign(login=acts["devices"].astype(str).str.split("+")).explode("login")
    start = _utc(per_device["start"]).dt.tz_convert(timezone)
    per_device = per_device.assign(x=mdates.date2num(start.dt.tz_localize(None).to_numpy()),
                                   hour=(start.dt.hour + start.dt.minute / 60.0).to_numpy())
    max_duration = max(float(acts["duration_s"].max()), 1.0) if len(acts) else 1.0
    logins = sorted(per_device["login"].dropna().unique())
    for login, color in zip(logins, colors(len(logins)), strict=True):
        mine = per_device[per_device["login"] == login]
        area = mine["duration_s"].to_numpy(float) * MAX_MARKER_AREA / max_duration
        ax.scatter(mine["x"], mine["hour"], s=area, alpha=0.5, color=color, label=f"{login} ({len(mine)})",
                   rasterized=True)
    if logins:
        ax.legend(loc="upper left", fontsize=8)
        date_axis(ax)
    else:
        no_data(ax, "no activities")
    ax.set_ylim(0, 24)
    ax.set_yticks(range(0, 25, 6))
    ax.set_title(f"Activities per device [user={username}] (marker area ∝ duration)")
    ax.set_ylabel(f"Start hour ({timezone})")
    ax.set_xlabel("Local start date")
    return NamedFigure(f"activity-map-{slug(username)}", f"Activity map: {username}", fig,
                       f"{username}: each activity at its local start date and hour, per contributing "
                       "device; marker area proportional to duration.")


def activities_figures(acts: pd.DataFrame, params: object = None, ctx: object = None) -> list[NamedFigure]:
    """An overlay of every user's duration ECDF, then the per-user figures of the focus users."""
    fig, axes = new_figure(1, 1, figsize=(10, 5))
    ax = axes[0, 0]
    users = sorted(acts["username"].astype(str).unique())
    for user, color in zip(users, line_colors(len(users)), strict=True):
        plot_log_ecdf(ax, acts.loc[acts["username"] == user, "duration_s"].to_numpy(float),
                      label=user, color=color)
    if users:
        log_time_axis(ax, acts["duration_s"].to_numpy(float))
    else:
        no_data(ax, "no activities")
    overlay_legend(ax, len(users))
    ax.set_xlabel("Activity duration")
    ax.set_title("Activity durations, all users")
    figures = [NamedFigure("activities-all", "Activity durations, all users", fig,
                           "ECDF of activity durations, one line per user.")]
    focus = getattr(ctx, "focus_users", None)
    detail = getattr(ctx, "detail_users", None)
    timezones = getattr(ctx, "timezones", None) or {}
    users = [u for u in users if focus is None or u in focus]
    if detail is not None and users:
        figures += [activities_grid_figure(acts, users), activity_map_grid_figure(acts, users, timezones)]
    for user in (users if detail is None else users[:detail]):
        mine = acts[acts["username"] == user]
        figures.append(activity_stats_figure(user, mine))
        figures.append(activity_map_figure(user, mine, timezones.get(user, "UTC")))
    return figures


def activities_grid_figure(acts: pd.DataFrame, users: list[str]) -> NamedFigure:
    """Every user's activities as duration against events, a small panel per user, shared axes."""
    fig, axes = small_multiples(len(users), panel=(3.2, 2.3), sharex=True, sharey=True)
    names = acts["username"].astype(str).to_numpy()
    durations = np.maximum(acts["duration_s"].to_numpy(float), 1e-3)
    events = acts["events"].to_numpy(float)
    color = colors(3)[2]
    for ax, user in zip(axes, users, strict=True):
        mine = names == user
        ax.scatter(durations[mine], events[mine], s=12, marker=".", color=color, linewidths=0,
                   rasterized=True)
        ax.set_title(f"{user} ({int(mine.sum()):,} activities)", fontsize=8)
        ax.tick_params(labelsize=7)
    top = max(float(durations.max()), 60.0) if durations.size else 60.0
    log_ticks(axes[0], SPARSE_TICKS, axis="x", lo=1.0, hi=top)  # labels that fit a small panel
    axes[0].set_yscale("log")
    # no minor ticks: on 17 shared log axes they are most of the figure's drawing time
    axes[0].yaxis.set_minor_locator(NullLocator())
    outer_labels(axes, min(5, len(users)), "Activity duration", "Events")
    fig.suptitle("Activities of every user: duration and events per activity")
    return NamedFigure("activities-users", "Activities, every user", fig,
                       "One panel per user: each activity's duration against its events (log axes); "
                       "durations as ECDFs: the figure above; every activity: the activities table.")


def activity_map_grid_figure(acts: pd.DataFrame, users: list[str], timezones: dict[str, str]
                             ) -> NamedFigure:
    """Every user's activity map (local start date and hour, a colour per device, marker area
    proportional to duration) as a small panel per user."""
    fig, axes = small_multiples(len(users), panel=(3.4, 2.3), sharex=True, sharey=True)
    for ax, user in zip(axes, users, strict=True):
        mine = acts[acts["username"] == user]
        max_duration = max(float(mine["duration_s"].max()), 1.0) if len(mine) else 1.0
        per_device = mine.assign(login=mine["devices"].astype(str).str.split("+")).explode("login")
        start = _utc(per_device["start"]).dt.tz_convert(timezones.get(user, "UTC"))
        x = mdates.date2num(start.dt.tz_localize(None).to_numpy())
        hour = (start.dt.hour + start.dt.minute / 60.0).to_numpy()
        logins = per_device["login"].to_numpy()
        area = per_device["duration_s"].to_numpy(float) * MAX_MARKER_AREA / 4 / max_duration
        devices = sorted(set(logins[pd.notna(logins)]))
        for login, color in zip(devices, colors(len(devices)), strict=True):
            own = logins == login
            ax.scatter(x[own], hour[own], s=np.maximum(area[own], 3.0), alpha=0.6, color=color,
                       linewidths=0, rasterized=True)
        ax.set_title(f"{user} ({len(devices)} devices, {len(mine):,} activities)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylim(0, 24)
    axes[0].set_yticks(range(0, 25, 6))
    for ax in axes:
        date_axis(ax)
    outer_labels(axes, min(5, len(users)), "Local start date", "Start hour")
    fig.suptitle("Activities of every user by local start date and hour (a colour per device, "
                 "marker area ∝ duration)")
    return NamedFigure("activity-map-users", "Activity maps, every user", fig,
                       "One panel per user: each activity at its local start date and hour, per "
                       "contributing device; marker area proportional to duration (the user's longest: the "
                       "largest marker of the panel).")
