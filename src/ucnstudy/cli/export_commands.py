"""`ucn export --to DIR`: the study as a Parquet study directory (one directory per table)."""

from __future__ import annotations

from pathlib import Path

import typer

from ucnstudy.cli.common import console, open_cli_study, progress


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    to: Path = typer.Option(..., "--to", help="Directory to write (one sub-directory per table)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier export in DIR."),
) -> None:
    """Write every canonical table as Parquet (timestamp[us], signed ints); open it with
    --db spark:DIR."""
    from ucnstudy.store.export import export_study

    with open_cli_study(read_only=True) as study, progress(transient=True) as bar:
        task = bar.add_task("export", total=None, rate="")

        def on_progress(table: str, rows: int) -> None:
            bar.update(task, description=f"export {table}", completed=rows, rate=f"{rows:,} rows")

        result = export_study(study, to, overwrite=overwrite, on_progress=on_progress)
    written = sum(1 for n in result.rows.values() if n)
    console.print(
        f"exported {result.total_rows:,} rows from {written} non-empty tables "
        f"({len(result.rows)} tables) to {result.path}; open it with --db spark:{result.path}"
    )
