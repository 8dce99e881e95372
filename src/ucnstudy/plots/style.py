"""Shared figure style and axis helpers: Agg backend, seaborn theme, time and byte ticks, ECDFs.

Every builder goes through `new_figure()` so that figures never touch a display and never
accumulate in pyplot's global registry (a report builds hundreds of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates
import matplotlib.ticker
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

MINUTE, HOUR, DAY, WEEK = 60.0, 3600.0, 86400.0, 7 * 86400.0

# Log-axis ticks in seconds, labelled in human units (the notebook's ticks, with 12 h = 43200 s:
# the original placed the "12h" label at 12*2600 s, bug 22).
SECOND_TICKS: tuple[tuple[float, str], ...] = (
    (0.001, "1ms"), (0.1, "100ms"), (1.0, "1s"), (MINUTE, "1min"), (10 * MINUTE, "10min"),
    (HOUR, "1h"), (3 * HOUR, "3h"), (12 * HOUR, "12h"), (DAY, "1day"), (3 * DAY, "3days"),
    (WEEK, "1week"),
)
# Activity time in minutes (user-summary): 1 min, 1 h, 1 day.
MINUTE_TICKS: tuple[tuple[float, str], ...] = ((1.0, "1min"), (60.0, "1h"), (1440.0, "1day"))
# Traffic volume in bytes, binary units as in the notebook (its "MB" was bytes / 2**20).
BYTE_TICKS: tuple[tuple[float, str], ...] = ((1024.0, "1KB"), (1024.0**2, "1MB"), (1024.0**3, "1GB"))
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PALETTE = "muted"
MARKERS = ("o", "x", "+", "s", "^", "v", "D", "*")


class InlineFigure(Figure):
    """A pyplot-free Figure that Jupyter shows inline whatever the backend (`_repr_png_`)."""

    def _repr_png_(self) -> bytes:
        from io import BytesIO

        buf = BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


@dataclass
class NamedFigure:
    """A figure with a file-safe name and a caption for the report."""

    name: str
    title: str
    figure: Figure
    caption: str = ""


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (8, 4),
               layout: str | None = "constrained", **kwargs: object) -> tuple[Figure, np.ndarray]:
    """A pyplot-free Figure with the study's seaborn style and a 2-D array of axes."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    fig = InlineFigure(figsize=figsize, layout=layout)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def date_axis(ax: Axes) -> None:
    """Dates on x without repeated labels (a day label once, hours only when zoomed in)."""
    locator = matplotlib.dates.AutoDateLocator(minticks=3, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))


def colors(n: int) -> list[tuple[float, float, float]]:
    return list(sns.color_palette(PALETTE, n)) if n > 0 else []


def line_colors(n: int) -> list[tuple[float, float, float]]:
    """Distinct colours for n lines: the muted palette up to 10, evenly spaced hues beyond."""
    return colors(n) if n <= 10 else list(sns.color_palette("husl", n))


def log_ticks(ax: Axes, ticks: Sequence[tuple[float, str]], *, axis: str = "x",
              lo: float | None = None, hi: float | None = None) -> None:
    """Log scale with labelled ticks, keeping only the ticks inside [lo, hi] when given."""
    keep = [(v, s) for v, s in ticks if (lo is None or v >= lo) and (hi is None or v <= hi)]
    if axis == "x":
        ax.set_xscale("log")
        ax.set_xticks([v for v, _ in keep], [s for _, s in keep])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    else:
        ax.set_yscale("log")
        ax.set_yticks([v for v, _ in keep], [s for _, s in keep])
        ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def tick_span(values: np.ndarray, ticks: Sequence[tuple[float, str]]) -> tuple[float, float]:
    """Axis limits covering the positive values and at least one labelled tick on each side."""
    positive = values[values > 0]
    if positive.size == 0:
        return ticks[0][0], ticks[-1][0]
    lo, hi = float(positive.min()), float(positive.max())
    below = [v for v, _ in ticks if v <= lo]
    above = [v for v, _ in ticks if v >= hi]
    return (below[-1] if below else lo), (above[0] if above else hi)


def ecdf(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and their empirical CDF, ending at exactly 1."""
    x = np.sort(np.asarray(values, dtype=float))
    y = np.arange(1, x.size + 1, dtype=float) / max(x.size, 1)
    return x, y


def no_data(ax: Axes, message: str = "no data") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def slug(text: str) -> str:
    """A file-name-safe version of a user or device name."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in str(text)).strip("-") or "x"


def small_multiples(n: int, *, panel: tuple[float, float] = (3.2, 2.2), max_cols: int = 5,
                    **kwargs: object) -> tuple[Figure, list[Axes]]:
    """One figure with a grid of n small panels (row by row), the unused cells hidden: every
    user's panel in one drawing, which costs far less than one figure per user (most of a
    figure's cost is its fixed layout, text and encoding, not its data)."""
    ncols = max(1, min(max_cols, n))
    nrows = max(1, -(-n // ncols))
    width, height = panel[0] * ncols + 0.8, panel[1] * nrows + 1.3
    # fixed margins (in inches) instead of the constrained layout: the panels are a regular grid,
    # and laying out 20 axes costs more than drawing them (every pass measures every tick)
    fig, axes = new_figure(nrows, ncols, figsize=(width, height), layout=None, **kwargs)
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.1 / width, bottom=0.6 / height,
                        top=1 - 0.7 / height, wspace=0.1, hspace=0.45)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def outer_labels(axes: list[Axes], ncols: int, xlabel: str, ylabel: str) -> None:
    """Axis labels on the left column and the bottom panel of each column only (shared axes)."""
    n = len(axes)
    for i, ax in enumerate(axes):
        if i % ncols == 0:
            ax.set_ylabel(ylabel)
        if i + ncols >= n:  # no panel below this one: its tick labels show (sharex hid them)
            ax.set_xlabel(xlabel)
            ax.xaxis.set_tick_params(labelbottom=True)
