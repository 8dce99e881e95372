"""`ucn import table NAME FILE...`: rows of a canonical table from CSV or Parquet."""

from __future__ import annotations

from pathlib import Path

import typer

from ucnstudy.cli.common import open_cli_study
from ucnstudy.cli.importers.report import REPLACE, import_with_progress
from ucnstudy.schema import table


def register(import_app: typer.Typer) -> None:
    import_app.command("table")(import_table)


def import_table(
    name: str = typer.Argument(..., help="canonical table name (see docs/schema.md)"),
    files: list[Path] = typer.Argument(..., help="CSV (.csv, .csv.gz, .tsv) or Parquet files"),
    replace: bool = REPLACE,
) -> None:
    """Load rows of a canonical table; any bad column, type or value rejects the whole file."""
    from ucnstudy.sources.table_file import table_parser

    table(name)  # an unknown name fails before the study is opened
    with open_cli_study() as study:
        import_with_progress(study, "table", files, table_parser(name), unit="rows",
                             options={"table": name}, replace=replace)
