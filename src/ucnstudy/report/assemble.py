"""`build_report`: run every section once, write figures and tables, render index.html.

The report is one self-contained HTML file (figures embedded as base64 PNG, styles inline), plus
figures/*.png (and *.svg on request) and tables/*.csv next to it. It never branches on the
engine: it only calls analyses (Ibis) and figure builders (pandas + matplotlib).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from ucnstudy import __version__
from ucnstudy.errors import UcnError
from ucnstudy.info import StudyInfo, study_info
from ucnstudy.plots import FigureContext
from ucnstudy.report.options import ReportOptions
from ucnstudy.report.render import (
    FigureRenderer,
    RenderedFigure,
    RenderedTable,
    RenderOptions,
    write_table,
)
from ucnstudy.report.runs import Run, RunCache, planned_runs, validate_overrides
from ucnstudy.report.sections import ReportContext, Section, SectionContent, all_sections
from ucnstudy.store import Study

Progress = Callable[[str, int, int], None]  # (what is being done, steps done, steps of this phase)


@dataclass
class RenderedSection:
    key: str
    title: str
    summary: str
    params: dict[str, Any]
    notes: list[str]
    error: str | None
    figures: list[RenderedFigure]
    tables: list[RenderedTable]
    seconds: float = 0.0


@dataclass
class ReportResult:
    index: Path
    sections: list[RenderedSection]
    seconds: float

    @property
    def errors(self) -> list[str]:
        return [f"{s.title}: {s.error}" for s in self.sections if s.error]


def build_report(study: Study, out_dir: str | Path, options: ReportOptions | None = None,
                 on_progress: Progress | None = None) -> ReportResult:
    started = time.perf_counter()
    options = options or ReportOptions()
    out = Path(out_dir)
    sections = select_sections(all_sections(), options.only)
    validate_overrides(planned_runs(), options.overrides)
    _prepare(out)
    cache = RunCache(study, options.overrides)
    _notify(on_progress, "selecting users", 0, len(sections))
    figure_ctx = FigureContext(focus_users=focus_users(cache, options.focus), timezones=user_timezones(study),
                               detail_users=max(options.detail_users, 0))
    ctx = ReportContext(study, cache, figure_ctx)
    renderer = FigureRenderer(RenderOptions(out, options.dpi, options.svg), options.workers)
    try:
        pending: dict[int, PendingSection] = {}
        # early sections first (their jobs run in workers meanwhile); the page keeps report order
        order = sorted(range(len(sections)), key=lambda i: not sections[i].early)
        for done, i in enumerate(order):
            section = sections[i]
            _notify(on_progress, section.title, done, len(sections))
            section_started = time.perf_counter()
            content = section.build(ctx)
            if content is not None:
                later = renderer.submit_section(content.job) if content.job is not None else None
                futures = [renderer.submit(f) for f in content.figures]
                content.figures = []  # the figures live on in the renderer only
                tables = [write_table(t, out, options.preview_rows) for t in content.tables]
                pending[i] = PendingSection(section.key, content, futures, tables,
                                            time.perf_counter() - section_started, later)
        rendered = _collect([pending[i] for i in sorted(pending)], out, options, on_progress)
    finally:
        renderer.close()
    _write_index(study, out, rendered, options, started)
    return ReportResult(out / "index.html", rendered, time.perf_counter() - started)


def select_sections(sections: list[Section], only: str) -> list[Section]:
    """The sections named in `only` (all when empty), in report order; unknown keys are an error."""
    wanted = [k.strip() for k in only.split(",") if k.strip()]
    unknown = sorted(set(wanted) - {s.key for s in sections})
    if unknown:
        raise UcnError(f"--only {unknown[0]!r}: no such section; sections are: "
                       f"{', '.join(s.key for s in sections)}")
    return [s for s in sections if not wanted or s.key in wanted]


@dataclass
class PendingSection:
    key: str
    content: SectionContent
    figures: list[Future[list[RenderedFigure]]]  # being built and drawn by the renderer
    tables: list[RenderedTable]
    seconds: float  # building the section: its analyses and tables
    # the section's job (content.job) being computed by the renderer: (content, figures, seconds)
    later: Future[tuple[SectionContent, list[RenderedFigure], float]] | None = None


def _collect(pending: list[PendingSection], out: Path, options: ReportOptions,
             on_progress: Progress | None) -> list[RenderedSection]:
    """Wait for the figures, section by section, reporting progress per submission (one figure,
    all the figures of one analysis run, or a section's job)."""
    total = sum(len(p.figures) + (p.later is not None) for p in pending)
    done, rendered = 0, []
    for p in pending:
        figures = []
        for future in p.figures:
            _notify(on_progress, "figures", done, total)
            figures.extend(future.result())
            done += 1
        c, tables, seconds = p.content, p.tables, p.seconds
        if p.later is not None:
            _notify(on_progress, "figures", done, total)
            c, more, job_seconds = p.later.result()
            figures += more
            tables = tables + [write_table(t, out, options.preview_rows) for t in c.tables]
            seconds += job_seconds
            done += 1
        rendered.append(RenderedSection(p.key, c.title, c.summary, c.params, c.notes, c.error, figures,
                                        tables, seconds))
    _notify(on_progress, "figures", done, total)
    return rendered


def _write_index(study: Study, out: Path, sections: list[RenderedSection], options: ReportOptions,
                 started: float) -> None:
    info = study_info(study)
    (out / "index.html").write_text(_template().render(
        info=info, sections=sections, options=options, version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        seconds=time.perf_counter() - started, span=_span(info)), encoding="utf-8")


def _prepare(out: Path) -> None:
    """Fresh figures/ and tables/ folders, so no file of an earlier report lingers."""
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("figures", "tables"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir()


def focus_users(cache: RunCache, focus: str) -> list[str] | None:
    """Who gets per-user figures: the select-users result by default (the notebook's choice)."""
    if focus == "all":
        return None
    if focus != "selected":
        return [u.strip() for u in focus.split(",") if u.strip()]
    from ucnstudy.analyses import ANALYSES

    if "select-users" not in ANALYSES:
        return None
    result = cache.get(Run("select-users", "select-users", "Selected users"))
    if result.frame is None or result.frame.empty:
        return None
    return [str(u) for u in result.frame["username"]]


def user_timezones(study: Study) -> dict[str, str]:
    from ucnstudy.analyses.localtime import user_zones

    zones = user_zones(study).execute()
    return {str(r.username): str(r.tz) for r in zones.itertuples()}


def _span(info: StudyInfo) -> str:
    firsts = [t.first for t in info.tables if t.first]
    lasts = [t.last for t in info.tables if t.last]
    return f"{min(firsts)} to {max(lasts)} UTC" if firsts and lasts else "no timestamped rows"


def _notify(on_progress: Progress | None, what: str, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(what, done, total)


def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("ucnstudy.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined)
    env.filters["fields"] = lambda obj: dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
    return env.get_template("report.html.j2")
