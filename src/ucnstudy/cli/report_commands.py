"""`ucn report`: the self-contained HTML study report (a thin layer over report.build_report)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import typer

from ucnstudy.cli.common import console, err_console, open_cli_study, progress
from ucnstudy.cli.options import cli_parameters, command_with, from_cli, option
from ucnstudy.errors import UcnError
from ucnstudy.report.options import ReportOptions


def register(app: typer.Typer) -> None:
    own = [
        option("out", Path, Path("report"), "--out",
               help="Directory to write index.html, figures/ and tables/ into."),
        *cli_parameters(ReportOptions, {"workers": min(os.cpu_count() or 1, 4)}, exclude=OVERRIDES),
        option("settings", list[str], [], "--set",
               help="Analysis parameter NAME.FIELD=VALUE (repeatable), e.g. activities.gap=300."),
        option("all_events", bool, False, help="Every DNS response and HTTP request are events."),
        option("include_shared", bool, False, help="Add shared devices to each user."),
    ]
    app.command("report")(command_with(own, report, "report", report.__doc__))


OVERRIDES = ("overrides",)  # filled from --set, --all-events and --include-shared


def parse_overrides(settings: list[str], all_events: bool, include_shared: bool) -> dict[str, dict[str, str]]:
    """`NAME.FIELD=VALUE` strings (NAME: an analysis or a report run such as heatmap-week)."""
    overrides: dict[str, dict[str, str]] = {}
    for item in settings:
        target, sep, value = item.partition("=")
        name, dot, field = target.partition(".")
        if not sep or not dot or not name or not field:
            raise UcnError(f"--set {item!r}: expected NAME.FIELD=VALUE, e.g. activities.gap=300")
        overrides.setdefault(name, {})[field] = value
    for flag, on in (("all_events", all_events), ("include_shared", include_shared)):
        if on:  # applies to every analysis that has the parameter
            overrides.setdefault("*", {})[flag] = "true"
    return overrides


def report(*, out: Path, settings: list[str], all_events: bool, include_shared: bool,
           **values: Any) -> None:
    """Every analysis, figure and parameter of the study as DIR/index.html (self-contained)."""
    from ucnstudy.report import build_report

    overrides = parse_overrides(settings, all_events, include_shared)
    options = from_cli(ReportOptions, values, "ucn report")
    options = dataclasses.replace(options, overrides=overrides)
    with open_cli_study(read_only=True) as study, progress() as bar:
        task = bar.add_task("report", total=None, rate="")

        def on_progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=f"report: {what}", completed=done, total=total + 1)

        result = build_report(study, out, options, on_progress)
        final = bar.tasks[0].total or 1
        bar.update(task, description="report", completed=final, total=final)
    figures = sum(len(s.figures) for s in result.sections)
    tables = sum(len(s.tables) for s in result.sections)
    console.print(f"wrote {result.index} ({len(result.sections)} sections, {figures} figures, "
                  f"{tables} tables) in {result.seconds:.1f} s")
    for error in result.errors:
        err_console.print(f"[yellow]warning:[/] {error}", highlight=False)
