"""The study store: schema DDL, round-trips, atomic and idempotent loads, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from ucnstudy import Study, open_study
from ucnstudy.errors import InputError, StudyError
from ucnstudy.schema import BOOKKEEPING, TABLES, Table
from ucnstudy.store.urls import parse_url


def sample_value(type_str: str, i: int) -> object:
    """A distinctive value of a schema type (i varies it between rows)."""
    return {
        "int64": 10_000_000_000 + i,
        "int32": 1000 + i,
        "string": f"v{i} ,\"quoted\"\n{{brace}}\\",
        "boolean": i % 2 == 0,
        "float64": 1.25 + i,
        "timestamp(6)": datetime(2015, 11, 10, 12, 0, 0, 123456 + i),
        "array<string>": [f"a{i}", "b,\"c\"", None],
        "array<int32>": [i, 300, None],
    }[type_str]


def sample_rows(table: Table, n: int = 3) -> pa.Table:
    data = {c.name: [sample_value(c.type, i) for i in range(n)] for c in table.columns}
    for c in table.columns:  # one NULL per nullable column, to round-trip NULLs too
        if c.nullable:
            data[c.name][-1] = None
    return pa.Table.from_pydict(data, schema=table.arrow_schema())


def test_schema_ddl_matches_definition(any_study: Study) -> None:
    assert set(TABLES) <= any_study.engine.existing_tables()
    for name, table in TABLES.items():
        got = any_study.table(name).schema()
        assert list(got.names) == table.column_names, name
        for col in table.columns:
            assert got[col.name].copy(nullable=True) == col.dtype.copy(nullable=True), (name, col.name)


def _index_columns(study: Study) -> set[tuple[str, tuple[str, ...]]]:
    """(table, indexed columns) of every index the study's database holds."""
    if study.engine.name == "duckdb":
        rows = study.engine.raw.execute(  # type: ignore[attr-defined]
            "SELECT table_name, expressions FROM duckdb_indexes()").fetchall()
        # expressions reads like '[devid, ts]'
        return {(t, tuple(e.strip(' "') for e in exprs.strip("[]").split(","))) for t, exprs in rows}
    with study.engine.transaction() as writer:
        rows = writer.fetchall(
            "SELECT t.relname, array_agg(a.attname ORDER BY k.n) FROM pg_index i "
            "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            "WHERE s.nspname = current_schema() AND NOT i.indisprimary GROUP BY i.indexrelid, t.relname")
    return {(t, tuple(cols)) for t, cols in rows}


def test_indexes_duckdb_only_on_lookup_tables_postgres_all(any_study: Study) -> None:
    """DuckDB keeps no ART index on the event tables (scans with zone maps read them; an ART
    costs every insert and commit); PostgreSQL has every B-tree index of the schema."""
    from ucnstudy.schema import TIME_COLUMNS

    every = {(t.name, cols) for t in TABLES.values() for cols in t.indexes}
    lookups = {(name, cols) for name, cols in every if name not in TIME_COLUMNS}
    assert {"devices", "imports"} <= {name for name, _ in lookups} and lookups != every
    want = lookups if any_study.engine.name == "duckdb" else every
    assert _index_columns(any_study) == want


@pytest.mark.parametrize("name", [n for n in TABLES if n not in BOOKKEEPING])
def test_round_trip_every_column(any_study: Study, name: str) -> None:
    rows = sample_rows(TABLES[name])
    result = any_study.import_rows("table", f"{name}.csv", [(name, rows)], sha256=f"sha-{name}")
    assert result.rows == {name: 3}
    back = any_study.table(name).to_pyarrow()
    want = rows.to_pylist()
    for row in want:  # every loaded row carries its import's id, whatever the file said
        if "import_id" in row:
            row["import_id"] = result.import_id
    assert back.cast(rows.schema).to_pylist() == want


def test_loading_the_same_content_twice_adds_nothing(any_study: Study) -> None:
    rows = sample_rows(TABLES["devicetraffic"])
    first = any_study.import_rows("table", "a.csv", [("devicetraffic", rows)], sha256="same")
    second = any_study.import_rows("table", "b.csv", [("devicetraffic", rows)], sha256="same")
    assert not first.skipped and second.skipped and second.rows == {}
    assert any_study.counts()["devicetraffic"] == 3
    imports = any_study.table("imports").to_pyarrow().to_pylist()
    assert [(r["source_kind"], r["sha256"], r["rows"]) for r in imports] == [("table", "same", 3)]


def test_failure_half_way_leaves_the_study_as_it_was(any_study: Study) -> None:
    any_study.import_rows("table", "ok", [("devices", sample_rows(TABLES["devices"]))], sha256="ok")
    before = any_study.counts()

    def items():
        yield "devicetraffic", sample_rows(TABLES["devicetraffic"])
        yield "dnsreqs", sample_rows(TABLES["dnsreqs"])
        raise InputError("capture.pcap", "truncated record", packet=42)

    with pytest.raises(InputError, match="packet 42"):
        any_study.import_rows("pcap", "capture.pcap", items(), sha256="bad")
    assert any_study.counts() == before
    assert not any_study.is_imported("pcap", "bad")


def test_required_column_null_rejects_the_load(any_study: Study) -> None:
    rows = pa.table({"devid": [1, None], "ts": [datetime(2015, 1, 1), datetime(2015, 1, 1)]})
    with pytest.raises(InputError, match=r"row 2, column 'devid'"):
        any_study.import_rows("table", "x.csv", [("devicetraffic", rows)], sha256="n")
    assert any_study.counts()["devicetraffic"] == 0


def test_unknown_table_is_a_clear_error(duck: Study) -> None:
    with pytest.raises(StudyError, match="unknown table 'nope'"):
        duck.table("nope")


def test_read_only_study_refuses_loads(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    open_study(path).close()
    with open_study(path, read_only=True) as study, pytest.raises(StudyError, match="read-only"):
        study.import_rows("table", "x", [], sha256="x")


def test_missing_duckdb_file_read_only_says_what_to_do(tmp_path) -> None:
    with pytest.raises(StudyError, match="ucn demo"):
        open_study(tmp_path / "none.duckdb", read_only=True)


@pytest.mark.parametrize(
    ("url", "engine", "printable"),
    [
        ("study.duckdb", "duckdb", "study.duckdb"),
        (":memory:", "duckdb", ":memory:"),
        ("postgresql://u:secret@h:5432/db", "postgres", "postgresql://u:***@h:5432/db"),
        ("postgres://u@h/db", "postgres", "postgres://u@h/db"),
        ("spark:/data/study", "spark", "spark:/data/study"),
    ],
)
def test_url_forms_and_redaction(url: str, engine: str, printable: str) -> None:
    parsed = parse_url(url)
    assert (parsed.engine, parsed.redacted) == (engine, printable)
    assert "secret" not in repr(parsed.redacted)


def test_default_url_comes_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("UCN_DB", "other.duckdb")
    assert parse_url(None).target == "other.duckdb"
    monkeypatch.delenv("UCN_DB")
    assert parse_url(None).target == "ucnstudy.duckdb"


def test_bad_url_is_rejected() -> None:
    with pytest.raises(StudyError, match="unrecognised study URL"):
        parse_url("mysql://x")


def test_postgres_connection_error_never_shows_password() -> None:
    with pytest.raises(StudyError) as info:
        open_study("postgresql://postgres:hunter2@127.0.0.1:1/nodb")
    assert "hunter2" not in str(info.value)
