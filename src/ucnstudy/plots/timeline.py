"""The notebook's 4-panel per-user timeline: local date (x) against hour of day (y), one colour
per personal device, for device-traffic seconds, DNS responses, HTTP requests and user HTTP
requests (user_url). Correction: the notebook put the full timestamp on x, so each day was a
diagonal streak; here each local day is a column with one slot per device.

The timeline analysis counts events per local minute; those minutes are further reduced to one
point per plot cell per device (the same picture at a bounded cost) and drawn rasterized, so
that the SVG stays small for months of data.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from ucnstudy.plots.style import (
    NamedFigure,
    colors,
    date_axis,
    new_figure,
    no_data,
    outer_labels,
    slug,
    small_multiples,
)

KINDS = (
    ("traffic", "Device traffic (seconds with packets)"),
    ("dns", "DNS responses"),
    ("http", "HTTP requests"),
    ("user_http", "User HTTP requests (user_url)"),
)
HOUR_CELLS = 288  # 5-minute cells: finer than a dash's thickness at the rendered size
AXES_WIDTH_PT = 800.0  # about the width of the axes of a 12-inch figure, in points


def day_and_hour(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Local date (matplotlib day number) and local hour of day of each row."""
    days = mdates.date2num(pd.to_datetime(frame["local_date"]).to_numpy())
    hours = frame["hour"].to_numpy(float) + frame["minute"].to_numpy(float) / 60.0
    return days, hours


def reduce_points(day: np.ndarray, hour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One point per (day, hour cell): the picture is the same with far fewer markers."""
    if day.size == 0:
        return day, hour
    cell = np.floor(hour / 24.0 * HOUR_CELLS).astype(np.int64)
    _, first = np.unique(day.astype(np.int64) * (HOUR_CELLS + 1) + cell, return_index=True)
    return day[first], hour[first]


def timeline_user_figure(username: str, events: pd.DataFrame) -> NamedFigure:
    """Each day is a column; within it each device has its own slot, a dash per active minute."""
    days, hours = day_and_hour(events)
    counts = events["events"].to_numpy(float)
    first, last = (float(days.min()), float(days.max())) if days.size else (0.0, 0.0)
    platforms = events.drop_duplicates("login").set_index("login")["platform"]
    devices = sorted(events["login"].astype(str).unique())
    slot = 0.8 / max(len(devices), 1)  # share of a day's width per device
    dash = max(AXES_WIDTH_PT * slot / (last - first + 1), 1.0)  # marker length in points
    fig, axes = new_figure(4, 1, figsize=(12, 10), sharex=True)
    for ax, (kind, title) in zip(axes[:, 0], KINDS, strict=True):
        of_kind = (events["kind"] == kind).to_numpy()
        for i, (device, color) in enumerate(zip(devices, colors(len(devices)), strict=True)):
            mask = of_kind & (events["login"].astype(str) == device).to_numpy()
            x, y = reduce_points(days[mask], hours[mask])
            ax.scatter(x + 0.1 + slot * (i + 0.5), y, s=dash**2, marker="_", color=color,
                       linewidths=1.2, rasterized=True,
                       label=f"{device} [{platforms.get(device, '')}] ({int(counts[mask].sum()):,})")
        if of_kind.any():
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                      markerscale=min(1.0, 12 / dash))
        else:
            ax.text(0.5, 0.5, "no events", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_title(title)
        ax.set_ylim(0, 24)
        ax.set_yticks(range(0, 25, 6))
        ax.set_ylabel("Hour of day (local)")
    axes[-1, 0].set_xlim(first, last + 1)
    date_axis(axes[-1, 0])
    axes[-1, 0].set_xlabel("Local date")
    fig.suptitle(f"Timeline [user={username}]")
    return NamedFigure(f"timeline-{slug(username)}", f"Timeline: {username}", fig,
                       f"{username}: when each personal device was active, per local date (one column "
                       "per day, one slot per device) and hour of day; legends count the events.")


def timeline_grid_figure(frame: pd.DataFrame, users: list[str]) -> NamedFigure:
    """Every user's timeline in one figure: a small panel per user, events of any kind, one slot
    and colour per device; shared date and hour axes."""
    fig, axes = small_multiples(len(users), panel=(3.4, 2.3), sharex=True, sharey=True)
    days_all, hours_all = day_and_hour(frame)
    first, last = (float(days_all.min()), float(days_all.max())) if days_all.size else (0.0, 0.0)
    # row positions per (user, device) from one groupby: comparing the string columns once
    # per panel and device costs more than drawing the panels
    rows = frame.groupby([frame["username"].astype(str), frame["login"].astype(str)], sort=True).indices
    events = frame["events"].to_numpy()
    for ax, user in zip(axes, users, strict=True):
        devices = [(login, at) for (name, login), at in rows.items() if name == user]
        slot = 0.8 / max(len(devices), 1)
        for i, ((_, at), color) in enumerate(zip(devices, colors(len(devices)), strict=True)):
            x, y = reduce_points(days_all[at], hours_all[at])
            ax.scatter(x + 0.1 + slot * (i + 0.5), y, s=4, marker="s", color=color, linewidths=0,
                       rasterized=True)
        total = sum(int(events[at].sum()) for _, at in devices)
        ax.set_title(f"{user} ({len(devices)} devices, {total:,})", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylim(0, 24)
    axes[0].set_yticks(range(0, 25, 6))
    axes[0].set_xlim(first, last + 1)
    for ax in axes:
        date_axis(ax)
    outer_labels(axes, min(5, len(users)), "Local date", "Hour (local)")
    fig.suptitle("Timelines of every user (events of any kind; one colour and slot per device)")
    return NamedFigure("timeline-users", "Timelines, every user", fig,
                       "One panel per user: when each personal device had traffic, DNS, HTTP or user "
                       "HTTP events, per local date and hour of day; titles count the user's events. "
                       "Per kind and device: the per-user timelines below and the timeline table.")


def timeline_figures(frame: pd.DataFrame, params: object = None, ctx: object = None) -> list[NamedFigure]:
    """One detailed figure per focus user; with a detail limit in the context (the report), one
    small-multiples figure of every focus user first and the detailed figures for the first few."""
    focus = getattr(ctx, "focus_users", None)
    detail = getattr(ctx, "detail_users", None)
    users = [u for u in sorted(str(u) for u in frame["username"].dropna().unique())
             if focus is None or u in focus]
    figures = [] if detail is None or not users else [timeline_grid_figure(frame, users)]
    figures += [timeline_user_figure(u, frame[frame["username"] == u])
                for u in (users if detail is None else users[:detail])]
    if not figures:
        fig, axes = new_figure(1, 1, figsize=(6, 3))
        no_data(axes[0, 0], "no user with events")
        figures.append(NamedFigure("timeline", "Timelines", fig, "No user had events to show."))
    return figures
