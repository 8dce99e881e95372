"""The `ucn` command: a thin layer over the Python API (Typer + Rich)."""

from __future__ import annotations

import sys

import typer

from ucnstudy.cli import study_commands
from ucnstudy.cli.common import err_console, state
from ucnstudy.errors import UcnError

app = typer.Typer(
    name="ucn",
    help="User-centric network measurement studies: import, analyse, evaluate, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    db: str = typer.Option(
        None, "--db", envvar="UCN_DB",
        help="Study URL: a .duckdb path (default ./ucnstudy.duckdb), postgresql://..., or spark:PATH.",
    ),
) -> None:
    state.db = db


study_commands.register(app)
_COMMAND_MODULES = (
    "demo_commands",
    "import_commands",
    "enrich_commands",
    "analyze_commands",
    "report_commands",
    "evaluate_commands",
    "export_commands",
    "lifecycle_commands",
)
for _module in _COMMAND_MODULES:
    try:
        _mod = __import__(f"ucnstudy.cli.{_module}", fromlist=["register"])
    except ModuleNotFoundError as _exc:  # a capability not built yet is simply absent
        if _exc.name != f"ucnstudy.cli.{_module}":
            raise
        continue
    _mod.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: library errors become one clear line on stderr and exit status 2."""
    try:
        app(args=argv, prog_name="ucn")
    except UcnError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    except SystemExit as exc:  # usage errors, --help, typer.Exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        # a database refusal the library did not foresee (disk full, lost server): still one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        err_console.print(f"[bold red]error:[/] the study database failed: {first}", highlight=False)
        return 2
    return 0


def _is_database_error(exc: BaseException) -> bool:
    """An error raised by the DuckDB or PostgreSQL driver (checked without importing them)."""
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb", "psycopg")


def run() -> None:
    """The `ucn` command: main, then exit without tearing the interpreter down. Freeing the
    modules of Ibis, pandas and PyArrow one by one takes longer than many commands (about 1.5 s
    on a loaded 2-core machine); exit handlers still run and output is flushed."""
    code = main()
    exit_now(code)


def exit_now(code: int) -> None:
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
