"""Shared fixtures: study handles on every engine, and the real data folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from ucnstudy import Study, open_study


def _real_data_dir() -> Path:
    """The shared real samples: $UCN_REAL_DATA, else ../shared/data/real beside the checkout."""
    if os.environ.get("UCN_REAL_DATA"):
        return Path(os.environ["UCN_REAL_DATA"])
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "data" / "real",
                  Path("/work/shared/data/real")]
    return next((c for c in candidates if c.is_dir()), candidates[0])


REAL = _real_data_dir()
PG_ADMIN = os.environ.get("UCN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session", autouse=True)
def _sql_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests (and the commands they run) never write the user's compiled-SQL cache."""
    before = os.environ.get("UCN_CACHE_DIR")
    os.environ["UCN_CACHE_DIR"] = str(tmp_path_factory.mktemp("sql-cache"))
    yield
    if before is None:
        os.environ.pop("UCN_CACHE_DIR", None)
    else:
        os.environ["UCN_CACHE_DIR"] = before


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Study]:
    study = open_study(tmp_path / "study.duckdb")
    study.create_schema()
    yield study
    study.close()


def _pg_available() -> bool:
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@contextmanager
def pg_database(prefix: str = "ucn_test") -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, dropped afterwards.

    Under CI=true an unreachable server fails the test instead of skipping it.
    """
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN} (CI=true)")
        pytest.skip("PostgreSQL server not reachable")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    with pg_database() as url:
        yield url


@pytest.fixture
def pg(pg_url: str) -> Iterator[Study]:
    study = open_study(pg_url)
    study.create_schema()
    yield study
    study.close()


@pytest.fixture(params=["duckdb", "postgres"])
def any_study(request: pytest.FixtureRequest) -> Study:
    """The same test on the embedded default and on the real PostgreSQL server."""
    return request.getfixturevalue("duck" if request.param == "duckdb" else "pg")


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL.is_dir():
        pytest.fail(f"real data folder missing: {REAL}")
    return REAL


def with_manifest(study: Study, tmp_path: Path, manifest_yaml: str) -> Study:
    """Import a YAML manifest (users, devices, leases) into `study`, for importer tests."""
    from ucnstudy.sources.manifest import import_manifest

    (tmp_path / "m.yaml").write_text(manifest_yaml)
    import_manifest(study, str(tmp_path / "m.yaml"))
    return study
