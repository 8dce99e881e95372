"""The `ucn` command: a thin layer over the Python API (Typer + Rich)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

import typer

from ucnstudy.cli.common import err_console, state
from ucnstudy.errors import UcnError

# Each top-level command and the module that registers it: `ucn NAME ...` imports and builds
# only that module's commands (all of them cost about 0.05 s of a command's start); `ucn`,
# `ucn --help` and an unknown name get every command.
COMMANDS = {
    "info": "study_commands",
    "demo": "demo_commands",
    "import": "import_commands",
    "enrich": "enrich_commands",
    "analyze": "analyze_commands",
    "report": "report_commands",
    "evaluate": "evaluate_commands",
    "export": "export_commands",
    "imports": "lifecycle_commands",
    "users": "lifecycle_commands",
    "reattribute": "lifecycle_commands",
    "upgrade": "lifecycle_commands",
}


def _root(
    db: str = typer.Option(
        None, "--db", envvar="UCN_DB",
        help="Study URL: a .duckdb path (default ./ucnstudy.duckdb), postgresql://..., or spark:PATH.",
    ),
) -> None:
    state.db = db


def build_app(modules: Iterable[str] = tuple(dict.fromkeys(COMMANDS.values()))) -> typer.Typer:
    """The `ucn` application with the commands of `modules` (every command by default)."""
    app = typer.Typer(
        name="ucn",
        help="User-centric network measurement studies: import, analyse, evaluate, report.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(_root)
    for module in modules:
        importlib.import_module(f"ucnstudy.cli.{module}").register(app)
    return app


def command_name(args: list[str]) -> str | None:
    """The command word of a `ucn` command line (the first argument that is neither an option
    of `ucn` itself nor the value of --db)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--db":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole application, for tests and documentation
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: library errors become one clear line on stderr and exit status 2."""
    args = sys.argv[1:] if argv is None else argv
    module = COMMANDS.get(command_name(args) or "")
    app = build_app([module]) if module else build_app()
    try:
        app(args=args, prog_name="ucn")
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
