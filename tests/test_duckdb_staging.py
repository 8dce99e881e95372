"""DuckDB transactions stage large appends in Parquet and insert them in one statement: the rows
and their types come back the same, a failure leaves nothing, queries see staged rows."""

from __future__ import annotations

import glob
import os
import tempfile

import pyarrow as pa
import pytest

from test_store import sample_rows
from ucnstudy import Study
from ucnstudy.errors import InputError
from ucnstudy.schema import TABLES
from ucnstudy.store import duckdb_engine
from ucnstudy.store.conform import conform
from ucnstudy.store.study import stamp


@pytest.fixture
def staging_after_four_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_engine, "DIRECT_ROWS", 4)


def chunks(table: str, n: int, size: int) -> list[tuple[str, pa.Table]]:
    rows = sample_rows(TABLES[table], n)
    return [(table, rows.slice(i, size)) for i in range(0, n, size)]


def staged_dirs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "ucn-stage-*")))


@pytest.mark.usefixtures("staging_after_four_rows")
def test_staged_rows_round_trip_every_type(duck: Study) -> None:
    before = staged_dirs()
    items = chunks("dnsreqs", 12, 3) + chunks("httpreqs", 7, 2)  # lists, timestamps, nulls
    result = duck.import_rows("table", "x", items, sha256="x")
    assert result.rows == {"dnsreqs": 12, "httpreqs": 7}
    for name, n in (("dnsreqs", 12), ("httpreqs", 7)):
        expected = stamp(conform(TABLES[name], sample_rows(TABLES[name], n)), result.import_id)
        back = duck.table(name).to_pyarrow().cast(expected.schema)
        key = "ts"
        assert back.sort_by(key).to_pylist() == expected.sort_by(key).to_pylist()
    assert staged_dirs() == before  # the staging files are gone


@pytest.mark.usefixtures("staging_after_four_rows")
def test_a_failure_after_staging_leaves_nothing(duck: Study) -> None:
    before = staged_dirs()

    def items():
        yield from chunks("devicetraffic", 10, 2)
        raise InputError("capture.pcap", "truncated record", packet=7)

    with pytest.raises(InputError):
        duck.import_rows("pcap", "capture.pcap", items(), sha256="bad")
    assert duck.counts()["devicetraffic"] == 0 and not duck.is_imported("pcap", "bad")
    assert staged_dirs() == before


@pytest.mark.usefixtures("staging_after_four_rows")
def test_queries_in_the_transaction_see_staged_rows(duck: Study) -> None:
    with duck.engine.transaction() as writer:
        for name, rows in chunks("devicetraffic", 9, 3):
            writer.append(TABLES[name], conform(TABLES[name], rows))
        assert writer.fetchone("SELECT count(*) FROM devicetraffic") == (9,)
    assert duck.counts()["devicetraffic"] == 9


def test_memory_limit_from_the_environment(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ucnstudy import open_study
    from ucnstudy.errors import StudyError

    monkeypatch.setenv("UCN_DUCKDB_MEMORY_LIMIT", "200MB")
    with open_study(tmp_path / "s.duckdb") as study:
        (limit,) = study.engine.raw.execute("SELECT current_setting('memory_limit')").fetchone()
    assert limit == "190.7 MiB"  # 200 MB, printed by DuckDB in MiB
    monkeypatch.setenv("UCN_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(StudyError, match="UCN_DUCKDB_MEMORY_LIMIT='lots' is not a memory size"):
        open_study(tmp_path / "t.duckdb")
