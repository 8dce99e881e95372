"""`ucn export`: every canonical table as Parquet in the canonical Arrow schema, from DuckDB and
through COPY from PostgreSQL; atomic; and the COPY fast path for PostgreSQL results."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_compare import assert_same_result
from handmade_study import canonical_tables, load
from ucnstudy import Study, open_study
from ucnstudy.cli import main
from ucnstudy.errors import StudyError
from ucnstudy.schema import BOOKKEEPING, TABLES
from ucnstudy.store import export as export_module
from ucnstudy.store import fetch as fetch_module
from ucnstudy.store.export import MANIFEST, export_study
from ucnstudy.store.fetch import copy_batches, to_arrow


def read_export(root: Path, name: str) -> pa.Table:
    return pq.read_table(root / name)


def test_every_table_is_written_in_the_canonical_schema(any_study: Study, tmp_path: Path) -> None:
    load(any_study)
    content = canonical_tables()
    result = export_study(any_study, tmp_path / "out")
    assert set(result.rows) == set(TABLES)
    for name, table in TABLES.items():
        data = read_export(tmp_path / "out", name)
        assert data.schema.equals(table.arrow_schema()), name  # timestamp[us], signed ints (E15, E16)
        if name in BOOKKEEPING:
            assert data.num_rows == result.rows[name] == (0 if name == "study_tasks" else 1)
            continue
        assert result.rows[name] == data.num_rows == content[name].num_rows
        assert_same_result(data, content[name], f"export {name} from {any_study.engine.name}")
    assert (tmp_path / "out" / MANIFEST).exists()


def test_postgres_export_goes_through_copy(pg: Study, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    load(pg)
    queries: list[str] = []
    real = fetch_module.copy_batches

    def spy(conn, query, schema):
        queries.append(query)
        yield from real(conn, query, schema)

    monkeypatch.setattr(fetch_module, "copy_batches", spy)
    monkeypatch.setattr(pg.con, "to_pyarrow_batches", _refuse)  # row fetching is not allowed
    export_study(pg, tmp_path / "out")
    assert len(queries) == len(TABLES)
    dns = read_export(tmp_path / "out", "dnsreqs")
    assert_same_result(dns, canonical_tables()["dnsreqs"], "dnsreqs via COPY")


def _refuse(*args, **kwargs):
    raise AssertionError("PostgreSQL rows must leave through COPY, not Ibis row fetches")


def test_existing_directory_needs_overwrite(duck: Study, tmp_path: Path) -> None:
    load(duck)
    export_study(duck, tmp_path / "out")
    with pytest.raises(StudyError, match=r"already exists.*--overwrite"):
        export_study(duck, tmp_path / "out")
    result = export_study(duck, tmp_path / "out", overwrite=True)
    assert result.rows["dnsreqs"] == canonical_tables()["dnsreqs"].num_rows
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(StudyError, match="not a ucnstudy Parquet study"):
        export_study(duck, tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_a_failed_export_leaves_nothing(duck: Study, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    load(duck)

    def broken(expr, *args, **kwargs):
        raise RuntimeError("disk full")
        yield

    monkeypatch.setattr(export_module, "to_batches", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_study(duck, tmp_path / "out")
    assert list(tmp_path.iterdir()) == [tmp_path / "study.duckdb"] or not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name or p.name == "out"]


def test_cli_export(duck: Study, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load(duck)
    db = str(duck.url.target)
    duck.close()
    assert main(["--db", db, "export", "--to", str(tmp_path / "pq")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # Rich wraps long lines
    total = sum(t.num_rows for t in canonical_tables().values()) + 2  # + the imports and schema_versions rows
    assert "--db spark:" in out and f"{total:,} rows" in out
    assert main(["--db", db, "export", "--to", str(tmp_path / "pq")]) == 2
    assert "already exists" in capsys.readouterr().err


# -- the COPY fast path -------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\x1e\x1f"), max_size=12)
ROW = st.tuples(
    st.one_of(st.none(), TEXT),
    st.one_of(st.none(), st.lists(st.one_of(st.none(), TEXT), max_size=4)),
    st.one_of(st.none(), st.lists(st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)), max_size=4)),
    st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    st.one_of(st.none(), st.datetimes(min_value=__import__("datetime").datetime(1900, 1, 1))),
    st.one_of(st.none(), st.booleans()),
)
SCHEMA = pa.schema([("s", pa.string()), ("sa", pa.list_(pa.string())), ("ia", pa.list_(pa.int32())),
                    ("f", pa.float64()), ("ts", pa.timestamp("us")), ("b", pa.bool_())])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=6))
def test_copy_round_trips_any_values(pg_url: str, rows: list[tuple]) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TEMP TABLE t (k int, s text, sa text[], ia int[], f float8, ts timestamp, b bool)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            [(i, *r) for i, r in enumerate(rows)])
        query = "SELECT s, sa, ia, f, ts, b FROM t ORDER BY k"
        got = pa.Table.from_batches(list(copy_batches(conn, query, SCHEMA)), schema=SCHEMA)
    assert got.to_pylist() == [dict(zip(SCHEMA.names, r, strict=True)) for r in rows]


def test_to_arrow_uses_copy_on_postgres_and_agrees_with_duckdb(pg: Study, duck: Study,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    load(pg)
    load(duck)

    def query(study: Study):
        d = study.table("dnsreqs")
        return d.filter(d.user_req).select("devid", "ts", "query", "ans_ttl", "ans_addr").order_by("ts")

    monkeypatch.setattr(pg.con, "to_pyarrow", _refuse)
    got = to_arrow(query(pg))
    assert_same_result(got, to_arrow(query(duck)), "user DNS responses")
    assert got.num_rows == sum(canonical_tables()["dnsreqs"]["user_req"].to_pylist())


def test_read_only_postgres_study_runs_analyses_that_use_memtables(pg: Study, pg_url: str) -> None:
    """`ucn analyze`/`report` open studies read-only; ibis.memtable lookups (local time, heatmap
    bins) still need session temp tables, which a read-only PostgreSQL transaction refuses."""
    from ucnstudy.analyses import ANALYSES

    load(pg)
    with open_study(pg_url, read_only=True) as study:
        heatmap = ANALYSES["heatmap"]
        assert len(heatmap.run(study, heatmap.params())) > 0
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            study.engine.raw.execute("DELETE FROM users")
