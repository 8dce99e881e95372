"""`ucn analyze`: every analysis reachable with its documented columns, in every format."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analyses_builders import Builder, at
from ucnstudy.analyses import ANALYSES
from ucnstudy.cli import main
from ucnstudy.cli.analyze_commands import option_name
from ucnstudy.store import open_study

DOCS = Path(__file__).resolve().parents[1] / "docs" / "analyses.md"


@pytest.fixture
def study_path(tmp_path: Path) -> str:
    path = tmp_path / "cli.duckdb"
    study = open_study(path)
    study.create_schema()
    b = Builder()
    b.user("alice", "fr")
    b.device("alice.mac", "alice")
    for t in (0, 10, 20, 30):
        b.dns("alice.mac", at(t), "a.com", ttl=[60])
        b.http("alice.mac", at(t + 1), "a.com", ua="curl/7.43.0")
        b.add("devicetraffic", devid=1, ts=at(t), packets_in=20, bytes_in=2000, packets_out=1,
              bytes_out=40)
        b.add("deviceapptraffic", devid=1, ts=at(t), dstport=443, service="https",
              packets_in=20, bytes_in=2000, packets_out=1, bytes_out=40)
    b.load(study)
    study.close()
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_csv_json_and_parquet_carry_the_same_table(study_path, tmp_path, capsys):
    code, out, _ = run(capsys, "--db", study_path, "analyze", "activities", "-f", "csv")
    assert code == 0
    csv = pd.read_csv(io.StringIO(out))
    assert list(csv.columns) == ["username", "start", "end", "duration_s", "events", "devices"]
    assert csv.iloc[0].tolist() == ["alice", "2015-03-27T12:00:00.000000Z",
                                    "2015-03-27T12:00:31.000000Z", 31.0, 8, "alice.mac"]
    code, out, _ = run(capsys, "--db", study_path, "analyze", "activities", "--gap", "5",
                       "-f", "json")
    assert code == 0 and json.loads(out) == []
    target = tmp_path / "pairs.parquet"
    code, _, _ = run(capsys, "--db", study_path, "analyze", "dns-http", "-f", "parquet",
                     "-o", str(target))
    pairs = pd.read_parquet(target)
    assert code == 0 and list(pairs.delay_s) == [1.0, 1.0, 1.0, 1.0]


def test_text_table_and_errors(study_path, capsys):
    code, out, _ = run(capsys, "--db", study_path, "analyze", "user-summary")
    assert code == 0 and "alice" in out and "devices_personal" in out
    code, _, err = run(capsys, "--db", study_path, "analyze", "dns-http", "-f", "parquet")
    assert code == 2 and "--out" in err
    code, _, err = run(capsys, "--db", study_path, "analyze", "heatmap", "--bin", "7")
    assert code == 2 and "divide 1440" in err


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_every_analysis_runs_from_the_cli_and_is_documented(study_path, capsys, name):
    code, out, err = run(capsys, "--db", study_path, "analyze", name, "-f", "json")
    assert code == 0, err
    assert isinstance(json.loads(out), list)
    code, out, _ = run(capsys, "analyze", name, "--help")
    assert code == 0
    params = ANALYSES[name].params
    for f in dataclasses.fields(params):
        assert option_name(f.name) in out
        assert f.metadata.get("help"), f"{name}: parameter {f.name} has no help"
    section = re.search(rf"^## `{re.escape(name)}`$(.*?)(?=^## |\Z)", DOCS.read_text(),
                        re.S | re.M)
    assert section, f"docs/analyses.md has no section for {name}"
    for f in dataclasses.fields(params):
        assert f"`{option_name(f.name)}`" in section.group(1), f"{name}: {f.name} undocumented"


def test_long_text_tables_show_their_head(tmp_path, capsys):
    path = tmp_path / "long.duckdb"
    study = open_study(path)
    study.create_schema()
    b = Builder()
    b.user("alice", "fr")
    b.device("alice.mac", "alice")
    for t in range(250):
        b.dns("alice.mac", at(t), "a.com")
    b.load(study)
    study.close()
    code, out, err = run(capsys, "--db", str(path), "analyze", "dns-http")
    assert code == 0 and "first 200 of 250 rows" in err and "(200 rows)" in out
    code, out, _ = run(capsys, "--db", str(path), "analyze", "dns-http", "-f", "csv")
    assert len(out.strip().splitlines()) == 251
