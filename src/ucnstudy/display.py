"""Compact HTML summaries for Jupyter (`_repr_html_`): a study, an analysis result, an evaluation.

Plain functions over plain values (no heavy import here); every value is HTML-escaped.
"""

from __future__ import annotations

import dataclasses
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ucnstudy.info import StudyInfo

PREVIEW_ROWS = 10


def params_text(params: Any) -> str:
    """The parameters that differ from their defaults, as `name=value, ...` ("defaults" if none)."""
    if params is None or not dataclasses.is_dataclass(params):
        return ""
    default = type(params)()
    changed = [f"{f.name}={getattr(params, f.name)!r}" for f in dataclasses.fields(params)
               if getattr(params, f.name) != getattr(default, f.name)]
    return ", ".join(changed) or "defaults"


def table_html(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def frame_html(df: pd.DataFrame, title: str, max_rows: int = PREVIEW_ROWS) -> str:
    """A title with the shape, then the first rows."""
    shown = df.head(max_rows)
    more = f"; first {len(shown)} shown" if len(df) > len(shown) else ""
    caption = (f"<p><b>{escape(title)}</b>: {len(df):,} rows × {len(df.columns)} columns"
               f"{escape(more)}</p>")
    rows = [list(r) for r in shown.itertuples(index=False)]
    return caption + table_html([str(c) for c in df.columns], rows)


def study_html(info: StudyInfo, engine: str) -> str:
    """Tables with row counts and time spans, then users and devices."""
    firsts = [t.first for t in info.tables if t.first]
    lasts = [t.last for t in info.tables if t.last]
    span = f"{min(firsts)} to {max(lasts)} UTC" if firsts and lasts else "no timestamped rows"
    head = (f"<p><b>study {escape(info.url)}</b> ({escape(engine)}): {escape(span)}; "
            f"{info.users} users ({escape(info.countries)}), {info.devices} devices "
            f"({info.shared_devices} shared)</p>")
    rows = [[t.name, t.rows, t.first or "", t.last or ""] for t in info.tables]
    return head + table_html(["table", "rows", "first", "last"], rows)
