"""Run an import with a Rich progress bar and print what each file added (or skipped)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import typer

from ucnstudy.cli.common import console, err_console, progress

if TYPE_CHECKING:
    from ucnstudy.sources.base import Parser
    from ucnstudy.store import ImportResult, Study

MAX_WARNINGS_SHOWN = 20
REPLACE = typer.Option(False, "--replace", help="load files imported before again (other options, a "
                       "fixed parser, changed leases): their old rows go in the same transaction")


def import_with_progress(
    study: Study,
    kind: str,
    files: Sequence[str | os.PathLike[str]],
    parser: Parser,
    *,
    unit: str = "records",
    strict: bool = False,
    options: dict[str, object] | None = None,
    after_load: Callable[[Study], None] | None = None,
    pending: str | None = None,
    replace: bool = False,
) -> list[ImportResult]:
    from ucnstudy.sources.base import ingest

    with progress() as bar:
        task = bar.add_task(f"import {kind}", total=None, rate="")
        done = 0

        def advance(units: int) -> None:
            nonlocal done
            done += units
            elapsed = bar.tasks[task].elapsed or 0
            rate = f"{done / elapsed:,.0f} {unit}/s" if elapsed > 0 else ""
            bar.update(task, completed=done, rate=rate)

        results = ingest(study, kind, files, parser, strict=strict, options=options,
                         on_progress=advance, after_load=after_load, pending=pending,
                         replace=replace)
        bar.update(task, total=done or 1, completed=done or 1)
    for r in results:
        print_result(r)
    return results


def print_result(result: ImportResult) -> None:
    if result.skipped:
        console.print(f"{result.path}: already imported ({kind_label(result)}), nothing added",
                      soft_wrap=True)
    else:
        added = ", ".join(f"{n:,} {t}" for t, n in result.rows.items() if n) or "no rows"
        console.print(f"{result.path}: added {added} (import {result.import_id})", soft_wrap=True)
        if result.replaced_ids:
            removed = ", ".join(f"{n:,} {t}" for t, n in result.removed.items()) or "no rows"
            console.print(f"  replaced import(s) {', '.join(map(str, result.replaced_ids))}: "
                          f"removed {removed}", soft_wrap=True)
    for w in result.warnings[:MAX_WARNINGS_SHOWN]:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if len(result.warnings) > MAX_WARNINGS_SHOWN:
        err_console.print(f"[yellow]... and {len(result.warnings) - MAX_WARNINGS_SHOWN} more warnings[/]")


def kind_label(result: ImportResult) -> str:
    return f"{result.kind}, sha256 {result.sha256[:12]}"
