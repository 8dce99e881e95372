"""`ucn report`: the self-contained HTML study report (a thin layer over report.build_report)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ucnstudy.cli.common import console, err_console, open_cli_study, progress
from ucnstudy.errors import UcnError


def register(app: typer.Typer) -> None:
    app.command("report")(report)


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


def report(
    out: Path = typer.Option(
        Path("report"), "--out", help="Directory to write index.html, figures/ and tables/ into."),
    dpi: int = typer.Option(100, help="Resolution of the PNG figures."),
    svg: bool = typer.Option(False, "--svg", help="Also save each figure as SVG (draws every figure twice)."),
    focus: str = typer.Option(
        "selected", help="Users with per-user figures: 'selected' (select-users), 'all', or names a,b,c."),
    preview_rows: int = typer.Option(
        20, help="Rows of each table shown in the HTML (CSV files are complete)."),
    workers: int = typer.Option(
        min(os.cpu_count() or 1, 4), help="Processes drawing figures while analyses run (0: none)."),
    only: str = typer.Option(
        "", help="Comma-separated section keys to build (default: all), e.g. activities."),
    settings: list[str] = typer.Option(
        [], "--set", help="Analysis parameter NAME.FIELD=VALUE (repeatable), e.g. activities.gap=300."),
    all_events: bool = typer.Option(
        False, "--all-events", help="Every DNS response and HTTP request are events."),
    include_shared: bool = typer.Option(False, "--include-shared", help="Add shared devices to each user."),
) -> None:
    """Every analysis, figure and parameter of the study as DIR/index.html (self-contained)."""
    from ucnstudy.report import ReportOptions, build_report

    options = ReportOptions(dpi=dpi, svg=svg, preview_rows=preview_rows, focus=focus, workers=workers,
                            only=only, overrides=parse_overrides(settings, all_events, include_shared))
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
