"""A kill in Zeek's server-name pass (issue 15, point 1): the names that ssl, http and dns logs
give flows are held in memory until the pass, so the logs' imports record a `zeek-names` task
and the next Zeek import or `ucn enrich` re-reads them. Each test failed before its fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import pg_database
from test_import_faults import MANIFEST, SRC, _nothing
from ucnstudy import open_study
from ucnstudy.cli import main

KILL_IN_NAMES = """
import os, signal, sys
from ucnstudy.sources.zeek import names
def kill(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 after the logs committed, in the name pass
names._update = kill
from ucnstudy.cli import main
sys.exit(main(sys.argv[1:]))
"""
ZEEK_MANIFEST = MANIFEST + "      - {address: 147.32.83.161}\n"


def run_killed(url: str, argv: list[str]) -> int:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-c", KILL_IN_NAMES, "--db", url, *argv],
                          env=env, capture_output=True).returncode


def named_flows(url: str) -> list[tuple[object, ...]]:
    with open_study(url, read_only=True) as study:
        t = study.table("flows")
        rows = t.select("startts", "flowid", "server_name").to_pyarrow().to_pylist()
    return sorted(((r["startts"], r["flowid"], r["server_name"]) for r in rows), key=repr)


def zeek_logs(real_data: Path, tmp_path: Path) -> Path:
    logs = tmp_path / "zeek"
    shutil.copytree(real_data / "zeek" / "ctu-normal-012", logs)
    return logs


def studies(tmp_path: Path, manifest: Path, *urls: str) -> None:
    manifest.write_text(ZEEK_MANIFEST)
    for url in urls:
        assert main(["--db", url, "import", "manifest", str(manifest)]) == 0


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_a_kill_in_the_zeek_server_name_pass_is_finished_by_the_next_import(
        tmp_path: Path, real_data: Path, engine: str) -> None:
    logs = zeek_logs(real_data, tmp_path)
    reference = str(tmp_path / "reference.duckdb")
    with pg_database() if engine == "postgres" else _nothing() as pg_url:
        url = pg_url or str(tmp_path / "s.duckdb")
        studies(tmp_path, tmp_path / "m.yaml", url, reference)
        assert main(["--db", reference, "import", "zeek", str(logs)]) == 0  # uninterrupted
        want = named_flows(reference)
        assert sum(1 for r in want if r[2]) > 100
        assert run_killed(url, ["import", "zeek", str(logs)]) == -9
        with open_study(url, read_only=True) as study:
            assert study.pending_tasks() == {"zeek-names", "enrich"}  # the logs committed, not their names
            assert study.table("flows").server_name.notnull().sum().execute() == 0
        assert main(["--db", url, "import", "zeek", str(logs)]) == 0  # every log "already imported"
        with open_study(url, read_only=True) as study:
            assert study.pending_tasks() == set()
        assert named_flows(url) == want


def test_ucn_enrich_redoes_the_name_pass_and_names_a_log_that_is_gone(
        tmp_path: Path, real_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = zeek_logs(real_data, tmp_path)
    url, reference = str(tmp_path / "s.duckdb"), str(tmp_path / "reference.duckdb")
    studies(tmp_path, tmp_path / "m.yaml", url, reference)
    assert main(["--db", reference, "import", "zeek", str(logs)]) == 0
    assert run_killed(url, ["import", "zeek", str(logs)]) == -9
    ssl = logs / "ssl.log.labeled"
    saved = ssl.read_bytes()
    ssl.unlink()  # moved away after the stopped import: its SNI names cannot be restored
    capsys.readouterr()
    assert main(["--db", url, "enrich"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"{ssl}: gone or changed since its import" in err
    with open_study(url, read_only=True) as study:
        assert study.pending_tasks() == set()
    got, want = named_flows(url), named_flows(reference)
    assert 0 < sum(1 for r in got if r[2]) < sum(1 for r in want if r[2])  # http and dns names only
    ssl.write_bytes(saved)
    assert run_killed(url, ["import", "zeek", str(logs)]) == 0  # nothing new: no pass, no kill
