"""`ucn analyze NAME [params] --format text|csv|json|parquet --out FILE`.

One sub-command per registered analysis; its options are generated from the analysis's
parameter dataclass (name, type, default and help), so the CLI, the docs and the report stay
in sync with the library.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer

from ucnstudy.analyses import ANALYSES, Analysis
from ucnstudy.analyses.registry import PARAMETERS_HEADING
from ucnstudy.cli.common import console, err_console, open_cli_study
from ucnstudy.cli.options import cli_parameters, command_with, option, option_name
from ucnstudy.errors import UcnError
from ucnstudy.lazy import pd

if TYPE_CHECKING:
    from rich.table import Table as RichTable

__all__ = ["option_name", "register", "write_frame"]

Format = Literal["text", "csv", "json", "parquet"]
TEXT_ROWS = 200  # a text table longer than this shows its head and says so


def register(app: typer.Typer) -> None:
    sub = typer.Typer(name="analyze", no_args_is_help=True,
                      help="Run one analysis and print or save its table.")
    for name, entry in sorted(ANALYSES.items()):
        sub.command(name, help=_help(entry))(_command(entry))
    app.add_typer(sub, name="analyze")


def _help(entry: Analysis) -> str:
    doc = entry.help().split(f"\n\n{PARAMETERS_HEADING}")[0]  # the options show the rest
    return f"{doc}\n\nSee docs/analyses.md#{entry.name} for the definition and columns."


def _command(entry: Analysis) -> Callable[..., None]:
    """A Typer command whose options are the analysis's parameter fields, then the output ones."""
    common = [
        option("format", Format, "text", "--format", "-f", help="output format"),
        option("out", Path | None, None, "--out", "-o", help="write to FILE instead of standard output"),
        option("limit", int, 0, help=f"keep the first N rows (0: all; text shows {TEXT_ROWS} unless given)"),
    ]

    def run(*, format: str, out: Path | None, limit: int, **values: Any) -> None:
        if format == "parquet" and out is None:
            raise UcnError("--format parquet needs --out FILE")
        params = entry.make_params(**values)
        with open_cli_study(read_only=True) as study:
            df = entry.run(study, params)
        if limit > 0:
            df = df.head(limit)
        elif format == "text" and len(df) > TEXT_ROWS:
            err_console.print(f"showing the first {TEXT_ROWS} of {len(df):,} rows "
                              "(--limit N, or --format csv|json|parquet for all)")
            df = df.head(TEXT_ROWS)
        write_frame(df, format, out, title=entry.name)

    return command_with([*cli_parameters(entry.params), *common], run, entry.name)


def write_frame(df: pd.DataFrame, fmt: str, out: Path | None, title: str = "") -> None:
    """Write a result table in one of the four formats, to a file or standard output."""
    if fmt == "parquet":
        assert out is not None
        df.to_parquet(out, index=False)
    elif fmt == "csv":
        df.to_csv(out if out is not None else sys.stdout, index=False)
    elif fmt == "json":
        text = df.to_json(orient="records", date_format="iso", date_unit="us", indent=1)
        if out is not None:
            out.write_text(text + "\n", encoding="utf-8")
        else:
            sys.stdout.write(text + "\n")
    elif out is not None:
        from rich.console import Console

        with out.open("w", encoding="utf-8") as fh:
            Console(file=fh, width=natural_width(df)).print(rich_table(df, title))
    elif console.is_terminal:
        console.print(rich_table(df, title))
    else:  # a pipe: no folding, one line per row
        from rich.console import Console

        Console(file=sys.stdout, width=natural_width(df)).print(rich_table(df, title))


def natural_width(df: pd.DataFrame) -> int:
    """Characters a table needs to show every cell unfolded."""
    widths = [max([len(str(c)), *(len(_cell(v)) for v in df[c].head(1000))]) for c in df.columns]
    return max(80, sum(w + 3 for w in widths) + 1)


def rich_table(df: pd.DataFrame, title: str = "") -> RichTable:
    from rich.table import Table as RichTable

    table = RichTable(title=f"{title} ({len(df):,} rows)" if title else None)
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns}
    for col in df.columns:
        table.add_column(str(col), justify="right" if numeric[col] else "left", overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1e15 else f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
