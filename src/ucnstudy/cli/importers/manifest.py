"""`ucn import manifest FILE`: users, devices, user-device links and address leases."""

from __future__ import annotations

from pathlib import Path

import typer

from ucnstudy.cli.common import open_cli_study
from ucnstudy.cli.importers.report import REPLACE, import_with_progress


def register(import_app: typer.Typer) -> None:
    import_app.command("manifest")(import_manifest)


def import_manifest(
    files: list[Path] = typer.Argument(..., help="manifest files, YAML (.yaml/.yml) or CSV (.csv)"),
    replace: bool = REPLACE,
) -> None:
    """Add the users, devices, links and leases of a manifest (additive; a conflict rejects it)."""
    from ucnstudy.sources.manifest import KIND, manifest_parser, refresh_shared

    with open_cli_study() as study:
        import_with_progress(study, KIND, files, manifest_parser, unit="entries",
                             after_load=refresh_shared, replace=replace)
