"""Writing a section's outputs: figures as PNG and SVG files (the PNG also embedded as base64),
tables as CSV files (and a short HTML preview)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ucnstudy.plots import NamedFigure
from ucnstudy.report.sections import NamedTable


@dataclass
class RenderedFigure:
    name: str
    title: str
    caption: str
    png_base64: str
    png: str  # path relative to the report directory
    svg: str


@dataclass
class RenderedTable:
    name: str
    title: str
    csv: str  # path relative to the report directory
    rows: int
    columns: list[str]
    preview_html: str


def render_figure(figure: NamedFigure, out_dir: Path, dpi: int) -> RenderedFigure:
    """Save PNG and SVG; the PNG bytes are kept for embedding. Closes the figure's canvas."""
    buffer = io.BytesIO()
    figure.figure.savefig(buffer, format="png", dpi=dpi)
    png = buffer.getvalue()
    (out_dir / "figures" / f"{figure.name}.png").write_bytes(png)
    figure.figure.savefig(out_dir / "figures" / f"{figure.name}.svg", format="svg")
    figure.figure.clear()
    return RenderedFigure(figure.name, figure.title, figure.caption, base64.b64encode(png).decode("ascii"),
                          f"figures/{figure.name}.png", f"figures/{figure.name}.svg")


def csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """List-valued cells (e.g. answer arrays, domain lists) become '+'-joined strings."""
    out = frame.copy(deep=False)
    for column in out.columns:
        if out[column].dtype == object and out[column].map(_is_list).any():
            out[column] = out[column].map(lambda v: "+".join(map(str, v)) if _is_list(v) else v)
    return out


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def write_table(table: NamedTable, out_dir: Path, preview_rows: int) -> RenderedTable:
    """The whole table as CSV (pyarrow's multi-threaded writer: millions of rows in seconds)."""
    frame = csv_ready(table.frame)
    path = out_dir / "tables" / f"{table.name}.csv"
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)
    preview = frame.head(preview_rows).to_html(index=False, border=0, classes="data", na_rep="",
                                               float_format=lambda v: f"{v:,.3f}")
    return RenderedTable(table.name, table.title, f"tables/{table.name}.csv", len(frame),
                         [str(c) for c in frame.columns], preview)
