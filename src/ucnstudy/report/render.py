"""Writing a section's outputs: figures as PNG files (embedded as base64; SVG too on request),
tables as CSV files (and a short HTML preview)."""

from __future__ import annotations

import base64
import io
import pickle
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator

from ucnstudy.plots import NamedFigure
from ucnstudy.report.sections import FigureJob, NamedTable, SectionContent, SectionJob


@dataclass
class RenderedFigure:
    name: str
    title: str
    caption: str
    png_base64: str
    png: str  # path relative to the report directory
    svg: str  # "" when no SVG was asked for


@dataclass
class RenderedTable:
    name: str
    title: str
    csv: str  # path relative to the report directory
    rows: int
    columns: list[str]
    preview_html: str


@dataclass(frozen=True)
class RenderOptions:
    out_dir: Path
    dpi: int
    svg: bool = False


def render_figure(named: NamedFigure, options: RenderOptions) -> RenderedFigure:
    """Draw the figure once, as PNG (kept for embedding); SVG is a second drawing, on request."""
    fig, figures = named.figure, options.out_dir / "figures"
    settle(fig, options.dpi)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=options.dpi)
    png = buffer.getvalue()
    (figures / f"{named.name}.png").write_bytes(png)
    svg = ""
    if options.svg:
        fig.savefig(figures / f"{named.name}.svg", format="svg")
        svg = f"figures/{named.name}.svg"
    return RenderedFigure(named.name, named.title, named.caption, base64.b64encode(png).decode("ascii"),
                          f"figures/{named.name}.png", svg)


def settle(fig: Figure, dpi: float) -> None:
    """Lay the figure out at the PNG's resolution, then fix every axis's ticks to the ones of
    that layout, and save without the layout engine: the picture is the same (the tests compare
    pixels), but savefig no longer draws the figure once more (without rendering) only to run
    the layout, and the draw does not ask each locator and formatter again."""
    engine = fig.get_layout_engine()
    if engine is None:
        return
    FigureCanvasAgg(fig)  # the renderer savefig's PNG uses: text is measured as it will be drawn
    own_dpi = fig.dpi
    fig.set_dpi(dpi)  # as savefig does while it lays out and draws the PNG
    engine.execute(fig)
    fig.set_dpi(own_dpi)  # an SVG is drawn at the figure's own dpi, as before
    fig.set_layout_engine("none")
    done: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for ticker in (axis.major, axis.minor):
                if id(ticker) in done:  # shared axes share their tickers
                    continue
                done.add(id(ticker))
                locs = ticker.locator()
                formatter = FixedFormatter(ticker.formatter.format_ticks(locs))
                formatter.set_offset_string(ticker.formatter.get_offset())
                ticker.locator, ticker.formatter = FixedLocator(locs), formatter


def build_and_render(job: FigureJob, options: RenderOptions) -> list[RenderedFigure]:
    out = []
    for named in job.build(*job.args):
        if job.prefix and not named.name.startswith(job.prefix):
            named.name = f"{job.prefix}--{named.name}"
        out.append(render_figure(named, options))
    return out


def build_section_and_render(job: SectionJob, options: RenderOptions
                             ) -> tuple[SectionContent, list[RenderedFigure], float]:
    """A section's job, then its figures: (its content without figures, the figures, seconds)."""
    started = time.perf_counter()
    content = job.build(*job.args)
    figures: list[RenderedFigure] = []
    for item in content.figures:
        if isinstance(item, FigureJob):
            figures += build_and_render(item, options)
        else:
            figures.append(render_figure(item, options))
    content.figures = []
    return content, figures, time.perf_counter() - started


def _render_pickled(blob: bytes, options: RenderOptions) -> list[RenderedFigure]:
    return [render_figure(pickle.loads(blob), options)]


class FigureRenderer:
    """Builds and saves figures in worker processes (drawing is CPU-bound and holds the GIL), so
    that figures are drawn on every core while the next analyses run; `workers=0` draws in this
    process. Each submission is a list of figures to come."""

    def __init__(self, options: RenderOptions, workers: int) -> None:
        self.options = options
        self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 0 else None

    def submit(self, item: NamedFigure | FigureJob) -> Future[list[RenderedFigure]]:
        if self._pool is None:
            done: Future[list[RenderedFigure]] = Future()
            done.set_result(build_and_render(item, self.options) if isinstance(item, FigureJob)
                            else [render_figure(item, self.options)])
            return done
        if isinstance(item, FigureJob):
            return self._pool.submit(build_and_render, item, self.options)
        return self._pool.submit(_render_pickled, pickle.dumps(item), self.options)

    def submit_section(self, job: SectionJob) -> Future[tuple[SectionContent, list[RenderedFigure], float]]:
        if self._pool is None:
            done: Future[tuple[SectionContent, list[RenderedFigure], float]] = Future()
            done.set_result(build_section_and_render(job, self.options))
            return done
        return self._pool.submit(build_section_and_render, job, self.options)

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
