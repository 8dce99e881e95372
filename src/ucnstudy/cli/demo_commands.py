"""`ucn demo`: (re)create the synthetic demo study (a thin layer over ucnstudy.demo)."""

from __future__ import annotations

from datetime import date, datetime

import typer

from ucnstudy.cli.common import console, open_cli_study, progress
from ucnstudy.errors import UcnError


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def _parse_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise UcnError(f"--start must be a date as YYYY-MM-DD, not {value!r}") from None


def demo(
    users: int = typer.Option(
        25, "--users", help="Participants (about 11/25 in France, the rest in the UK)."
    ),
    days: int = typer.Option(21, "--days", help="Length of the study in days."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same study."),
    start: str = typer.Option("2015-10-12", "--start", help="First day (YYYY-MM-DD, local time)."),
) -> None:
    """(Re)create a synthetic study with planted ground truth (see docs/demo.md)."""
    from ucnstudy.demo import DemoParams, generate_demo

    params = DemoParams(users=users, days=days, seed=seed, start=_parse_date(start))
    with open_cli_study() as study, progress() as bar:
        tasks: dict[str, int] = {}

        def on_progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                label = {
                    "generate": "generate and load",
                    "index": "index and checkpoint",
                    "enrich": "enrich",
                }.get(step, step)
                tasks[step] = bar.add_task(label, total=total, rate="")
            bar.update(tasks[step], completed=done, total=total)

        result = generate_demo(study, params, on_progress=on_progress)
        url = study.url.redacted
    rate = result.events / result.seconds if result.seconds else 0.0
    console.print(
        f"demo study {url}: {params.users} users, {params.days} days from {params.start}, "
        f"seed {params.seed}: "
        f"{result.events:,} events in {result.seconds:.1f} s ({rate:,.0f} events/s)"
        + (f"; enriched by {result.enriched}" if result.enriched else "; not enriched (no ucnstudy.enrich)")
    )
