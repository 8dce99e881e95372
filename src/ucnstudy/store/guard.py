"""What a study database must be before ucn reads or writes it: its own, or empty."""

from __future__ import annotations

from ucnstudy.errors import StudyError
from ucnstudy.store.engine import Engine

MARK_TABLE = "imports"  # every study ucn creates has it, from its first write on


def check_is_study(engine: Engine, where: str) -> None:
    """Refuse a database that holds tables but is not a ucnstudy study (a foreign DuckDB file,
    an application's PostgreSQL database): ucn would add its tables beside the others and then
    misread the ones that share a name (`users`)."""
    if getattr(engine, "canonical_table", None) is not None:
        return  # the original UCN schema, presented read-only by its adapter
    tables = engine.existing_tables()
    if not tables or MARK_TABLE in tables:
        return
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    raise StudyError(
        f"{where} is not a ucnstudy study: it holds other tables ({shown}) and no `{MARK_TABLE}` "
        "table, so ucn neither reads nor writes it; give a new path or an empty database"
    )
