"""Bar charts of shares: traffic by destination port, HTTP requests by User-Agent family, and
the context of activities (locations, networks, domains)."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ucnstudy.plots.style import NamedFigure, colors, new_figure, no_data

TOP_BARS = 15


def _share(value: float) -> str:
    return f"{value:.1f}%" if value >= 0.1 or value == 0 else f"{value:.1g}%"


def _hbars(ax: Axes, labels: list[str], values: np.ndarray, xlabel: str, title: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if not labels:
        no_data(ax)
        return
    y = np.arange(len(labels))
    bars = ax.barh(y, values, color=colors(len(labels)))
    ax.bar_label(bars, fmt=_share, padding=2, fontsize=7)  # small shares stay readable
    ax.set_xlim(0, max(float(np.max(values)), 1e-9) * 1.15)
    ax.set_yticks(y, labels, fontsize=8)
    if not ax.yaxis_inverted():  # largest on top (axes sharing y share the inversion)
        ax.invert_yaxis()


def traffic_by_port_figures(ports: pd.DataFrame, params: object = None,
                            ctx: object = None) -> list[NamedFigure]:
    top = ports.head(TOP_BARS)
    labels = [f"{int(p)} {s}" if isinstance(s, str) and s else f"{int(p)}"
              for p, s in zip(top["dstport"], top["service"], strict=True)]
    labels = [label[:40] for label in labels]
    fig, axes = new_figure(1, 2, figsize=(13, 0.6 + 0.35 * max(len(top), 4)), sharey=True)
    _hbars(axes[0, 0], labels, top["bytes_pct"].to_numpy(float), "Share of all bytes (%)", "Bytes")
    _hbars(axes[0, 1], labels, top["packets_pct"].to_numpy(float), "Share of all packets (%)", "Packets")
    axes[0, 0].set_ylabel("Destination port and service")
    fig.suptitle(f"Traffic by destination port (top {len(top)} by bytes)")
    return [NamedFigure("traffic-by-port", "Traffic by port", fig,
                        "Share of all device-app-traffic bytes and packets per remote port and "
                        "IANA service, ports with more than 10 packets, largest first.")]


def _count_column(frame: pd.DataFrame) -> str:
    for name in ("requests", "reqs", "count", "n"):
        if name in frame.columns:
            return name
    raise KeyError("user-agents table has no request count column (requests)")


def _family_shares(frame: pd.DataFrame, column: str, count: str) -> pd.Series:
    """Requests per family; a null family (a request without User-Agent) is its own bar."""
    families = frame[column].astype("string").fillna("(no User-Agent)")
    totals = frame[count].groupby(families.to_numpy()).sum().sort_values(ascending=False)
    return 100.0 * totals / max(float(totals.sum()), 1.0)


UA_TITLES = {"browser": "Browser family", "os": "OS family", "device": "Device family",
             "req_ua": "User-Agent"}


def user_agents_figures(uas: pd.DataFrame, params: object = None, ctx: object = None) -> list[NamedFigure]:
    count = _count_column(uas)
    kinds = [c for c in ("browser", "os", "device") if c in uas.columns]
    kinds = kinds or ["req_ua"]
    fig, axes = new_figure(1, len(kinds), figsize=(6 * len(kinds), 5))
    for ax, column in zip(axes[0], kinds, strict=True):
        shares = _family_shares(uas, column, count).head(TOP_BARS)
        _hbars(ax, [str(s)[:40] for s in shares.index], shares.to_numpy(float),
               "Share of HTTP requests (%)", UA_TITLES[column])
    fig.suptitle(f"HTTP requests by User-Agent ({int(uas[count].sum()):,} requests)")
    return [NamedFigure("user-agents", "User agents", fig,
                        "Share of HTTP requests per parsed User-Agent family (ua-parser); requests "
                        "without a User-Agent are a bar of their own.")]


def _split_counts(values: pd.Series, sep: str) -> Counter[str]:
    """Count the items of list cells or `sep`-joined cells, once per activity; a trailing
    request count such as "bbc.co.uk (12)" is dropped from the item."""
    counter: Counter[str] = Counter()
    for cell in values.dropna():
        items = list(cell) if isinstance(cell, list | tuple | np.ndarray) else str(cell).split(sep)
        counter.update({_COUNT_SUFFIX.sub("", str(item)).strip() for item in items} - {""})
    return counter


_COUNT_SUFFIX = re.compile(r"\s*\(\d+\)$")
# (column, panel title, separator of the joined cell), as activity-context writes them
CONTEXT_COLUMNS = (("locations", "Locations", ";"), ("networks", "Networks (AS)", ";"),
                   ("top_domains", "Top domains", ","))


def activity_context_figures(ctx_table: pd.DataFrame, params: object = None,
                             ctx: object = None) -> list[NamedFigure]:
    present = [(c, t, sep) for c, t, sep in CONTEXT_COLUMNS if c in ctx_table.columns]
    fig, axes = new_figure(1, max(len(present), 1), figsize=(6 * max(len(present), 1), 5))
    total = max(len(ctx_table), 1)
    for ax, (column, title, sep) in zip(axes[0], present, strict=False):
        counts = _split_counts(ctx_table[column], sep).most_common(TOP_BARS)
        _hbars(ax, [k[:40] for k, _ in counts], np.array([100.0 * v / total for _, v in counts]),
               "Share of activities (%)", title)
    if not present:
        no_data(axes[0, 0], "no context columns")
    fig.suptitle(f"Context of {len(ctx_table):,} activities")
    return [NamedFigure("activity-context", "Activity context", fig,
                        "Share of activities that overlap each location, network and domain.")]
