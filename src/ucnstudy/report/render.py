"""Writing a section's outputs: figures as PNG and SVG files (the PNG also embedded as base64),
tables as CSV files (and a short HTML preview)."""

from __future__ import annotations

import base64
import io
import pickle
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
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


def render_figure(named: NamedFigure, out_dir: Path, dpi: int) -> RenderedFigure:
    """Save PNG and SVG; the PNG bytes are kept for embedding."""
    fig = named.figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    png = buffer.getvalue()
    (out_dir / "figures" / f"{named.name}.png").write_bytes(png)
    fig.set_layout_engine("none")  # keep the layout just computed: the SVG need not redo it
    fig.savefig(out_dir / "figures" / f"{named.name}.svg", format="svg")
    return RenderedFigure(named.name, named.title, named.caption, base64.b64encode(png).decode("ascii"),
                          f"figures/{named.name}.png", f"figures/{named.name}.svg")


def _render_pickled(blob: bytes, out_dir: Path, dpi: int) -> RenderedFigure:
    return render_figure(pickle.loads(blob), out_dir, dpi)


class FigureRenderer:
    """Saves figures in worker processes (drawing is CPU-bound and holds the GIL), so that
    rendering overlaps with the next analyses; `workers=0` renders in this process."""

    def __init__(self, out_dir: Path, dpi: int, workers: int) -> None:
        self.out_dir, self.dpi = out_dir, dpi
        self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 0 else None

    def submit(self, figure: NamedFigure) -> Future[RenderedFigure]:
        if self._pool is None:
            done: Future[RenderedFigure] = Future()
            done.set_result(render_figure(figure, self.out_dir, self.dpi))
            return done
        return self._pool.submit(_render_pickled, pickle.dumps(figure), self.out_dir, self.dpi)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


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
