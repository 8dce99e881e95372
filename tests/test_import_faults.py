"""Imports under faults (issue 15): a kill between an import and its enrichment, compressed copies
of a file, files from which nothing can be read. Each test failed before its fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import pg_database
from ucnstudy import open_study
from ucnstudy.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")
MANIFEST = """\
users:
  - {username: u, country: fr}
devices:
  - login: u.pc
    platform: windows-laptop
    addresses:
      - {address: 141.142.220.118}
      - {address: 192.168.0.35}
"""
DERIVED = {"httpreqs": ("req_url_domain", "user_url", "matches_ctypefilter"),
           "dnsreqs": ("query_domain", "query_tld", "user_req", "duplicate")}
KILL_IN_ENRICHMENT = """
import os, signal, sys
from ucnstudy.enrich import run
def kill(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 after the import committed, mid-enrichment
run.flag_duplicates = kill
from ucnstudy.cli import main
sys.exit(main(sys.argv[1:]))
"""


def derived(url: str) -> dict[str, list[tuple[object, ...]]]:
    with open_study(url, read_only=True) as study:
        out = {}
        for table, columns in DERIVED.items():
            t = study.table(table).to_pyarrow()
            key = [c for c in ("ts", "req_url", "query") if c in t.column_names]
            rows = t.sort_by([(k, "ascending") for k in key]).to_pylist()
            out[table] = [tuple(r[c] for c in (*key, *columns)) for r in rows]
        return out


def run_killed(url: str, argv: list[str]) -> int:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-c", KILL_IN_ENRICHMENT, "--db", url, *argv],
                          env=env, capture_output=True).returncode


def study_urls(tmp_path: Path, name: str) -> tuple[str, str]:
    return str(tmp_path / f"{name}.duckdb"), str(tmp_path / f"{name}-reference.duckdb")


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
@pytest.mark.parametrize("kind", ["pcap", "squid"])
def test_a_kill_during_the_enrichment_after_an_import_is_finished_by_the_next_run(
        tmp_path: Path, real_data: Path, engine: str, kind: str) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST)
    source = (["pcap", "--device", "u.pc", str(real_data / "pcap" / "wikipedia.pcap")] if kind == "pcap"
              else ["squid", str(real_data / "squid" / "access3.log")])
    with pg_database() if engine == "postgres" else _nothing() as pg_url:
        url, reference = (pg_url, str(tmp_path / "reference.duckdb")) if pg_url else study_urls(tmp_path, "s")
        for target in (url, reference):
            assert main(["--db", target, "import", "manifest", str(manifest)]) == 0
        assert main(["--db", reference, "import", *source]) == 0  # the uninterrupted import
        assert run_killed(url, ["import", *source]) == -9
        with open_study(url, read_only=True) as study:
            assert study.pending_tasks() == {"enrich"}  # the rows committed, their enrichment not
            table = "httpreqs" if kind == "squid" else "dnsreqs"
            column = DERIVED[table][0]
            assert study.table(table).count().execute() > 0
            assert study.table(table)[column].notnull().sum().execute() == 0
        assert main(["--db", url, "import", *source]) == 0  # "already imported", yet enriched
        with open_study(url, read_only=True) as study:
            assert study.pending_tasks() == set()
        got, want = derived(url), derived(reference)
        assert got == want and any(r[-len(DERIVED["httpreqs"])] for r in got["httpreqs"])


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_ucn_enrich_also_finishes_what_a_killed_import_left(tmp_path: Path, real_data: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST)
    url, reference = study_urls(tmp_path, "s")
    source = ["squid", str(real_data / "squid" / "access3.log")]
    for target in (url, reference):
        assert main(["--db", target, "import", "manifest", str(manifest)]) == 0
    assert main(["--db", reference, "import", *source]) == 0
    assert run_killed(url, ["import", *source]) == -9
    assert main(["--db", url, "enrich"]) == 0
    with open_study(url, read_only=True) as study:
        assert study.pending_tasks() == set()
    assert derived(url) == derived(reference)


def test_postgres_cancels_the_statements_of_a_vanished_client(pg_url: str) -> None:
    with open_study(pg_url) as study:
        (interval,) = study.engine.raw.execute("SHOW client_connection_check_interval").fetchone()
    assert interval == "2s"
