"""One analysis code, three engines, the same answers.

Every registered analysis (and its main parameter variants) runs on the same small demo study in
DuckDB (the reference), PostgreSQL (the real server) and Spark (local, one session for the
whole run, over the study's Parquet export). Results are compared through Arrow, value for
value: timestamps to the microsecond, floats to 1e-9 relative, rows after a deterministic
sort. Both the analysis's Ibis expression (when it exposes one) and the DataFrame the user
gets are compared. A known engine gap is a strict xfail with its reason, so that a fix shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from conftest import pg_database
from engine_compare import as_arrow, assert_same_result, require_spark
from handmade_study import load
from ucnstudy import Study, open_study
from ucnstudy.analyses import ANALYSES
from ucnstudy.errors import StudyError
from ucnstudy.schema import BOOKKEEPING, TABLES
from ucnstudy.store.export import export_study
from ucnstudy.store.fetch import to_arrow

pytestmark = pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")

ENGINES = ("postgres", "spark")
# (analysis, variant id, engine) -> why that engine cannot give the same answer yet.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}


def variants(name: str) -> list[tuple[str, dict[str, Any]]]:
    """The default parameters, plus the switches that change which rows or tables are used."""
    fields = {f.name for f in dataclasses.fields(ANALYSES[name].params)}
    out: list[tuple[str, dict[str, Any]]] = [("default", {})]
    if {"all_events", "include_shared"} <= fields:
        out.append(("all-events-shared", {"all_events": True, "include_shared": True}))
    elif "include_shared" in fields:
        out.append(("shared", {"include_shared": True}))
    for flag in ("stats", "summary"):
        if flag in fields:
            out.append((flag, {flag: True}))
    if name == "activities":  # the recurring-domain rule is on by default in the QoE analyses only
        out.append(("recurring", {"recurring_share": 0.5, "recurring_hours": 3}))
    return out


# Spark takes seconds per query on two cores: there it runs the variants that change the shape
# of the computation (default, stats, summary), not those that only change a filter predicate.
FILTER_ONLY_VARIANTS = {"all-events-shared", "shared"}


def _case(name: str, vid: str, overrides: dict[str, Any], engine: str) -> Any:
    gap = KNOWN_GAPS.get((name, vid, engine))
    marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
    if engine == "spark":
        marks.append(pytest.mark.spark)
    return pytest.param(name, vid, overrides, engine, id=f"{name}-{vid}-{engine}", marks=marks)


CASES = [
    _case(name, vid, overrides, engine)
    for name in sorted(ANALYSES)
    for vid, overrides in variants(name)
    for engine in ENGINES
    if not (engine == "spark" and vid in FILTER_ONLY_VARIANTS)
]


DEMO = {"users": 3, "days": 2, "seed": 3}  # about 60k events: every analysis has rows


def build_reference(study: Study) -> None:
    """The small demo study (planted sessions, background, households); before the demo
    generator existed, the hand-made study."""
    try:
        from ucnstudy.demo import DemoParams, generate_demo
    except ImportError:
        load(study)
        return
    generate_demo(study, DemoParams(**DEMO))


def copy_study(source: Study, target: Study) -> None:
    """Every canonical table of `source` into `target`, row for row (one atomic load)."""
    tables = [(name, source.table(name).to_pyarrow()) for name in TABLES if name not in BOOKKEEPING]
    target.import_rows("table", "equality-suite", tables, sha256="equality-suite-copy")


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    study = open_study(tmp_path_factory.mktemp("eq") / "study.duckdb")
    study.create_schema()
    build_reference(study)
    yield study
    study.close()


@pytest.fixture(scope="module")
def engines(duck: Study, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Studies on the other engines, opened lazily (Spark only when a Spark case runs)."""
    with pg_database() as url:
        pg = open_study(url)
        pg.create_schema()
        copy_study(duck, pg)
        opened: dict[str, Any] = {"postgres": pg}

        def spark() -> Study:
            if "spark" not in opened:
                require_spark()
                target = tmp_path_factory.mktemp("eq-parquet") / "study"
                export_study(duck, target)
                opened["spark"] = open_study(f"spark:{Path(target)}")
            return opened["spark"]

        opened["spark_factory"] = spark
        yield opened
        for key in ("postgres", "spark"):
            if key in opened:
                opened[key].close()


_reference: dict[tuple[str, str], tuple[pa.Table | None, pa.Table | None]] = {}


def run(study: Study, name: str, overrides: dict[str, Any], *, frame: bool = True
        ) -> tuple[pa.Table | None, pa.Table | None]:
    """(the expression's Arrow result or None, the DataFrame as Arrow or None)."""
    analysis = ANALYSES[name]
    params = analysis.params(**overrides)
    expr = to_arrow(analysis.expression(study, params)) if analysis.expr is not None else None
    table = as_arrow(analysis.run(study, params)) if frame or expr is None else None
    return expr, table


