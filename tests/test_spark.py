"""Spark engine: a Parquet study read through local Spark, identical to the DuckDB study it came
from, with the settings engine-notes.md asks for, read-only with a clear message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from engine_compare import assert_same_result, require_spark
from handmade_study import canonical_tables, load
from ucnstudy import Study, open_study
from ucnstudy.cli import main
from ucnstudy.errors import StudyError
from ucnstudy.schema import BOOKKEEPING, SCHEMA_VERSION, TABLES
from ucnstudy.store.export import export_study

# pyspark 4.0 passes a deprecated pandas 3 argument on every Arrow conversion: noise here.
pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


@pytest.fixture(scope="module")
def duck_study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    study = open_study(tmp_path_factory.mktemp("duck") / "study.duckdb")
    study.create_schema()
    load(study)
    yield study
    study.close()


@pytest.fixture(scope="module")
def parquet_dir(duck_study: Study, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("export") / "study"
    export_study(duck_study, target)
    return target


@pytest.fixture(scope="module")
def spark_study(parquet_dir: Path) -> Iterator[Study]:
    require_spark()
    study = open_study(f"spark:{parquet_dir}")
    yield study
    study.close()


@pytest.mark.parametrize("name", [n for n in TABLES if n not in BOOKKEEPING])
def test_every_table_reads_back_identically(spark_study: Study, duck_study: Study, name: str) -> None:
    got = spark_study.table(name).to_pyarrow()
    want = duck_study.table(name).to_pyarrow()
    assert want.num_rows == canonical_tables()[name].num_rows
    assert_same_result(got, want, f"spark {name}")


def test_nullable_integers_and_arrays_survive(spark_study: Study) -> None:
    """E3: without Arrow, Spark turned nullable ints into NULL or NaN."""
    dns = spark_study.table("dnsreqs")
    http = spark_study.table("httpreqs")
    with_answers = dns.filter(dns.ans_ttl.length() > 0).count().to_pyarrow().as_py()
    assert with_answers == dns.count().to_pyarrow().as_py()
    ua = http.aggregate(n=http.count(), with_ua=http.req_ua.count()).to_pyarrow().to_pylist()[0]
    expected = canonical_tables()["httpreqs"]["req_ua"].null_count
    assert ua["n"] - ua["with_ua"] == expected > 0


def test_local_time_parts_match_duckdb(spark_study: Study, duck_study: Study) -> None:
    def parts(study: Study) -> pa.Table:
        t = study.table("devicetraffic")
        return (t.group_by(h=t.ts.hour(), d=t.ts.day_of_week.index())
                .aggregate(b=t.bytes_in.sum(), n=t.count()).to_pyarrow())

    assert_same_result(parts(spark_study), parts(duck_study), "hour x weekday")


def test_session_settings_follow_engine_notes(spark_study: Study) -> None:
    conf = spark_study.engine.raw.conf
    assert conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.driver.host") == "127.0.0.1"
    assert int(conf.get("spark.sql.shuffle.partitions")) <= 8
    warehouse = conf.get("spark.sql.warehouse.dir")
    assert "ucn-spark-" in warehouse and not Path("spark-warehouse").exists()


def test_two_studies_in_one_process_keep_their_own_tables(spark_study: Study, tmp_path: Path) -> None:
    other = open_study(tmp_path / "other.duckdb")
    other.create_schema()
    users = canonical_tables()["users"].slice(0, 1)
    other.import_rows("table", "users", [("users", users)], sha256="one-user")
    export_study(other, tmp_path / "other")
    second = open_study(f"spark:{tmp_path / 'other'}")
    try:
        assert second.table("users").count().to_pyarrow().as_py() == 1
        assert spark_study.table("users").count().to_pyarrow().as_py() == 3
    finally:
        second.close()
        other.close()


def test_spark_study_is_read_only_with_a_clear_message(spark_study: Study) -> None:
    with pytest.raises(StudyError, match=r"never writes them.*ucn export --to DIR"):
        spark_study.import_rows("table", "x.csv", [], sha256="x")
    with pytest.raises(StudyError, match="never writes them"):
        spark_study.reset()


def test_missing_or_empty_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match=r"no Parquet study at .*ucn export --to"):
        open_study(f"spark:{tmp_path / 'absent'}")
    with pytest.raises(StudyError, match="holds no canonical table directories"):
        open_study(f"spark:{tmp_path}")


def test_cli_reads_and_refuses_writes_on_spark(spark_study: Study, parquet_dir: Path,
                                               capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--db", f"spark:{parquet_dir}", "info"]) == 0
    out = capsys.readouterr().out
    assert "dnsreqs" in out and f"{canonical_tables()['dnsreqs'].num_rows:,}" in out
    csv = tmp_path / "users.csv"
    csv.write_text("id,username\n9,zed\n")
    assert main(["--db", f"spark:{parquet_dir}", "import", "table", "users", str(csv)]) == 2
    assert "never writes them" in capsys.readouterr().err


def test_lifecycle_commands_refuse_a_spark_study(spark_study: Study, parquet_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from ucnstudy.store.lifecycle import list_imports, reattribute, remove_imports
    from ucnstudy.store.migrate import study_version, upgrade
    from ucnstudy.store.withdraw import remove_user

    for command in (lambda: remove_imports(spark_study, [1]), lambda: reattribute(spark_study),
                    lambda: remove_user(spark_study, "alice"), lambda: upgrade(spark_study)):
        with pytest.raises(StudyError, match=r"open read-only: Spark reads Parquet .* never writes"):
            command()
    assert study_version(spark_study) == SCHEMA_VERSION  # the export keeps the version
    assert [r.kind for r in list_imports(spark_study).imports] == ["table"]  # listing reads
    for args in (["imports", "remove", "1"], ["reattribute"], ["users", "remove", "alice"], ["upgrade"]):
        assert main(["--db", f"spark:{parquet_dir}", *args]) == 2
        assert "never writes them" in capsys.readouterr().err
def test_sql_binds_named_values_and_refuses_writes(spark_study: Study, duck_study: Study) -> None:
    query = "SELECT count(*) AS n FROM dnsreqs WHERE devid = {}"
    expected = duck_study.sql(query.format("?"), [1])["n"].tolist()
    assert spark_study.sql(query.format(":dev"), {"dev": 1})["n"].tolist() == expected
    assert spark_study.engine.read_rows("SELECT :who AS who", {"who": "bob"}) == (["who"], [("bob",)])
    with pytest.raises(StudyError, match="one read-only query"):
        spark_study.sql("INSERT INTO users SELECT * FROM users")
