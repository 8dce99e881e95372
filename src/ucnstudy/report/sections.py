"""The report's sections: a small registry of section builders.

A section builder takes the `ReportContext` and returns a `SectionContent` (or None when the
section does not apply to this study, e.g. an evaluation without ground truth). The analysis
sections are generated from the analysis registry and `report.runs.PLANNED_RUNS`; another area
adds its own section by writing a module that calls `register_section(...)` at import and by
naming that module in `SECTION_MODULES` below (one line).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ucnstudy.analyses import ANALYSES
from ucnstudy.plots import FIGURES, FigureContext, NamedFigure, build_figures
from ucnstudy.report.runs import Run, RunCache, planned_runs
from ucnstudy.store import Study

# Modules that register extra sections when imported (e.g. the evaluation against ground truth).
SECTION_MODULES: tuple[str, ...] = ("ucnstudy.inference.report_section",)


@dataclass
class NamedTable:
    name: str  # file name stem under tables/
    title: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class FigureJob:
    """Figures still to be built: `build(*args)` returns them. It goes to a worker process as
    it is (a module-level function and its data), so the figures are built and drawn there."""

    build: Callable[..., list[NamedFigure]]
    args: tuple[Any, ...]
    prefix: str = ""  # figure file names start with it (unique across runs)


@dataclass(frozen=True)
class SectionJob:
    """The rest of a section, computed where figures are drawn (a worker process): `build(*args)`
    returns the section's whole SectionContent. For work that needs no study connection."""

    build: Callable[..., SectionContent]
    args: tuple[Any, ...]


@dataclass
class SectionContent:
    title: str
    summary: str = ""
    figures: list[NamedFigure | FigureJob] = field(default_factory=list)
    tables: list[NamedTable] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # every parameter this section used
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the data this section needs is missing; shown, not hidden
    job: SectionJob | None = None  # when set, its result replaces this content


@dataclass
class ReportContext:
    study: Study
    cache: RunCache
    figures: FigureContext


SectionBuilder = Callable[[ReportContext], SectionContent | None]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    build: SectionBuilder
    early: bool = False  # built before the others (its job then runs while they are built)


EXTRA_SECTIONS: list[Section] = []


def register_section(section: Section) -> None:
    """Add a section after the analysis sections (replacing one with the same key)."""
    EXTRA_SECTIONS[:] = [s for s in EXTRA_SECTIONS if s.key != section.key] + [section]


def analysis_section(run: Run) -> Section:
    def build(ctx: ReportContext) -> SectionContent:
        result = ctx.cache.get(run)
        content = SectionContent(run.title, ANALYSES[run.analysis].summary,
                                 params=params_dict(result.params))
        content.notes.append(f"`ucn analyze {run.analysis}` computed in {result.seconds:.2f} s.")
        if result.frame is None:
            content.error = result.error
            return content
        content.tables.append(NamedTable(run.key, run.title, result.frame))
        if run.figures and run.analysis in FIGURES:  # built where they are drawn
            content.figures = [FigureJob(build_figures, (run.analysis, result.frame, result.params,
                                                         ctx.figures), run.key)]
        return content

    return Section(run.key, run.title, build)


def params_dict(params: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(params) if dataclasses.is_dataclass(params) else {}


def all_sections() -> list[Section]:
    """Analysis sections in the notebook's order, then the registered extra sections."""
    for module in SECTION_MODULES:
        importlib.import_module(module)
    return [analysis_section(run) for run in planned_runs()] + list(EXTRA_SECTIONS)
