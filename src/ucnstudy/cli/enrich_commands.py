"""`ucn enrich`: recompute domains, service names, user flags and DNS duplicates."""

from __future__ import annotations

from pathlib import Path

import typer

from ucnstudy.cli.common import console, err_console, open_cli_study, progress
from ucnstudy.enrich.duplicate import DEFAULT_WINDOW_S

_STAGES = ("hosts", "services", "http", "dns", "duplicate")


def enrich(
    adblock: list[Path] = typer.Option(
        [], "--adblock", exists=True, dir_okay=False, readable=True,
        help="Adblock Plus list file (EasyList, EasyPrivacy...); repeat for several.",
    ),
    background_hosts: Path = typer.Option(
        None, "--background-hosts", exists=True, dir_okay=False,
        help="Host list replacing the bundled background/tracker list (same format).",
    ),
    window: float = typer.Option(
        DEFAULT_WINDOW_S, "--duplicate-window", min=0,
        help="Seconds after a DNS response in which an HTTP request to the same host makes it a duplicate.",
    ),
    clear_adblock: bool = typer.Option(
        False, "--clear-adblock",
        help="Reset matches_easylist to NULL (not evaluated) when no --adblock is given.",
    ),
) -> None:
    """Rewrite every derived column in one transaction (safe to re-run; see docs/enrichment.md)."""
    from ucnstudy.enrich import EnrichOptions, enrich_study
    from ucnstudy.sources.zeek import name_flows

    options = EnrichOptions(
        adblock_files=tuple(str(p) for p in adblock),
        background_hosts=str(background_hosts) if background_hosts else None,
        duplicate_window_s=window,
        clear_adblock=clear_adblock,
    )
    with open_cli_study() as study, progress(transient=True) as bar:
        task = bar.add_task("enrich", total=len(_STAGES), rate="")
        for warning in name_flows(study):  # the server names a stopped Zeek import left pending
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)

        def on_step(name: str) -> None:
            done = _STAGES.index(name)
            bar.update(task, completed=done, description=f"enrich: {name}")

        result = enrich_study(study, options=options, on_step=on_step)
        bar.update(task, completed=len(_STAGES))
    changed = sum(result.changed.values())
    console.print(
        f"enriched in {result.seconds:.1f} s: {result.distinct_hosts:,} distinct hosts, "
        f"{changed:,} column updates (Public Suffix List {result.psl_version}"
        + (f", {len(result.adblock_files)} Adblock list(s) over {result.distinct_urls:,} URLs" if
           result.adblock_files else "")
        + ")"
    )
    for name, rows in result.changed.items():
        if rows:
            console.print(f"  {name}: {rows:,} rows changed")


def register(app: typer.Typer) -> None:
    app.command("enrich")(enrich)
