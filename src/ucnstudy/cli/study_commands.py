"""`ucn demo`, `ucn info`: create and describe a study."""

from __future__ import annotations

import typer
from rich.table import Table as RichTable

from ucnstudy.cli.common import console, open_cli_study


def register(app: typer.Typer) -> None:
    app.command("info")(info)


def info() -> None:
    """Tables, row counts, time spans, users and devices of the study."""
    from ucnstudy.info import study_info
    from ucnstudy.store.migrate import study_version

    with open_cli_study(read_only=True) as study:
        summary = study_info(study)
        version = study_version(study)
    t = RichTable(title=f"study {summary.url}")
    for col in ("table", "rows", "first", "last"):
        t.add_column(col, justify="right" if col == "rows" else "left")
    for row in summary.tables:
        t.add_row(row.name, f"{row.rows:,}", row.first or "", row.last or "")
    console.print(t)
    console.print(
        f"{summary.users} users ({summary.countries}), {summary.devices} devices "
        f"({summary.shared_devices} shared)" + (f"; schema version {version}" if version else "")
    )
