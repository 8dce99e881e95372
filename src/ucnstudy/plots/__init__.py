"""Figure builders: one per analysis, DataFrame (+ parameters, context) -> named matplotlib Figures.

`FIGURES[analysis_name](frame, params, ctx)` returns a list of `NamedFigure`. `ctx` is a
`FigureContext`: which users get per-user figures and each user's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ucnstudy.plots.activities import activities_figures
from ucnstudy.plots.cdfs import dns_http_figures, inter_event_figures
from ucnstudy.plots.heatmaps import heatmap_figures
from ucnstudy.plots.qoe import activity_qoe_figures, qoe_effects_figures
from ucnstudy.plots.services import activity_context_figures, traffic_by_port_figures, user_agents_figures
from ucnstudy.plots.style import NamedFigure
from ucnstudy.plots.summary import select_users_figures, user_summary_figures
from ucnstudy.plots.timeline import timeline_figures


@dataclass
class FigureContext:
    """What figures need beyond one analysis table."""

    focus_users: list[str] | None = None  # users who get per-user figures (None: everyone)
    timezones: dict[str, str] = field(default_factory=dict)  # username -> IANA time zone
    # None: every focus user gets the detailed per-user figures (the API's study.figures). A
    # number (the report): every focus user is in one small-multiples figure per analysis, and
    # only the first `detail_users` focus users also get the detailed per-user figures.
    detail_users: int | None = None


FigureBuilder = Callable[[pd.DataFrame, Any, Any], list[NamedFigure]]

FIGURES: dict[str, FigureBuilder] = {
    "traffic-by-port": traffic_by_port_figures,
    "user-agents": user_agents_figures,
    "dns-http": dns_http_figures,
    "user-summary": lambda df, params=None, ctx=None: user_summary_figures(df, params),
    "select-users": lambda df, params=None, ctx=None: select_users_figures(df, params),
    "inter-event": inter_event_figures,
    "heatmap": heatmap_figures,
    "activities": activities_figures,
    "activity-context": activity_context_figures,
    "timeline": timeline_figures,
    "activity-qoe": activity_qoe_figures,
    "qoe-effects": qoe_effects_figures,
}


def build_figures(name: str, frame: pd.DataFrame, params: Any = None,
                  ctx: FigureContext | None = None) -> list[NamedFigure]:
    """The figures of one analysis result (KeyError when the analysis has no builder)."""
    return FIGURES[name](frame, params, ctx or FigureContext())


__all__ = ["FIGURES", "FigureContext", "NamedFigure", "build_figures"]
