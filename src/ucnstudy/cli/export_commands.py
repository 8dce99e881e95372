"""`ucn export --to DIR`: the study as a Parquet study directory (one directory per table);
with --anonymize, a pseudonymised, anonymised copy (a directory or a .duckdb file)."""

from __future__ import annotations

from pathlib import Path

import typer

from ucnstudy.cli.common import console, open_cli_study, progress


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    to: Path = typer.Option(..., "--to", help="Directory to write (one sub-directory per table); "
                            "with --anonymize also a FILE.duckdb."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier export in DIR."),
    anonymize: bool = typer.Option(False, "--anonymize", help="Pseudonymise and anonymise "
                                   "(docs/privacy.md)."),
    key_file: Path = typer.Option(None, "--key-file", help="Secret key (at least 32 random "
                                  "bytes) of the pseudonyms; never printed or exported."),
    level: str = typer.Option("standard", "--level", help="Preset: strict, standard or detailed."),
    urls: str = typer.Option(None, "--urls", help="URLs kept to: none, domain, host or path."),
    dns: str = typer.Option(None, "--dns", help="DNS names: domain or full."),
    grid: float = typer.Option(None, "--grid", help="Location grid cell size in metres."),
    shift: str = typer.Option(None, "--shift", help="Timestamps: off, or weeks (a secret "
                              "whole number of weeks per user)."),
) -> None:
    """Write every canonical table as Parquet (timestamp[us], signed ints); open it with
    --db spark:DIR. With --anonymize --key-file KEY: a shareable copy (see docs/privacy.md)."""
    from ucnstudy.store.export import export_study

    if anonymize:
        return _anonymized(to, overwrite, key_file, level, dict(urls=urls, dns=dns, grid_m=grid,
                                                                  shift=shift))
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


def _anonymized(to: Path, overwrite: bool, key_file: Path | None, preset: str,
                overrides: dict[str, object]) -> None:
    from ucnstudy.privacy import export_anonymized, levels, load_key

    chosen = levels(preset, **overrides)
    key = load_key(key_file)
    with open_cli_study(read_only=True) as study, progress(transient=True) as bar:
        task = bar.add_task("anonymised export", total=None, rate="")

        def on_progress(table: str, rows: int) -> None:
            bar.update(task, description=f"anonymise {table}", completed=rows, rate=f"{rows:,} rows")

        result = export_anonymized(study, to, key, chosen, overwrite=overwrite,
                                   on_progress=on_progress)
    url = result.path if result.path.suffix == ".duckdb" else f"spark:{result.path}"
    console.print(
        f"exported {result.total_rows:,} anonymised rows ({len(result.rows)} tables, levels "
        f"{', '.join(f'{k}={v}' for k, v in chosen.as_dict().items())}, key fingerprint "
        f"{key.fingerprint}) to {result.path}; open it with --db {url}"
    )
