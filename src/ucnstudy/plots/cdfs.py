"""ECDF figures on log time axes: the DNS-to-HTTP delay and the inter-event times.

Zero values (ties in timestamps, an HTTP request in the same microsecond as its DNS response)
cannot sit on a log axis; they still count in the ECDF, so the curve starts at their share
instead of at 0, and the caption says how many there were.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from ucnstudy.plots.style import (
    DAY,
    MINUTE,
    SECOND_TICKS,
    NamedFigure,
    colors,
    line_colors,
    log_ticks,
    new_figure,
    no_data,
    outer_labels,
    slug,
    small_multiples,
)

SPARSE_TICKS = tuple(t for t in SECOND_TICKS if t[1] in ("1ms", "1s", "1min", "1h", "1day", "1week"))
ZOOMS = ((0.0, "All inter-event times"), (MINUTE, "Zoom: gaps ≥ 1 min"), (10 * MINUTE, "Zoom: gaps ≥ 10 min"))


def plot_log_ecdf(ax: Axes, values: np.ndarray, *, floor: float = 0.0, label: str | None = None,
                  color: object = None, weights: np.ndarray | None = None) -> int:
    """Plot the ECDF of values >= floor on a log x axis; return how many values it covers.

    `weights` counts repeated values (a table of distinct values and their counts). With
    floor > 0 the curve is the conditional ECDF of the values at or above the floor, so a zoom
    spans the whole 0..1 range instead of a sliver near 1.
    """
    weights = np.ones(values.size) if weights is None else np.asarray(weights, dtype=float)
    finite = np.isfinite(values)
    values, weights = values[finite], weights[finite]
    keep = values >= floor if floor > 0 else np.ones(values.size, dtype=bool)
    if not keep.any():
        no_data(ax)
        return 0
    x, y = weighted_ecdf(values[keep], weights[keep])
    positive = x > 0
    px, py = thin_curve(x[positive], y[positive])
    ax.step(px, py, where="post", lw=2, label=label, color=color)
    log_time_axis(ax, x, floor)
    return round(float(weights[keep].sum()))


def log_time_axis(ax: Axes, values: np.ndarray, floor: float = 0.0,
                  ticks: tuple[tuple[float, str], ...] = SECOND_TICKS) -> None:
    """Log x axis from the labelled tick at or below the smallest positive value (or the floor)
    to the labelled tick at or above the largest; CDF on y."""
    positive = values[np.isfinite(values) & (values > 0)]
    smallest = float(positive.min()) if positive.size else 1.0
    top = max(float(positive.max()) if positive.size else 1.0, floor * 10 if floor > 0 else 1.0)
    hi = next((v for v, _ in SECOND_TICKS if v >= top), top)  # end on a labelled tick
    lo = floor if floor > 0 else max((v for v, _ in SECOND_TICKS if v <= smallest), default=smallest)
    if hi <= lo:  # a single distinct value: show it between two ticks
        hi = next((v for v, _ in SECOND_TICKS if v > lo), lo * 10)
    log_ticks(ax, ticks, axis="x", lo=lo, hi=hi)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("CDF")


def overlay_legend(ax: Axes, count: int) -> None:
    """A legend beside the axes (one entry per user), so that it hides no curve."""
    if count:
        ax.legend(fontsize=7, ncols=1 if count <= 20 else 2, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def weighted_ecdf(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and the share of the total weight at or below each (ends at exactly 1)."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return values[order], cum / cum[-1]


def thin_curve(x: np.ndarray, y: np.ndarray, points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """At most ~`points` steps, log-spaced in x, keeping the last (highest) y of each bin:
    the same picture as millions of steps, at a bounded drawing cost and SVG size."""
    if x.size <= points:
        return x, y
    edges = np.geomspace(x[0], x[-1], points)
    last = np.searchsorted(x, edges, side="right") - 1
    keep = np.unique(np.concatenate([[0], last[last >= 0], [x.size - 1]]))
    return x[keep], y[keep]


def dns_http_figures(pairs: pd.DataFrame, params: object = None, ctx: object = None) -> list[NamedFigure]:
    """CDF of the delay from a DNS response to the first HTTP request attributed to it."""
    fig, axes = new_figure(1, 1, figsize=(6, 4.5))
    ax = axes[0, 0]
    delays = pd.to_numeric(pairs["delay_s"], errors="coerce").to_numpy(float)
    matched = delays[np.isfinite(delays)]
    plot_log_ecdf(ax, matched)
    ax.set_xlabel("Delay from DNS response to first HTTP request")
    share = 100.0 * matched.size / len(pairs) if len(pairs) else 0.0
    ax.set_title(f"Time to first HTTP request ({matched.size:,} of {len(pairs):,} responses, {share:.1f}%)")
    within = 100.0 * float((matched <= MINUTE).mean()) if matched.size else 0.0
    caption = (f"{matched.size:,} DNS responses matched an HTTP request ({share:.1f}%); "
               f"{within:.1f}% of matched delays are within 1 min; "
               f"{int((matched == 0).sum()):,} zero delays count in the CDF but are off the log axis.")
    return [NamedFigure("dns-http-delay", "DNS to HTTP delay", fig, caption)]


def inter_event_user_figure(username: str, iat: np.ndarray, counts: np.ndarray) -> NamedFigure:
    """The notebook's triptych: the whole ECDF, then the gaps >= 1 min and >= 10 min."""
    fig, axes = new_figure(1, 3, figsize=(15, 4))
    for ax, (floor, title) in zip(axes[0], ZOOMS, strict=True):
        n = plot_log_ecdf(ax, iat, floor=floor, color=colors(1)[0], weights=counts)
        ax.set_title(f"{title} [{n:,} values]")
        ax.set_xlabel("Inter-event time")
    events = int(counts.sum()) + 1 if counts.size else 0
    fig.suptitle(f"Inter-event times [user={username}, events={events:,}]")
    return NamedFigure(f"inter-event-{slug(username)}", f"Inter-event times: {username}", fig,
                       f"{username}: ECDF of the gaps between consecutive events, whole range and "
                       "the tails at or above 1 min and 10 min (conditional ECDFs).")


