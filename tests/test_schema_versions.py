"""Schema versions: committed study files open, a version-1 study upgrades in place (atomically),
a newer study is refused, on DuckDB and PostgreSQL."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from handmade_study import canonical_tables
from lifecycle_scenario import fault_after, snapshot
from ucnstudy import Study, open_study
from ucnstudy.cli import main
from ucnstudy.errors import StudyError
from ucnstudy.schema import _TCP_PERFORMANCE, BOOKKEEPING, IMPORT_ID, SCHEMA_VERSION, TABLES, TRACED, Table
from ucnstudy.store.conform import conform
from ucnstudy.store.engine import index_statements
from ucnstudy.store.lifecycle import list_imports
from ucnstudy.store.migrate import create_table_sql, engine_types, record_version, study_version, upgrade

DATA = Path(__file__).parent / "data"
STUDY_FILES = sorted(DATA.glob("study-v*.duckdb.gz"))


def unpacked(path: Path, folder: Path) -> Path:
    target = folder / path.name.removesuffix(".gz")
    with gzip.open(path, "rb") as packed, target.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return target


def assert_current_schema(study: Study, where: str) -> None:
    for name, table in TABLES.items():
        got = set(study.table(name).schema().names)
        assert got == set(table.column_names), (
            f"{where}: {name} has {sorted(got ^ set(table.column_names))} unlike schema.py; a schema "
            "change appends a Migration (store/migrate.py), bumps SCHEMA_VERSION and writes a new "
            "study file (tests/data/write_study_files.py)")


def test_a_study_file_of_this_version_is_committed() -> None:
    assert DATA / f"study-v{SCHEMA_VERSION}.duckdb.gz" in STUDY_FILES


@pytest.mark.parametrize("packed", STUDY_FILES, ids=lambda p: p.name)
def test_committed_study_files_open(packed: Path, tmp_path: Path) -> None:
    path = unpacked(packed, tmp_path)
    version = int(packed.name.split("-v")[1].split(".")[0])
    with open_study(path, any_version=True) as study:
        assert study_version(study) == version
        if version < SCHEMA_VERSION:
            assert upgrade(study).to_version == SCHEMA_VERSION
    with open_study(path, read_only=True) as study:
        assert_current_schema(study, packed.name)
        want = {n: t.num_rows for n, t in canonical_tables(days=1).items()}
        assert {n: c for n, c in study.counts().items() if n in want} == want


# what version 2 added, besides import_id on every loaded table
V1_ADDED = {"imports": ("options", "table_rows"),
            "flows": tuple(c.name for c in _TCP_PERFORMANCE)}
V2_TABLES = ("schema_versions", "study_tasks", "networks")


def version_1_table(table: Table) -> Table:
    dropped = (IMPORT_ID.name, *V1_ADDED.get(table.name, ()))
    return Table(table.name, table.doc, tuple(c for c in table.columns if c.name not in dropped),
                 table.indexes)


def make_version_1(study: Study) -> None:
    """The study as the code before schema versions wrote it, from its DDL: no import_id, no
    options or table_rows in imports, no schema_versions table; the hand-made rows, one import."""
    study.engine.drop_tables(list(TABLES))
    old = [version_1_table(t) for name, t in TABLES.items() if name not in V2_TABLES]
    types = engine_types(study.engine.name)
    rows = canonical_tables()
    with study.engine.transaction() as writer:
        for table in old:
            writer.execute(create_table_sql(table, types))
            for stmt in index_statements(table, study.engine.name):
                writer.execute(stmt)
            data = rows.get(table.name)
            if data is not None and data.num_rows:
                writer.append(table, data.select(table.column_names))
        record = {"id": [1], "source_kind": ["table"], "path": ["handmade"], "sha256": ["handmade-study"],
                  "rows": [sum(t.num_rows for t in rows.values())], "parser_version": ["0.1.0"]}
        imports = next(t for t in old if t.name == "imports")
        writer.append(imports, conform(imports, pa.table(record)))


def test_version_1_is_refused_then_upgraded(any_study: Study, capsys: pytest.CaptureFixture[str]) -> None:
    make_version_1(any_study)
    before = snapshot(any_study, exclude=(*BOOKKEEPING, *V2_TABLES))
    url = any_study.url.target
    any_study.close()
    with pytest.raises(StudyError, match=r"has schema version 1, older than this ucnstudy's \(2\): "
                                         r"run `ucn upgrade`"):
        open_study(url)
    assert main(["--db", url, "info"]) == 2
    assert "run `ucn upgrade`" in capsys.readouterr().err
    assert main(["--db", url, "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "upgraded from schema version 1 to 2" in out and "users.import_id" in out
    assert "table schema_versions" in out
    with open_study(url) as study:
        assert study_version(study) == SCHEMA_VERSION
        assert_current_schema(study, "upgraded")
        after = snapshot(study, exclude=(*BOOKKEEPING, *V2_TABLES))
        added = {n: {IMPORT_ID.name, *V1_ADDED.get(n, ())} for n in after}
        assert all(r[k] is None for n, rows in after.items() for r in rows for k in added[n])
        assert {n: [{k: v for k, v in r.items() if k not in added[n]} for r in rows]
                for n, rows in after.items()} == before
        listing = list_imports(study)
        assert [(r.id, r.rows, r.table_rows) for r in listing.imports] == [(1, sum(
            t.num_rows for t in canonical_tables().values()), {})]
        assert listing.untraced == {n: t.num_rows for n, t in canonical_tables().items() if t.num_rows}
    assert main(["--db", url, "upgrade"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_a_failed_upgrade_leaves_the_old_study(any_study: Study, monkeypatch: pytest.MonkeyPatch) -> None:
    make_version_1(any_study)
    before = {n: set(any_study.table(n).schema().names) for n in any_study.engine.existing_tables()}
    with fault_after(any_study, monkeypatch, statements=len(TRACED) // 2):
        upgrade(any_study)
    assert study_version(any_study) == 1
    assert {n: set(any_study.table(n).schema().names) for n in any_study.engine.existing_tables()} == before


def test_a_killed_upgrade_leaves_the_old_study(tmp_path: Path) -> None:
    path = tmp_path / "study.duckdb"
    with open_study(path) as study:
        make_version_1(study)
    kill = (  # the process dies (no rollback, no close) after half of the upgrade's statements
        "import os, sys; from ucnstudy import open_study; from ucnstudy.store import migrate\n"
        "n = [0]; real = migrate._additive\n"
        "class W:\n"
        "    def __init__(s, w): s.w = w\n"
        "    def execute(s, *a):\n"
        "        n[0] += 1\n"
        "        if n[0] > 6: os._exit(9)\n"
        "        return s.w.execute(*a)\n"
        "    def __getattr__(s, k): return getattr(s.w, k)\n"
        "migrate._additive = lambda w, t, r: real(W(w), t, r)\n"
        "migrate.upgrade(open_study(sys.argv[1], any_version=True))\n")
    done = subprocess.run([sys.executable, "-c", kill, str(path)], capture_output=True, text=True)
    assert done.returncode == 9, done.stderr
    with open_study(path, any_version=True) as study:
        assert study_version(study) == 1
        assert "import_id" not in study.table("users").schema().names
        assert upgrade(study).to_version == SCHEMA_VERSION


def test_a_newer_study_is_refused(any_study: Study, capsys: pytest.CaptureFixture[str]) -> None:
    with any_study.engine.transaction() as writer:
        record_version(writer, SCHEMA_VERSION + 1)
    url = any_study.url.target
    any_study.close()
    with pytest.raises(StudyError, match=rf"written with schema version {SCHEMA_VERSION + 1}, newer "
                                         "than this ucnstudy"):
        open_study(url, read_only=True)
    assert main(["--db", url, "upgrade"]) == 2
    assert "upgrade ucnstudy to open it" in capsys.readouterr().err
