"""Reading the manifest of an anonymised study, and refusing work that needs a removed field.

An analysis that needs a column the export coarsened or removed says so (StudyError naming the
column, what was done to it and the level) instead of giving a wrong answer or failing later.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ucnstudy.errors import StudyError

if TYPE_CHECKING:  # `ucn info` reads the manifest without loading pyarrow
    from ucnstudy.store.study import Study

MANIFEST_TABLE = "_ucnstudy_manifest"  # where an anonymised DuckDB study keeps its manifest
LOSSY = frozenset({"coarsened", "removed"})

# What each analysis (and `evaluate`) reads that an export may coarsen or remove; columns that
# are only pseudonymised, anonymised or shifted keep the answers (after mapping pseudonyms back).
EVENT_HOSTS = ("dnsreqs.query", "httpreqs.req_url_host")
NEEDS: dict[str, tuple[str, ...]] = {
    "user-agents": ("httpreqs.req_ua",),
    "dns-http": EVENT_HOSTS,
    "evaluate": EVENT_HOSTS,
    "activity-context": ("locations.name",),
    "activity-qoe": ("httpreqs.req_ua",),  # its user_agents column counts distinct user agents
}


def privacy_manifest(study: Study) -> dict[str, Any] | None:
    """The "privacy" part of the manifest of an anonymised study, None for any other study."""
    cached = study.__dict__.get("_privacy_manifest", False)
    if cached is not False:
        return cached
    found = _read(study)
    study.__dict__["_privacy_manifest"] = found
    return found


def _read(study: Study) -> dict[str, Any] | None:
    engine = study.engine
    if engine.name == "duckdb" and MANIFEST_TABLE in engine.existing_tables():
        row = engine.raw.execute(f'SELECT manifest FROM "{MANIFEST_TABLE}"').fetchone()
        return json.loads(row[0]).get("privacy") if row else None
    root = getattr(engine, "path", None)
    if engine.name != "spark" or not isinstance(root, Path):
        return None
    from ucnstudy.store.export import MANIFEST

    manifest = root / MANIFEST
    return json.loads(manifest.read_text()).get("privacy") if manifest.is_file() else None


def lost_columns(manifest: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    """'table.column (action: detail)' for each of `columns` the export coarsened or removed."""
    out = []
    for qualified in columns:
        table, column = qualified.split(".", 1)
        rule = manifest.get("tables", {}).get(table, {}).get(column)
        if rule and rule["action"] in LOSSY:
            out.append(f"{qualified} ({rule['action']}: {rule['detail']})")
    return out


def require_fields(study: Study, what: str) -> None:
    """Raise when `what` (an analysis name, or "evaluate") needs a field this study lost."""
    needs = NEEDS.get(what)
    manifest = privacy_manifest(study) if needs else None
    if not manifest:
        return
    lost = lost_columns(manifest, needs)
    if lost:
        levels = ", ".join(f"{k}={v}" for k, v in manifest.get("levels", {}).items())
        raise StudyError(f"{what} needs {'; '.join(lost)}, which this anonymised study does not "
                         f"have (levels {levels}); run it on the original study or export with "
                         f"a level that keeps it")
