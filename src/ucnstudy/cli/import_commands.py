"""`ucn import KIND ...`: one sub-command per source format, each in its own module."""

from __future__ import annotations

import importlib

import typer

KINDS = ("table", "manifest", "pcap", "squid", "zeek", "location", "hostview")


def register(app: typer.Typer) -> None:
    import_app = typer.Typer(help="Load raw material into the study (atomic and idempotent).",
                             no_args_is_help=True)
    for kind in KINDS:
        try:
            module = importlib.import_module(f"ucnstudy.cli.importers.{kind}")
        except ModuleNotFoundError as exc:  # an importer not built yet is simply absent
            if exc.name != f"ucnstudy.cli.importers.{kind}":
                raise
            continue
        module.register(import_app)
    app.add_typer(import_app, name="import")
