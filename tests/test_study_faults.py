"""The study store under faults (issue 15): another process holding the study, odd --db
targets, foreign databases, staged rows of a killed import. Each test failed before its fix."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from test_store import sample_rows
from ucnstudy import open_study
from ucnstudy.cli import main
from ucnstudy.errors import StudyError
from ucnstudy.schema import TABLES
from ucnstudy.store import duckdb_engine

SRC = str(Path(__file__).resolve().parents[1] / "src")


def child(code: str, *args: str) -> subprocess.Popen[str]:
    """A Python process running `code` with this tree on its path; it prints 'ready' once set."""
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@pytest.fixture
def held_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int]]:
    """A study file another process holds open for writing (as a running import does)."""
    path = tmp_path / "held.duckdb"
    open_study(path).close()
    monkeypatch.setenv("UCN_LOCK_TIMEOUT", "0")
    proc = child("import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
                 " sys.stdin.read()", str(path))
    yield path, proc.pid
    proc.kill()
    proc.wait()


def test_a_study_held_by_another_process_names_that_process(held_study: tuple[Path, int]) -> None:
    path, pid = held_study
    for read_only in (False, True):
        with pytest.raises(StudyError, match=rf"in use by another process \(PID {pid}, .*python"):
            open_study(path, read_only=read_only)


@pytest.mark.parametrize("argv", [["info"], ["analyze", "user-summary"], ["enrich"],
                                  ["import", "table", "users", "users.csv"]])
def test_cli_on_a_held_study_is_one_line_and_exit_2(held_study: tuple[Path, int], argv: list[str],
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path, pid = held_study
    (path.parent / "users.csv").write_text("id,username\n1,alice\n")
    monkeypatch.chdir(path.parent)
    assert main(["--db", str(path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"PID {pid}" in err and "Traceback" not in err


def test_the_lock_is_waited_for_up_to_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A holder that lets go within the timeout is waited for (the open retries)."""
    path = tmp_path / "s.duckdb"
    open_study(path).close()
    attempts = []
    real = duckdb_engine.duckdb.connect

    def busy_twice(*args: object, **kwargs: object) -> object:
        attempts.append(1)
        if len(attempts) <= 2:
            raise duckdb.IOException('Could not set lock on file "x": Conflicting lock is held in '
                                     "/usr/bin/python3 (PID 4242). See also ...")
        return real(*args, **kwargs)

    monkeypatch.setattr(duckdb_engine.duckdb, "connect", busy_twice)
    monkeypatch.setattr(duckdb_engine.time, "sleep", lambda s: None)
    monkeypatch.setenv("UCN_LOCK_TIMEOUT", "30")
    open_study(path).close()
    assert len(attempts) == 3
    monkeypatch.setenv("UCN_LOCK_TIMEOUT", "0")
    attempts.clear()
    with pytest.raises(StudyError, match=r"PID 4242, /usr/bin/python3\): wait for it"):
        open_study(path)


def _odd_targets(tmp_path: Path) -> dict[str, str]:
    """Every odd --db target of issue 15, point 10."""
    import sqlite3

    targets = {"missing directory": str(tmp_path / "no" / "such" / "dir" / "s.duckdb")}
    (tmp_path / "empty.duckdb").write_bytes(b"")
    targets["empty file"] = str(tmp_path / "empty.duckdb")
    (tmp_path / "text.duckdb").write_text("not a database\n" * 100)
    targets["text file"] = str(tmp_path / "text.duckdb")
    (tmp_path / "dir.duckdb").mkdir()
    targets["directory"] = str(tmp_path / "dir.duckdb")
    good = tmp_path / "good.duckdb"
    with open_study(good) as study:
        study.create_schema()
    (tmp_path / "truncated.duckdb").write_bytes(good.read_bytes()[:20_000])
    targets["truncated DuckDB file"] = str(tmp_path / "truncated.duckdb")
    con = sqlite3.connect(tmp_path / "lite.db")
    con.execute("CREATE TABLE users (id INTEGER)")
    con.commit()
    con.close()
    targets["SQLite file"] = str(tmp_path / "lite.db")
    foreign = duckdb.connect(str(tmp_path / "foreign.duckdb"))
    foreign.execute("CREATE TABLE users (uid INTEGER, email VARCHAR)")
    foreign.close()
    targets["foreign DuckDB database"] = str(tmp_path / "foreign.duckdb")
    return targets


EXPECTED = {
    "missing directory": "does not exist|no study at", "empty file": "is not a DuckDB study",
    "text file": "is not a DuckDB study", "directory": "is a directory",
    "truncated DuckDB file": "is not a DuckDB study", "SQLite file": "is an SQLite database",
    "foreign DuckDB database": r"is not a ucnstudy study: it holds other tables \(users\)",
}
COMMANDS = [
    ["info"], ["demo", "--users", "1", "--days", "1"], ["enrich"], ["analyze", "user-summary"],
    ["report", "--out", "{tmp}/report"], ["evaluate"], ["export", "--to", "{tmp}/export"],
    ["import", "table", "users", "{tmp}/users.csv"], ["import", "manifest", "{tmp}/m.yaml"],
    ["import", "pcap", "--device", "a.phone", "{tmp}/users.csv"],
    ["import", "squid", "{tmp}/users.csv"], ["import", "zeek", "{tmp}/users.csv"],
    ["import", "location", "--device", "a.phone", "--format", "gpx", "{tmp}/users.csv"],
    ["import", "hostview", "--device", "a.phone", "{tmp}/users.csv"],
]


