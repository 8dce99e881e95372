"""`ucn import squid FILE...`: squid access logs (native or the UCN custom logformat) into httpreqs."""

from __future__ import annotations

from pathlib import Path

import typer

from ucnstudy.cli.common import open_cli_study
from ucnstudy.cli.importers.report import REPLACE, import_with_progress


def register(import_app: typer.Typer) -> None:
    import_app.command("squid")(import_squid)


def import_squid(
    files: list[Path] = typer.Argument(..., help="access.log files, plain or gzip"),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first malformed line."),
    ts_at_end: bool = typer.Option(
        False, "--ts-at-end",
        help="The logged time is the completion time (squid 2.x): subtract the response time.",
    ),
    replace: bool = REPLACE,
) -> None:
    """Load HTTP requests, each attributed to the device that held the client address at that time."""
    from ucnstudy.enrich import PENDING, enrich_study
    from ucnstudy.sources.leases import Leases
    from ucnstudy.sources.squid import parse_squid

    with open_cli_study() as study:
        study.create_schema()
        options = {"leases": Leases.of_study(study), "ts_at_end": ts_at_end}
        import_with_progress(study, "squid", files, parse_squid, unit="lines", strict=strict,
                             options=options, after_load=lambda s: enrich_study(s), replace=replace,
                             pending=PENDING)
