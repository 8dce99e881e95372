"""The notebook's 4-panel per-user timeline: local date (x) against hour of day (y), one marker
and colour per personal device, for device-traffic seconds, DNS responses, HTTP requests and
user HTTP requests (user_url).

The timeline analysis counts events per local minute; those minutes are further reduced to one
point per plot cell per device (the same picture at a bounded cost) and drawn rasterized, so
that the SVG stays small for months of data.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from ucnstudy.plots.style import MARKERS, NamedFigure, colors, date_axis, new_figure, no_data, slug

KINDS = (
    ("traffic", "Device traffic (seconds with packets)"),
    ("dns", "DNS responses"),
    ("http", "HTTP requests"),
    ("user_http", "User HTTP requests (user_url)"),
)
PIXELS_X, PIXELS_Y = 1500, 300  # reduction grid: finer than the rendered figure


def local_times(frame: pd.DataFrame) -> pd.Series:
    """The local wall-clock minute of each row (timeline gives local_date, hour and minute)."""
    return (pd.to_datetime(frame["local_date"]) + pd.to_timedelta(frame["hour"].astype("int64"), unit="h")
            + pd.to_timedelta(frame["minute"].astype("int64"), unit="m"))


def reduce_points(x: np.ndarray, y: np.ndarray, x_span: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Keep one point per grid cell: the scatter looks the same with far fewer markers."""
    if x.size == 0:
        return x, y
    width = max(x_span[1] - x_span[0], 1e-9)
    cx = np.floor((x - x_span[0]) / width * PIXELS_X).astype(np.int64)
    cy = np.floor(y / 24.0 * PIXELS_Y).astype(np.int64)
    _, first = np.unique(cx * (PIXELS_Y + 1) + cy, return_index=True)
    return x[first], y[first]


def timeline_user_figure(username: str, events: pd.DataFrame) -> NamedFigure:
    times = local_times(events)
    x_all = mdates.date2num(times.to_numpy())
    hours = (times.dt.hour + times.dt.minute / 60.0).to_numpy(float)
    counts = events["events"].to_numpy(float) if "events" in events.columns else np.ones(len(events))
    span = (float(x_all.min()), float(x_all.max())) if x_all.size else (0.0, 1.0)
    platforms = events.drop_duplicates("login").set_index("login")["platform"] \
        if "platform" in events.columns else pd.Series(dtype=object)
    devices = sorted(events["login"].astype(str).unique())
    palette = colors(len(devices))
    fig, axes = new_figure(4, 1, figsize=(12, 10), sharex=True)
    for ax, (kind, title) in zip(axes[:, 0], KINDS, strict=True):
        of_kind = (events["kind"] == kind).to_numpy()
        for i, device in enumerate(devices):
            mask = of_kind & (events["login"].astype(str) == device).to_numpy()
            x, y = reduce_points(x_all[mask], hours[mask], span)
            ax.scatter(x, y, s=6, marker=MARKERS[i % len(MARKERS)], color=palette[i],
                       label=f"{device} [{platforms.get(device, '')}] ({int(counts[mask].sum()):,})",
                       rasterized=True, linewidths=0.8)
        if not of_kind.any():
            ax.text(0.5, 0.5, "no events", ha="center", va="center", transform=ax.transAxes, color="0.4")
        else:
            ax.legend(loc="upper left", fontsize=7, markerscale=2)
        ax.set_title(title)
        ax.set_ylim(0, 24)
        ax.set_yticks(range(0, 25, 6))
        ax.set_ylabel("Hour of day (local)")
    axes[-1, 0].set_xlim(span[0] - 0.5, span[1] + 0.5)
    date_axis(axes[-1, 0])
    axes[-1, 0].set_xlabel("Local date")
    fig.suptitle(f"Timeline [user={username}]")
    return NamedFigure(f"timeline-{slug(username)}", f"Timeline: {username}", fig,
                       f"{username}: every event of each personal device by local date and hour of day.")


def timeline_figures(frame: pd.DataFrame, params: object = None, ctx: object = None) -> list[NamedFigure]:
    focus = getattr(ctx, "focus_users", None)
    users = [str(u) for u in frame["username"].dropna().unique()]
    figures = [timeline_user_figure(u, frame[frame["username"] == u])
               for u in sorted(users) if focus is None or u in focus]
    if not figures:
        fig, axes = new_figure(1, 1, figsize=(6, 3))
        no_data(axes[0, 0], "no user with events")
        figures.append(NamedFigure("timeline", "Timelines", fig, "No user had events to show."))
    return figures
