"""`ucn import table`: typed CSV/Parquet loads, rejected whole on any bad cell."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ucnstudy import open_study
from ucnstudy.cli import main


def run(db: Path, *args: str) -> int:
    return main(["--db", str(db), "import", "table", *args])


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_loads_with_types_and_utc_conversion(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    csv = write(tmp_path / "d.csv", "devid,ts,query,ans_ttl,user_req\n"
                "1,2015-03-29T01:30:00+01:00,a.example.com,\"[60, 30]\",true\n"
                "2,2015-03-29 02:00:00.5,,,\n")
    assert run(db, "dnsreqs", str(csv)) == 0
    with open_study(db, read_only=True) as study:
        rows = study.table("dnsreqs").order_by("devid").to_pyarrow().to_pylist()
    assert rows[0]["ts"] == datetime(2015, 3, 29, 0, 30)
    assert rows[0]["ans_ttl"] == [60, 30] and rows[0]["user_req"] is True
    assert rows[1]["ts"] == datetime(2015, 3, 29, 2, 0, 0, 500000)
    assert rows[1]["query"] is None and rows[1]["ans_ttl"] is None


def test_parquet_loads_and_second_load_adds_nothing(tmp_path: Path, capsys) -> None:
    db = tmp_path / "s.duckdb"
    pq.write_table(pa.table({"devid": [1, 1], "ts": [datetime(2015, 1, 1), datetime(2015, 1, 1, 0, 0, 1)],
                             "bytes_in": [10, 20]}), tmp_path / "t.parquet")
    assert run(db, "devicetraffic", str(tmp_path / "t.parquet")) == 0
    assert run(db, "devicetraffic", str(tmp_path / "t.parquet")) == 0
    assert "already imported" in " ".join(capsys.readouterr().out.split())
    with open_study(db, read_only=True) as study:
        assert study.counts()["devicetraffic"] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("devid,ts,nope\n1,2015-01-01,3\n", "unknown column(s) 'nope'"),
        ("devid,ts,bytes_in\n1,2015-01-01,3\n2,2015-01-01,12x\n", "row 2, column 'bytes_in': value '12x'"),
        ("devid,ts\n1,2015-01-01\n2,not-a-time\n", "row 2, column 'ts': value 'not-a-time'"),
        ("devid,ts\n1,2015-01-01\n,2015-01-01\n", "row 2, column 'devid': empty value in a required"),
        ("ts,bytes_in\n2015-01-01,3\n", "required column 'devid' of devicetraffic is missing"),
    ],
)
def test_bad_csv_is_rejected_naming_file_row_and_column(tmp_path: Path, capsys, text: str,
                                                         message: str) -> None:
    db = tmp_path / "s.duckdb"
    csv = write(tmp_path / "bad.csv", text)
    assert run(db, "devicetraffic", str(csv)) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert str(csv) in err and message in err
    with open_study(db, read_only=True) as study:
        assert study.counts()["devicetraffic"] == 0
        assert study.counts()["imports"] == 0


def test_bad_row_deep_in_a_large_file_is_located_and_nothing_loads(tmp_path: Path, capsys) -> None:
    db = tmp_path / "s.duckdb"
    lines = ["devid,ts,bytes_in"] + [f"1,2015-01-01 00:00:00,{i}" for i in range(250_000)]
    lines[200_001] = "1,2015-01-01 00:00:00,oops"
    csv = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    assert run(db, "devicetraffic", str(csv)) == 2
    assert "row 200001" in " ".join(capsys.readouterr().err.split())
    with open_study(db, read_only=True) as study:
        assert study.counts()["devicetraffic"] == 0


def test_unknown_table_and_missing_file(tmp_path: Path, capsys) -> None:
    db = tmp_path / "s.duckdb"
    assert run(db, "nosuch", str(tmp_path / "x.csv")) != 0
    assert run(db, "devicetraffic", str(tmp_path / "missing.csv")) == 2
    assert "no such file" in " ".join(capsys.readouterr().err.split())