def inter_event_figures(iats: pd.DataFrame, params: object = None, ctx: object = None) -> list[NamedFigure]:
    """One overlay of every user's ECDF, then one triptych per focus user.

    The table holds distinct gaps (iat_s) with their multiplicity (count), as inter-event does.
    """
    counts = iats["count"] if "count" in iats.columns else pd.Series(1, index=iats.index)
    by_user = {str(u): (g["iat_s"].to_numpy(float), counts.loc[g.index].to_numpy(float))
               for u, g in iats.groupby("username", sort=True)}
    fig, axes = new_figure(1, 1, figsize=(10, 5))
    ax = axes[0, 0]
    for (user, (values, weights)), color in zip(by_user.items(), line_colors(len(by_user)), strict=True):
        plot_log_ecdf(ax, values, label=user, color=color, weights=weights)
    if by_user:
        log_time_axis(ax, np.concatenate([v for v, _ in by_user.values()]))
    else:
        no_data(ax)
    overlay_legend(ax, len(by_user))
    ax.set_xlabel("Inter-event time")
    ax.set_title("Inter-event times, all users")
    figures = [NamedFigure("inter-event-all", "Inter-event times, all users", fig,
                           "ECDF of the gaps between a user's consecutive events, one line per user.")]
    focus = getattr(ctx, "focus_users", None)
    detail = getattr(ctx, "detail_users", None)
    users = [u for u in (focus if focus is not None else list(by_user)) if u in by_user]
    if detail is not None and users:
        figures.append(inter_event_grid_figure(users, by_user))
    for user in (users if detail is None else users[:detail]):
        figures.append(inter_event_user_figure(user, *by_user[user]))
    return figures


def inter_event_grid_figure(users: list[str], by_user: dict[str, tuple[np.ndarray, np.ndarray]]
                            ) -> NamedFigure:
    """The triptych of every user in one figure: a panel per user with the whole ECDF and the
    conditional ECDFs of the gaps >= 1 min and >= 10 min as three lines on one log axis."""
    fig, axes = small_multiples(len(users), panel=(3.2, 2.3), sharex=True, sharey=True)
    line = colors(len(ZOOMS))
    tails = ((0.0, "all gaps"), (MINUTE, "gaps ≥ 1 min"), (10 * MINUTE, "gaps ≥ 10 min"))
    for ax, user in zip(axes, users, strict=True):
        values, weights = by_user[user]
        finite = values[np.isfinite(values)]
        # a tail without values draws nothing (no_data would clear the ticks every panel shares)
        counts = [plot_log_ecdf(ax, values, floor=floor, color=color, weights=weights)
                  if (finite >= floor).any() else 0
                  for (floor, _), color in zip(tails, line, strict=True)]
        ax.set_title(f"{user} [{counts[0]:,} / {counts[1]:,} / {counts[2]:,}]", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylabel("")
    # shared by every panel; every other labelled tick, so that the labels fit a small panel
    log_time_axis(axes[0], np.concatenate([by_user[u][0] for u in users]), ticks=SPARSE_TICKS)
    outer_labels(axes, min(5, len(users)), "Inter-event time", "CDF")
    fig.legend([Line2D([], [], color=c, lw=2) for c in line], [label for _, label in tails],
               loc="upper right", ncols=3, fontsize=8, bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.suptitle("Inter-event times of every user (conditional ECDFs of the tails)")
    return NamedFigure("inter-event-users", "Inter-event times, every user", fig,
                       "One panel per user: ECDF of the gaps between consecutive events, and the "
                       "conditional ECDFs of the gaps at or above 1 min and 10 min; titles count the "
                       "gaps of each line.")


__all__ = ["DAY", "dns_http_figures", "inter_event_figures", "plot_log_ecdf"]
