"""What every command shares: consoles, the chosen study, output formats, progress bars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from ucnstudy.store import Study

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line


@dataclass
class CliState:
    db: str | None = None


state = CliState()


def open_cli_study(*, read_only: bool = False) -> Study:
    from ucnstudy.store import open_study  # Ibis and the engine load here, in commands that use them

    return open_study(state.db, read_only=read_only)


def progress(transient: bool = False) -> Progress:
    """A Rich progress bar with count, rate-friendly columns and elapsed/remaining time."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )
