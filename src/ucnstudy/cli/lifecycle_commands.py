"""`ucn imports [remove ID...]`, `ucn reattribute`, `ucn users remove USERNAME`, `ucn upgrade`."""

from __future__ import annotations

import json
from collections.abc import Mapping

import typer

from ucnstudy.cli.common import console, open_cli_study, state
from ucnstudy.store import Study, open_study


def register(app: typer.Typer) -> None:
    """Each call builds its own sub-applications (cli.build_app may build the app twice)."""
    imports_app = typer.Typer(help="What was loaded from where; remove imports.",
                              invoke_without_command=True)
    users_app = typer.Typer(help="Participants of the study.", no_args_is_help=True)
    imports_app.callback()(list_imports)
    imports_app.command("remove")(remove_imports)
    users_app.command("remove")(remove_user)
    app.add_typer(imports_app, name="imports")
    app.add_typer(users_app, name="users")
    app.command("reattribute")(reattribute)
    app.command("upgrade")(upgrade)


def list_imports(ctx: typer.Context) -> None:
    """List the imports: id, kind, file, digest, options, parser version, rows per table, when."""
    if ctx.invoked_subcommand is not None:
        return
    from ucnstudy.store.lifecycle import list_imports as listing

    with open_cli_study(read_only=True) as study:
        found = listing(study)
    if not found.imports:
        console.print("no imports yet")
    for r in found.imports:
        when = r.imported_at.isoformat(" ", "seconds") if r.imported_at else "?"
        console.print(f"[bold]{r.id}[/] {r.kind} {r.path or ''}  sha256 {r.sha256[:12]}  "
                      f"parser {r.parser_version or '?'}  {when}", soft_wrap=True, highlight=False)
        rows = ", ".join(f"{n:,} {name}" for name, n in r.table_rows.items()) or f"{r.rows:,} (in all)"
        console.print(f"    rows: {rows}", soft_wrap=True, highlight=False)
        if r.options:
            console.print(f"    options: {json.dumps(r.options, sort_keys=True)}", soft_wrap=True,
                          highlight=False)
    if found.untraced:
        rows = ", ".join(f"{n:,} {name}" for name, n in found.untraced.items())
        console.print(f"before import tracing (no import id, cannot be removed by id): {rows}",
                      soft_wrap=True)


def remove_imports(ids: list[int] = typer.Argument(..., help="import ids (see `ucn imports`)")) -> None:
    """Delete exactly the rows of these imports, atomically; derived columns are recomputed."""
    from ucnstudy.store.lifecycle import remove_imports as remove

    with open_cli_study() as study:
        removed = remove(study, ids)
        _enrich_after(study, removed)
    what = ", ".join(f"{n:,} {t}" for t, n in removed.items()) or "no rows"
    console.print(f"removed import(s) {', '.join(map(str, sorted(set(ids))))}: {what}", soft_wrap=True)


def reattribute() -> None:
    """Recompute the device of squid and Zeek rows from the current address leases, atomically."""
    from ucnstudy.store.lifecycle import reattribute as run

    with open_cli_study() as study:
        result = run(study)
        _enrich_after(study, result.moved)
    console.print(f"{result.total_moved:,} rows moved between devices", soft_wrap=True)
    for table, pairs in result.moved.items():
        for (old, new), n in sorted(pairs.items()):
            console.print(f"  {table}: {n:,} from {old} to {new}", soft_wrap=True)
    for table, n in result.unleased.items():
        console.print(f"  {table}: {n:,} rows no lease covers now, left on their device", soft_wrap=True)


def remove_user(username: str = typer.Argument(..., help="username of the participant")) -> None:
    """Withdraw a participant: the user, their personal devices and every row of those devices.

    Shared devices keep their rows for the other users."""
    from ucnstudy.store.withdraw import remove_user as withdraw

    with open_cli_study() as study:
        result = withdraw(study, username)
        _enrich_after(study, result.rows)
    console.print(f"removed user {result.username}: devices {', '.join(result.devices) or 'none'}; "
                  + (", ".join(f"{n:,} {t}" for t, n in result.rows.items()) or "no rows"), soft_wrap=True)
    if result.shared_kept:
        console.print(f"shared devices kept for the other users: {', '.join(result.shared_kept)}",
                      soft_wrap=True)
    if result.imports_removed:
        console.print(f"imports left without rows, removed: {', '.join(map(str, result.imports_removed))}",
                      soft_wrap=True)


def upgrade() -> None:
    """Migrate the study in place to this ucnstudy's schema version (one transaction)."""
    from ucnstudy.store.migrate import upgrade as run

    with open_study(state.db, any_version=True) as study:
        result = run(study)
    if result.from_version == result.to_version:
        console.print(f"the study is at schema version {result.to_version}: nothing to do")
        return
    added = [*(f"table {t}" for t in result.tables), *result.columns]
    console.print(f"upgraded from schema version {result.from_version} to {result.to_version}: "
                  f"added {', '.join(added) or 'nothing'}", soft_wrap=True)


def _enrich_after(study: Study, changed: Mapping[str, object]) -> None:
    """Derived columns that depend on other rows (DNS duplicates) follow removals and moves."""
    if "httpreqs" in changed or "dnsreqs" in changed:
        from ucnstudy.enrich import enrich_study

        enrich_study(study)
