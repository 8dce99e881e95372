"""The compiled-SQL cache: a cached run gives the uncached frame, and every key part misses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ucnstudy import demo
from ucnstudy.analyses import ANALYSES
from ucnstudy.analyses.activities import ActivitiesParams
from ucnstudy.analyses.user_summary import user_summary_expr
from ucnstudy.report.runs import load_analyses
from ucnstudy.store import open_study, sqlcache


@pytest.fixture(scope="module")
def study_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = tmp_path_factory.mktemp("sqlcache") / "demo.duckdb"
    with open_study(path) as s:
        demo.generate_demo(s, demo.DemoParams(users=3, days=4, seed=7))
    return path


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("UCN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("UCN_SQL_CACHE", raising=False)
    sqlcache.clear_memory()
    yield tmp_path / "sql"
    sqlcache.clear_memory()


def _run(path: Path, name: str) -> pd.DataFrame:
    with open_study(path, read_only=True) as study:
        return ANALYSES[name].run(study)


def test_cached_runs_give_the_uncached_frame(study_path, cache_dir, monkeypatch):
    load_analyses()
    for name in sorted(ANALYSES):
        monkeypatch.setenv("UCN_SQL_CACHE", "0")
        reference = _run(study_path, name)
        monkeypatch.setenv("UCN_SQL_CACHE", "1")
        cold = _run(study_path, name)  # builds, compiles, stores
        warm = _run(study_path, name)  # from memory
        sqlcache.clear_memory()
        disk = _run(study_path, name)  # from the files
        for got in (cold, warm, disk):
            pd.testing.assert_frame_equal(got, reference, check_exact=True)
    assert any(cache_dir.glob("*.json"))


def test_a_hit_skips_the_builder(study_path, cache_dir):
    calls = []

    def build(study, p):
        calls.append(p)
        return user_summary_expr(study, p)

    from ucnstudy.analyses.user_summary import UserSummaryParams

    with open_study(study_path, read_only=True) as study:
        first = sqlcache.query_arrow(study, build, UserSummaryParams())
        again = sqlcache.query_arrow(study, build, UserSummaryParams())
        other = sqlcache.query_arrow(study, build, UserSummaryParams(include_shared=True))
    assert len(calls) == 2  # the second run was a hit, other parameters a miss
    assert first.equals(again)
    assert other.num_rows == first.num_rows


def test_every_key_part_misses(study_path, monkeypatch):
    def build(study, p):
        return user_summary_expr(study)

    with open_study(study_path, read_only=True) as study:
        base = sqlcache.cache_key(study, build, (ActivitiesParams(),))
        assert base == sqlcache.cache_key(study, build, (ActivitiesParams(),))
        assert base != sqlcache.cache_key(study, build, (ActivitiesParams(gap=61.0),))
        assert base != sqlcache.cache_key(study, user_summary_expr, (ActivitiesParams(),))
        with monkeypatch.context() as m:
            m.setattr(sqlcache, "_code_digest", lambda: "another source or library version")
            assert base != sqlcache.cache_key(study, build, (ActivitiesParams(),))
        with monkeypatch.context() as m:
            m.setitem(sqlcache._FINGERPRINTS, study, "another schema")
            assert base != sqlcache.cache_key(study, build, (ActivitiesParams(),))
        with monkeypatch.context() as m:
            m.setenv("UCN_SQL_CACHE", "0")
            assert sqlcache.cache_key(study, build, (ActivitiesParams(),)) is None
    with open_study(study_path) as writable:  # writable studies are never cached
        assert sqlcache.cache_key(writable, build, (ActivitiesParams(),)) is None
        writable.engine.raw.execute("UPDATE users SET country = 'XX' WHERE country <> 'XX'")
    with open_study(study_path, read_only=True) as study:  # a changed file misses
        assert base != sqlcache.cache_key(study, build, (ActivitiesParams(),))


def test_other_engines_and_memory_are_not_cached(duck):
    assert sqlcache.cache_key(duck, user_summary_expr, ()) is None
    mem = open_study(":memory:")
    try:
        assert sqlcache.cache_key(mem, user_summary_expr, ()) is None
    finally:
        mem.close()


def test_the_disk_cache_keeps_the_most_recent_entries(study_path, cache_dir, monkeypatch):
    from ucnstudy.analyses.user_summary import UserSummaryParams

    monkeypatch.setattr(sqlcache, "MAX_ENTRIES", 1)
    with open_study(study_path, read_only=True) as study:
        sqlcache.query_arrow(study, user_summary_expr, UserSummaryParams())
        sqlcache.query_arrow(study, user_summary_expr, UserSummaryParams(include_shared=True))
        newest = sqlcache.cache_key(study, user_summary_expr, (UserSummaryParams(include_shared=True),))
    assert [f.stem for f in cache_dir.glob("*.json")] == [newest]


def test_a_warm_run_never_loads_ibis(study_path, cache_dir):
    import os
    import subprocess
    import sys

    script = ("import sys, ucnstudy\n"
              "from ucnstudy.analyses import ANALYSES\n"
              "with ucnstudy.open(sys.argv[1], read_only=True) as s:\n"
              "    ANALYSES['user-summary'].run(s)\n"
              "print('ibis' in sys.modules, 'sqlglot' in sys.modules)\n")
    env = {**os.environ, "UCN_CACHE_DIR": str(cache_dir.parent)}
    runs = [subprocess.run([sys.executable, "-c", script, str(study_path)], env=env, check=True,
                           capture_output=True, text=True).stdout.split() for _ in range(2)]
    assert runs == [["True", "True"], ["False", "False"]]  # cold builds with Ibis; warm does not