def test_every_command_on_every_odd_db_target_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    targets = _odd_targets(tmp_path)
    (tmp_path / "users.csv").write_text("id,username\n1,alice\n")
    (tmp_path / "m.yaml").write_text("users:\n  - {username: a}\n")
    monkeypatch.chdir(tmp_path)
    foreign_before = duckdb.connect(targets["foreign DuckDB database"], read_only=True)
    foreign_tables = foreign_before.execute("SHOW TABLES").fetchall()
    foreign_before.close()
    capsys.readouterr()
    for name, target in targets.items():
        for command in COMMANDS:
            argv = ["--db", target, *(a.format(tmp=tmp_path) for a in command)]
            code = main(argv)
            err = capsys.readouterr().err.strip()
            assert (code, len(err.splitlines())) == (2, 1), (name, command, err)
            assert re.search(EXPECTED[name], err) and "Traceback" not in err, (name, command, err)
    foreign = duckdb.connect(targets["foreign DuckDB database"], read_only=True)
    assert foreign.execute("SHOW TABLES").fetchall() == foreign_tables  # nothing was added
    foreign.close()
    assert not (tmp_path / "no").exists()


def test_an_empty_database_becomes_a_study_and_a_foreign_postgres_one_is_refused(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("CREATE TABLE orders (uid integer, email text)")
    with pytest.raises(StudyError, match=r"is not a ucnstudy study: it holds other tables \(orders\)"):
        open_study(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DROP TABLE orders")
    with open_study(pg_url) as study:  # empty: a new study
        study.create_schema()
        assert set(TABLES) <= study.engine.existing_tables()


def test_duckdb_never_loads_or_installs_an_extension_by_itself(tmp_path: Path) -> None:
    with open_study(tmp_path / "s.duckdb") as study:
        settings = study.engine.raw.execute(
            "SELECT current_setting('autoload_known_extensions'), "
            "current_setting('autoinstall_known_extensions')").fetchone()
    assert settings == (False, False)


@pytest.mark.parametrize("where", ["file", "directory"])
def test_a_read_only_study_refuses_imports_clearly(tmp_path: Path, where: str,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """os.access stands in for the permission bits (the tests may run as root, who ignores them)."""
    path = tmp_path / "s.duckdb"
    if where == "file":
        open_study(path).close()
    denied = str(path) if where == "file" else str(tmp_path)
    real_access = os.access
    monkeypatch.setattr(duckdb_engine.os, "access",
                        lambda p, mode: False if (str(p) == denied and mode == os.W_OK)
                        else real_access(p, mode))
    with pytest.raises(StudyError, match=r"permission denied|is not writable"):
        open_study(path)
    (tmp_path / "users.csv").write_text("id,username\n1,alice\n")
    for argv in (["enrich"], ["import", "table", "users", str(tmp_path / "users.csv")]):
        assert main(["--db", str(path), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and re.search("permission denied|is not writable", err)
    if where == "file":
        open_study(path, read_only=True).close()  # reading stays possible


KILLED_IMPORT = """
import os, sys
from ucnstudy import open_study
from ucnstudy.store import duckdb_engine
from test_store import sample_rows
from ucnstudy.schema import TABLES
duckdb_engine.DIRECT_ROWS = 4
study = open_study(sys.argv[1])
study.create_schema()
with study.load("table", "big.csv", "abc") as load:
    load.append("devicetraffic", sample_rows(TABLES["devicetraffic"], 50))
    print("ready", flush=True)
    sys.stdin.read()
"""


def test_a_killed_import_leaves_staged_rows_that_the_next_open_removes(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    env_tests = str(Path(__file__).resolve().parent)
    proc = child(f"import sys; sys.path.insert(0, {env_tests!r})\n" + KILLED_IMPORT, str(path))
    stage = Path(f"{path}.ucn-stage")
    staged = list(stage.glob("*/devicetraffic.parquet"))
    assert len(staged) == 1 and staged[0].stat().st_size > 0  # staged beside the study, not in /tmp
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert staged[0].exists()
    with open_study(path) as study:
        assert not stage.exists()
        assert study.counts()["devicetraffic"] == 0 and study.counts()["imports"] == 0


def test_staging_happens_beside_the_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_engine, "DIRECT_ROWS", 4)
    with open_study(tmp_path / "s.duckdb") as study:
        study.create_schema()
        seen = []
        with study.load("table", "x", "x") as load:
            load.append("devicetraffic", sample_rows(TABLES["devicetraffic"], 20))
            seen = list(tmp_path.glob("s.duckdb.ucn-stage/*/*.parquet"))
        assert len(seen) == 1 and not seen[0].exists()
        assert study.counts()["devicetraffic"] == 20
    assert isinstance(sample_rows(TABLES["devicetraffic"], 1), pa.Table)


def test_concurrent_imports_of_one_file_on_postgres_add_it_once(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes importing the same content: the second waits for the first's lock (here
    1 ms, then a clear error) and, once the first has committed, skips it as a duplicate."""
    monkeypatch.setenv("UCN_LOCK_TIMEOUT", "0")
    rows = [("devicetraffic", sample_rows(TABLES["devicetraffic"], 5))]
    with open_study(pg_url) as first, open_study(pg_url) as second:
        first.create_schema()
        with first.load("table", "a.csv", "same-content") as load:
            assert load is not None
            load.extend(rows)
            with pytest.raises(StudyError, match=r"another import is writing this study \(waited 0 s\)"):
                second.import_rows("table", "copy-of-a.csv", rows, sha256="same-content")
            assert second.table("imports").count().execute() == 0  # readers do not wait
        again = second.import_rows("table", "copy-of-a.csv", rows, sha256="same-content")
        assert again.skipped
        assert first.counts()["devicetraffic"] == 5 and first.counts()["imports"] == 1
