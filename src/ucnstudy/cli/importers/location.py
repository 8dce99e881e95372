"""`ucn import location --device LOGIN --format moves|takeout|timeline|gpx FILE...`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from ucnstudy.cli.common import open_cli_study
from ucnstudy.cli.importers.report import REPLACE, import_with_progress


class Format(StrEnum):
    moves = "moves"
    takeout = "takeout"
    timeline = "timeline"
    gpx = "gpx"


def register(import_app: typer.Typer) -> None:
    import_app.command("location")(import_location)


def import_location(
    files: list[Path] = typer.Argument(..., help="location history files"),
    device: str = typer.Option(..., "--device", help="login of the device that recorded them"),
    fmt: Format = typer.Option(..., "--format", help="moves, takeout (Records.json or Semantic "
                               "Location History), timeline (on-device Timeline.json) or gpx"),
    movements: bool = typer.Option(False, "--movements", help="also load moves between places"),
    stay_radius: float = typer.Option(200.0, "--stay-radius", min=1.0,
                                      help="stay-point radius in metres (raw fixes: Records.json, GPX)"),
    stay_minutes: float = typer.Option(5.0, "--stay-minutes", min=0.0,
                                       help="minimum stay duration in minutes (raw fixes)"),
    strict: bool = typer.Option(False, "--strict", help="any malformed record rejects the file"),
    replace: bool = REPLACE,
) -> None:
    """Load places (and optionally movements) of a location history as `locations` intervals."""
    from ucnstudy.sources.base import IngestContext
    from ucnstudy.sources.location import KIND, LocationOptions, location_parser

    opts = LocationOptions(movements=movements, stay_radius_m=stay_radius, stay_min_s=stay_minutes * 60)
    with open_cli_study() as study:
        study.create_schema()
        IngestContext(study).device_id(device.lower())  # an unknown device fails before any file
        import_with_progress(study, KIND, files, location_parser(fmt.value, device.lower(), opts),
                             unit="records", strict=strict, replace=replace,
                             options={"device": device.lower(), "format": fmt.value, "movements": movements,
                                      "stay_radius_m": stay_radius, "stay_minutes": stay_minutes})
