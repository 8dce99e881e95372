"""Run an import with a Rich progress bar and print what each file added (or skipped)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from ucnstudy.cli.common import console, err_console, progress
from ucnstudy.sources.base import Parser, ingest
from ucnstudy.store import ImportResult, Study

MAX_WARNINGS_SHOWN = 20


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
) -> list[ImportResult]:
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
                         on_progress=advance, after_load=after_load, pending=pending)
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
        console.print(f"{result.path}: added {added}", soft_wrap=True)
    for w in result.warnings[:MAX_WARNINGS_SHOWN]:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if len(result.warnings) > MAX_WARNINGS_SHOWN:
        err_console.print(f"[yellow]... and {len(result.warnings) - MAX_WARNINGS_SHOWN} more warnings[/]")


def kind_label(result: ImportResult) -> str:
    return f"{result.kind}, sha256 {result.sha256[:12]}"
