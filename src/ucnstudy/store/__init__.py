"""The study store: Study handles over DuckDB, PostgreSQL and Spark."""

from ucnstudy.store.digest import file_digest
from ucnstudy.store.study import ImportResult, Load, Study, open_study

__all__ = ["ImportResult", "Load", "Study", "file_digest", "open_study"]
