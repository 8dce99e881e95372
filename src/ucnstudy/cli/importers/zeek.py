"""`ucn import zeek PATH...`: Zeek conn, dns, http and ssl logs (TSV or JSON, gzip too)."""

from __future__ import annotations

from pathlib import Path

import typer

from ucnstudy.cli.common import open_cli_study, progress
from ucnstudy.cli.importers.report import REPLACE, print_result


def register(import_app: typer.Typer) -> None:
    import_app.command("zeek")(import_zeek_command)


def import_zeek_command(
    paths: list[Path] = typer.Argument(..., help="log files, or directories holding conn/dns/http/ssl logs"),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first malformed record."),
    replace: bool = REPLACE,
) -> None:
    """Load flows, DNS and HTTP records, attributed to devices through the address leases."""
    from ucnstudy.sources.zeek import import_zeek

    with open_cli_study() as study, progress() as bar:
        task = bar.add_task("import zeek", total=None, rate="")
        done = 0

        def advance(units: int) -> None:
            nonlocal done
            done += units
            elapsed = bar.tasks[task].elapsed or 0
            bar.update(task, completed=done, rate=f"{done / elapsed:,.0f} records/s" if elapsed else "")

        results = import_zeek(study, paths, strict=strict, on_progress=advance, replace=replace)
        bar.update(task, total=done or 1, completed=done or 1)
    for result in results:
        print_result(result)
