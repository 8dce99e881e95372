"""Docs that must not drift from the code."""

from __future__ import annotations

from pathlib import Path

from ucnstudy.schema_markdown import render_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_schema_doc_is_generated_from_the_schema() -> None:
    assert (ROOT / "docs" / "schema.md").read_text() == render_markdown(), (
        "docs/schema.md is stale: run python -m ucnstudy.schema_markdown > docs/schema.md")


def test_every_cli_command_has_help() -> None:
    from ucnstudy.cli import app

    def walk(typer_app, prefix=""):
        for cmd in typer_app.registered_commands:
            name = cmd.name or cmd.callback.__name__
            yield prefix + name, (cmd.help or cmd.callback.__doc__ or "").strip()
        for group in typer_app.registered_groups:
            yield from walk(group.typer_instance, prefix + group.name + " ")

    commands = dict(walk(app))
    assert "info" in commands and "import table" in commands
    missing = [name for name, text in commands.items() if not text]
    assert not missing, f"commands without help: {missing}"
