"""Study.loads: many imports in one transaction, each with its own record and import_id, skipped
when seen, all kept or none; on DuckDB the rows gathered into large inserts come back in order."""

from __future__ import annotations

import pyarrow as pa
import pytest

from test_store import sample_rows
from ucnstudy import Study
from ucnstudy.errors import StudyError
from ucnstudy.schema import TABLES
from ucnstudy.store import duckdb_engine


def _load_three(study: Study, fail_at: int | None = None) -> list:
    with study.loads() as batch:
        for i in range(3):
            with batch.load("test", f"source-{i}", f"digest-{i}") as load:
                if load is None:
                    continue
                load.append("dnsreqs", sample_rows(TABLES["dnsreqs"], 5))
                if i == fail_at:
                    raise ValueError("bad source")
        return batch.results


def test_each_load_is_one_import_and_a_second_run_skips_them(any_study: Study) -> None:
    results = _load_three(any_study)
    assert [r.import_id for r in results] == [1, 2, 3]
    _, rows = any_study.engine.read_rows(
        "SELECT import_id, count(*) FROM dnsreqs GROUP BY import_id ORDER BY import_id")
    assert [tuple(r) for r in rows] == [(1, 5), (2, 5), (3, 5)]
    _, recorded = any_study.engine.read_rows("SELECT id, path, sha256, rows FROM imports ORDER BY id")
    assert [tuple(r) for r in recorded] == [(i + 1, f"source-{i}", f"digest-{i}", 5) for i in range(3)]
    again = _load_three(any_study)
    assert all(r.skipped and r.import_id is None for r in again)
    assert any_study.counts()["dnsreqs"] == 15


def test_a_failed_load_keeps_none_of_the_batch(duck: Study) -> None:
    with pytest.raises(ValueError):
        _load_three(duck, fail_at=1)
    assert duck.counts()["dnsreqs"] == 0 and duck.counts()["imports"] == 0


def test_a_failure_caught_inside_the_batch_still_keeps_nothing(duck: Study) -> None:
    with duck.loads() as batch, batch.load("test", "ok", "d-ok") as load:
        load.append("dnsreqs", sample_rows(TABLES["dnsreqs"], 5))
    with pytest.raises(StudyError, match="none of the batch"), duck.loads() as batch:
        with batch.load("test", "a", "d-a") as load:
            load.append("dnsreqs", sample_rows(TABLES["dnsreqs"], 5))
        try:
            with batch.load("test", "b", "d-b") as load:
                load.append("dnsreqs", sample_rows(TABLES["dnsreqs"], 5))
                raise ValueError("bad source")
        except ValueError:
            pass
    assert duck.counts()["dnsreqs"] == 5 and duck.counts()["imports"] == 1


def test_gathered_inserts_keep_the_order_of_the_appends(duck: Study, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_engine, "BULK_ROWS", 7)  # several inserts, and a remainder at commit
    ts = pa.array(range(50), pa.int64()).cast(pa.timestamp("us"))
    with duck.loads() as batch:
        for i in range(0, 50, 3):
            with batch.load("test", f"s{i}", f"d{i}") as load:
                load.append("devicetraffic", pa.table({"devid": pa.array([1] * len(ts[i:i + 3]), pa.int64()),
                                                        "ts": ts[i:i + 3]}))
    _, rows = duck.engine.read_rows("SELECT ts FROM devicetraffic")
    assert [r[0] for r in rows] == ts.to_pylist()


def test_the_demo_in_many_transactions_is_the_same_study(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ucnstudy import open_study
    from ucnstudy.demo import DemoParams, generate
    from ucnstudy.demo.population import build_population

    params = DemoParams(users=2, days=2, seed=4)
    studies = {}
    for batch_rows in (generate.BATCH_ROWS, 1):  # one transaction; one per device
        monkeypatch.setattr(generate, "BATCH_ROWS", batch_rows)
        with open_study(tmp_path / f"{batch_rows}.duckdb") as study:
            generate.generate_demo(study, params, enrich=False)
            _, imports = study.engine.read_rows("SELECT id, path, rows FROM imports ORDER BY id")
            _, rows = study.engine.read_rows("SELECT * FROM flows")
            studies[batch_rows] = (study.counts(), imports, rows)
    one, many = studies.values()
    assert one == many
    assert len(one[1]) == 1 + len(build_population(params).devices)  # the population, each device
