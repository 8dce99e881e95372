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
        pending = sorted(study.pending_tasks())
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
    if pending:
        console.print(f"pending: {', '.join(pending)} (an import stopped before it; run `ucn enrich` "
                      "or the import again)", soft_wrap=True)
    if summary.privacy:
        _print_privacy(summary.privacy)


def _print_privacy(manifest: dict) -> None:
    """What an anonymised export kept, transformed or removed, per table and column."""
    levels = ", ".join(f"{k}={v}" for k, v in manifest.get("levels", {}).items())
    console.print(f"anonymised export: levels {levels}; key fingerprint "
                  f"{manifest.get('key_fingerprint')}")
    t = RichTable(title="columns not kept as they are")
    for col in ("table", "column", "action", "detail"):
        t.add_column(col)
    kept = 0
    for table, columns in manifest.get("tables", {}).items():
        for column, rule in columns.items():
            if rule["action"] == "kept" and rule["detail"] == "as is":
                kept += 1
                continue
            t.add_row(table, column, rule["action"], rule["detail"])
    console.print(t)
    console.print(f"{kept} other columns kept as they are")
