"""`ucn import hostview --device LOGIN FILE...`: HostView agent databases (stats_*.db or .zip)."""

from __future__ import annotations

from pathlib import Path

import typer

from ucnstudy.cli.common import open_cli_study
from ucnstudy.cli.importers.report import REPLACE, import_with_progress


def register(import_app: typer.Typer) -> None:
    import_app.command("hostview")(import_hostview)


def import_hostview(
    files: list[Path] = typer.Argument(..., help="HostView SQLite databases, or the .zip files holding them"),
    device: str = typer.Option(..., "--device", help="login of the device that ran HostView"),
    strict: bool = typer.Option(False, "--strict", help="any malformed row rejects the file"),
    replace: bool = REPLACE,
) -> None:
    """Load HTTP requests, sockets, running apps and foreground/IO ground truth of HostView.

    Derived columns of the new HTTP requests (domain, user-initiated flags) are computed after
    the import (ucn enrich).
    """
    from ucnstudy.enrich import PENDING, enrich_study
    from ucnstudy.sources.base import IngestContext
    from ucnstudy.sources.hostview import KIND, hostview_parser

    with open_cli_study() as study:
        study.create_schema()
        IngestContext(study).device_id(device.lower())  # an unknown device fails before any file
        import_with_progress(study, KIND, files, hostview_parser(device.lower()), unit="rows",
                             strict=strict, after_load=lambda s: enrich_study(s), replace=replace,
                             options={"device": device.lower()}, pending=PENDING)