@pytest.mark.parametrize(("name", "vid", "overrides", "engine"), CASES)
def test_same_result_on_every_engine(name: str, vid: str, overrides: dict[str, Any], engine: str,
                                     duck: Study, engines: dict[str, Any]) -> None:
    if (name, vid) not in _reference:
        _reference[(name, vid)] = run(duck, name, overrides)
    want_expr, want_frame = _reference[(name, vid)]
    study = engines["postgres"] if engine == "postgres" else engines["spark_factory"]()
    # On Spark the DataFrame (client-side formatting of the same expression) is compared only
    # when the analysis has no single expression: each query costs seconds there.
    got_expr, got_frame = run(study, name, overrides, frame=engine != "spark")
    if want_expr is not None:
        assert got_expr is not None
        assert_same_result(got_expr, want_expr, f"{name} [{vid}] expression on {engine}")
    if got_frame is not None:
        assert want_frame is not None
        assert_same_result(got_frame, want_frame, f"{name} [{vid}] table on {engine}")


def test_reference_results_are_not_trivial(duck: Study) -> None:
    """The comparison means something only if the study gives every analysis rows to compare."""
    empty = [name for name in ANALYSES if (run(duck, name, {})[1] or pa.table({})).num_rows == 0]
    assert not empty, f"analyses with no rows on the test study: {empty}"


# -- the anonymised export (issue 12) ------------------------------------------------------------
# The same analyses on the anonymised study (DuckDB file; Parquet directory on Spark) give the
# reference answers once pseudonyms and addresses are mapped back, except those that need a
# field the export coarsened: they refuse with a StudyError naming it. Spark (seconds a query
# on two cores) runs the analyses that read the most transformed columns (hosts, addresses,
# pseudonyms) and one refusal, which reads the manifest from the Parquet directory.
NEEDS_A_REMOVED_FIELD = {"user-agents": "httpreqs.req_ua", "activity-context": "locations.name",
                         "activity-qoe": "httpreqs.req_ua"}
SPARK_ANON = {"dns-http", "user-summary", "user-agents"}
ANON_CASES = [
    pytest.param(name, vid, overrides, engine, id=f"{name}-{vid}-{engine}",
                 marks=[pytest.mark.spark] if engine == "anonymised-spark" else [])
    for name in sorted(ANALYSES)
    for vid, overrides in variants(name)
    for engine in ("anonymised", "anonymised-spark")
    if engine == "anonymised" or (vid == "default" and name in SPARK_ANON)
]


@pytest.fixture(scope="module")
def anonymised(duck: Study, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from privacy_helpers import KEY, pseudonym_map
    from ucnstudy.privacy import export_anonymized

    root = tmp_path_factory.mktemp("eq-anon")
    opened: dict[str, Any] = {"mapping": pseudonym_map(duck)}
    opened["anonymised"] = open_study(export_anonymized(duck, root / "anon.duckdb", KEY).path,
                                      read_only=True)

    def spark() -> Study:
        if "anonymised-spark" not in opened:
            require_spark()
            path = export_anonymized(duck, root / "anon-parquet", KEY).path
            opened["anonymised-spark"] = open_study(f"spark:{path}")
        return opened["anonymised-spark"]

    opened["spark_factory"] = spark
    yield opened
    for key in ("anonymised", "anonymised-spark"):
        if key in opened:
            opened[key].close()


@pytest.mark.parametrize(("name", "vid", "overrides", "engine"), ANON_CASES)
def test_same_result_on_the_anonymised_study(name: str, vid: str, overrides: dict[str, Any],
                                             engine: str, duck: Study,
                                             anonymised: dict[str, Any]) -> None:
    from privacy_helpers import unmask

    study = anonymised["anonymised"] if engine == "anonymised" else anonymised["spark_factory"]()
    if name in NEEDS_A_REMOVED_FIELD:
        with pytest.raises(StudyError, match=rf"{name} needs {NEEDS_A_REMOVED_FIELD[name]}"):
            run(study, name, overrides)
        return
    if (name, vid) not in _reference:
        _reference[(name, vid)] = run(duck, name, overrides)
    want_expr, want_frame = _reference[(name, vid)]
    got_expr, got_frame = run(study, name, overrides, frame=engine == "anonymised")
    for got, want, what in ((got_expr, want_expr, "expression"), (got_frame, want_frame, "table")):
        if got is not None and want is not None:
            assert_same_result(unmask(got, anonymised["mapping"]), want, f"{name} [{vid}] {what} on {engine}")
