"""Spark: a read-only study over a Parquet study directory (one directory per table).

`ucn export --to DIR` writes such a directory; `spark:DIR` opens it. Local mode (`local[2]`) by
default; a cluster when SPARK_REMOTE (Spark Connect) or spark-submit configure one. One Spark
session per process is started lazily and reused; each SparkEngine works in its own
`newSession()` so that two studies open in one process never see each other's views.
Settings follow engine-notes.md: Arrow on (E3), a per-process warehouse dir (E4), loopback
binding and no UI (E5), few shuffle partitions for a small machine.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, NoReturn

import ibis
from ibis.backends.pyspark import Backend

from ucnstudy.errors import StudyError
from ucnstudy.schema import TABLES, Table
from ucnstudy.store.engine import check_read_query

READ_ONLY_REASON = (
    "Spark reads Parquet study directories and never writes them: import or generate the "
    "study into DuckDB or PostgreSQL, then `ucn export --to DIR` and open it with --db spark:DIR"
)
DEFAULT_MASTER = "local[2]"
_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""

_lock = threading.Lock()
_base_session: Any = None


def _local_settings(scratch: Path) -> dict[str, str]:
    """Configuration for the local-mode driver (also used as defaults under spark-submit)."""
    log4j = scratch / "log4j2.properties"
    log4j.write_text(_LOG4J)
    java_opts = f"-Dlog4j2.configurationFile=file:{log4j} -Dderby.system.home={scratch}"
    return {
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": os.environ.get("UCN_SPARK_DRIVER_MEMORY", "4g"),
        "spark.driver.extraJavaOptions": java_opts,
    }


def _common_settings(scratch: Path) -> dict[str, str]:
    return {
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.sql.shuffle.partitions": os.environ.get("UCN_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.session.timeZone": "UTC",
    }


def _under_spark_submit() -> bool:
    """spark-submit starts the JVM first and tells the Python driver where it is."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def base_session() -> Any:
    """The process's Spark session, started on first use and stopped at exit."""
    global _base_session
    with _lock:
        if _base_session is None:
            _base_session = _start_session()
        return _base_session


def _start_session() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise StudyError(f"spark: studies need the spark extra (pip install 'ucnstudy[spark]'): {exc}"
                         ) from None
    scratch = Path(tempfile.mkdtemp(prefix="ucn-spark-"))
    atexit.register(shutil.rmtree, scratch, True)
    builder = SparkSession.builder.appName("ucnstudy")
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        builder = builder.remote(remote)
    elif not _under_spark_submit():
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.master(os.environ.get("UCN_SPARK_MASTER", DEFAULT_MASTER))
        for key, value in _local_settings(scratch).items():
            builder = builder.config(key, value)
    for key, value in _common_settings(scratch).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # no Java, or a cluster that cannot be reached
        raise StudyError(f"cannot start Spark: {_first_line(exc)}") from None
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    atexit.register(_stop, session)
    return session


def _stop(session: Any) -> None:
    global _base_session
    try:
        session.stop()
    finally:
        _base_session = None


class SparkEngine:
    """A Parquet study directory read through Spark SQL; canonical tables are temp views."""

    name = "spark"
    read_only = True
    read_only_reason = READ_ONLY_REASON

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().resolve()
        if not self.path.is_dir():
            raise StudyError(
                f"no Parquet study at {self.path}: write one with `ucn export --to {path}`"
            )
        self._tables = study_tables(self.path)
        if not self._tables:
            raise StudyError(
                f"{self.path} holds no canonical table directories (users/, dnsreqs/, ...): "
                f"write one with `ucn export --to {path}`"
            )
        base = base_session()
        self._session = base if os.environ.get("SPARK_REMOTE") else base.newSession()
        self._con: Backend = ibis.pyspark.connect(self._session)
        for name, directory in self._tables.items():
            self._session.read.parquet(str(directory)).createOrReplaceTempView(name)

    @property
    def ibis(self) -> Backend:
        return self._con

    @property
    def raw(self) -> Any:
        """The SparkSession of this study."""
        return self._session

    def existing_tables(self) -> set[str]:
        return set(self._tables)

    def create_tables(self, tables: list[Table]) -> NoReturn:
        raise StudyError(READ_ONLY_REASON)

    def drop_tables(self, names: list[str]) -> NoReturn:
        raise StudyError(READ_ONLY_REASON)

    def transaction(self, *, bulk: bool = False) -> NoReturn:
        raise StudyError(READ_ONLY_REASON)

    def read_sql(self, query: str, params: Any = None) -> Any:
        """One query (checked with sqlglot's Spark dialect), `:name` parameters; a DataFrame."""
        check_read_query(query, "spark")
        try:
            return self._session.sql(query, args=params).toPandas()
        except Exception as exc:  # AnalysisException, ParseException...
            raise StudyError(f"the query failed: {_first_line(exc)}") from None

    @staticmethod
    def quote_identifier(name: str) -> str:
        """Spark SQL quotes identifiers with backticks (a double-quoted name is a string)."""
        return "`" + name.replace("`", "``") + "`"

    def read_rows(self, query: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The same as column names and row tuples."""
        check_read_query(query, "spark")
        try:
            frame = self._session.sql(query, args=params)
            return list(frame.columns), [tuple(r) for r in frame.collect()]
        except Exception as exc:
            raise StudyError(f"the query failed: {_first_line(exc)}") from None

    def close(self) -> None:
        """Drop this study's views; the process's Spark session stays up for reuse."""
        for name in self._tables:
            self._session.catalog.dropTempView(name)


def study_tables(path: Path) -> dict[str, Path]:
    """Canonical table directories (or single files) present in a Parquet study directory."""
    found = {}
    for name in TABLES:
        for candidate in (path / name, path / f"{name}.parquet"):
            if candidate.exists():
                found[name] = candidate
                break
    return found


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
