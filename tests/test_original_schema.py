"""The original UCN database as it is: built on the real PostgreSQL server from the documented
original DDL (reference section 1), opened read-only, seen as canonical tables, and giving every
analysis the same result as the same content loaded canonically."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest

from conftest import pg_database
from engine_compare import as_arrow, assert_same_result
from handmade_study import canonical_tables, load
from original_ucn import create_original, lost_in_original, old_flowid
from ucnstudy import Study, open_study
from ucnstudy.analyses import ANALYSES
from ucnstudy.errors import StudyError
from ucnstudy.schema import BOOKKEEPING, TABLES
from ucnstudy.sources.flowid import flowid
from ucnstudy.store.fetch import to_arrow
from ucnstudy.store.original import OriginalEngine

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def original_url() -> Iterator[str]:
    with pg_database("ucn_orig") as url:
        create_original(url, canonical_tables())
        yield url


@pytest.fixture(scope="module")
def original(original_url: str) -> Iterator[Study]:
    study = open_study(original_url, read_only=True)
    yield study
    study.close()


@pytest.fixture(scope="module")
def canonical() -> Iterator[Study]:
    """The same content loaded into a canonical PostgreSQL study, minus what the original
    layout cannot hold (so that only the adapter differs)."""
    with pg_database("ucn_canon") as url:
        study = open_study(url)
        study.create_schema()
        load(study, lost_in_original(canonical_tables()))
        yield study
        study.close()


def test_the_original_layout_is_detected(original: Study, canonical: Study) -> None:
    assert isinstance(original.engine, OriginalEngine)
    assert not isinstance(canonical.engine, OriginalEngine)


@pytest.mark.parametrize("name", [n for n in TABLES if n not in BOOKKEEPING])
def test_every_canonical_table_is_presented(original: Study, name: str) -> None:
    got = to_arrow(original.table(name))
    assert got.schema.names == TABLES[name].column_names
    assert_same_result(got, lost_in_original(canonical_tables())[name], f"original {name}")


def test_dns_rows_are_turned_to_the_device_and_answers_aligned(original_url: str,
                                                              original: Study) -> None:
    """A hand-written original row: server -> device, CNAME + A + AAAA, ans_addr A/AAAA only."""
    with psycopg.connect(original_url, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")
        conn.execute(
            "INSERT INTO dnsreqs (devid, ts, srcip, dstip, proto, srcport, dstport, flowid, query,"
            " ans_type, ans_addr, ans_name, ans_ttl) VALUES (10, %s, '192.0.2.53', '10.8.0.10', 17,"
            " 53, 40000, %s, 'probe.example', '{5,1,28}', '{198.51.100.1,2001:db8::1}',"
            " '{probe.example,cdn.example,cdn.example}', '{60,20,20}'), (10, %s, '192.0.2.53',"
            " '10.8.0.10', 17, 53, 40001, 'x', 'empty.example', '{}', '{\"\"}', '{}', '{}')",
            (datetime(2015, 10, 20, 1, 2, 3, 456789),
             old_flowid("192.0.2.53", "10.8.0.10", 17, 53, 40000), datetime(2015, 10, 20, 1, 2, 4)),
        )
    try:
        d = original.table("dnsreqs")
        rows = to_arrow(d.filter(d.query.isin(["probe.example", "empty.example"])).order_by("ts"))
        probe, empty = rows.to_pylist()
        assert (probe["srcip"], probe["dstip"], probe["srcport"], probe["dstport"]) == (
            "10.8.0.10", "192.0.2.53", 40000, 53)
        assert probe["flowid"] == flowid("10.8.0.10", "192.0.2.53", 17, 40000, 53)
        assert probe["ans_addr"] == [None, "198.51.100.1", "2001:db8::1"]
        assert probe["ans_ttl"] == [60, 20, 20] and probe["query_ts"] is None
        assert probe["ts"] == datetime(2015, 10, 20, 1, 2, 3, 456789)
        assert empty["ans_addr"] == [] and empty["duplicate"] is False
    finally:
        with psycopg.connect(original_url, autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = off")
            conn.execute("DELETE FROM dnsreqs WHERE query IN ('probe.example', 'empty.example')")


def test_users_get_their_country_time_zone(original: Study) -> None:
    users = to_arrow(original.table("users").order_by("id")).to_pylist()
    assert [(u["country"], u["timezone"]) for u in users] == [
        ("fr", "Europe/Paris"), ("uk", "Europe/London"), ("uk", "Europe/London")]


def test_the_original_database_is_never_written(original: Study, original_url: str) -> None:
    with pytest.raises(StudyError, match="original UCN database is opened read-only"):
        original.import_rows("table", "x.csv", [], sha256="x")
    with pytest.raises(StudyError, match="read-only"):
        original.create_schema()
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        original.engine.raw.execute("DELETE FROM users")
    with psycopg.connect(original_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert "httpreqs2" in tables and "imports" not in tables and "device_addresses" not in tables


def _result(study: Study, name: str) -> tuple[Any, Any]:
    analysis = ANALYSES[name]
    params = analysis.params()
    expr = to_arrow(analysis.expression(study, params)) if analysis.expr is not None else None
    return expr, as_arrow(analysis.run(study, params))


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_every_analysis_runs_and_agrees(original: Study, canonical: Study, name: str) -> None:
    got_expr, got_frame = _result(original, name)
    want_expr, want_frame = _result(canonical, name)
    if want_expr is not None:
        assert_same_result(got_expr, want_expr, f"{name} expression on the original database")
    assert_same_result(got_frame, want_frame, f"{name} on the original database")
    assert want_frame.num_rows > 0 or name in {"select-users"}, f"{name}: nothing to compare"
