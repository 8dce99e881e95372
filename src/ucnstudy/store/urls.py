"""Study URLs: which engine, where, and a printable form that never shows credentials."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ucnstudy.errors import StudyError

DEFAULT_DB = "ucnstudy.duckdb"


@dataclass(frozen=True)
class StudyUrl:
    engine: str  # duckdb | postgres | spark
    target: str  # file path, libpq URL, or Parquet directory

    @property
    def redacted(self) -> str:
        """The URL with any password replaced, safe to print or log."""
        if self.engine != "postgres":
            return self.target if self.engine == "duckdb" else f"spark:{self.target}"
        parts = urlsplit(self.target)
        if parts.password is None:
            return self.target
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))


def parse_url(url: str | os.PathLike[str] | None) -> StudyUrl:
    """Resolve a study URL; None means $UCN_DB, else ./ucnstudy.duckdb."""
    text = os.fspath(url) if url is not None else os.environ.get("UCN_DB") or DEFAULT_DB
    if text.startswith(("postgresql://", "postgres://")):
        return StudyUrl("postgres", text)
    if text.startswith("spark:"):
        path = text.removeprefix("spark:").removeprefix("//")
        if not path:
            raise StudyError("a spark: URL needs the Parquet study directory, e.g. spark:./study")
        return StudyUrl("spark", path)
    if text.startswith("duckdb://"):
        text = text.removeprefix("duckdb://")
    if text == ":memory:" or text.endswith(".duckdb") or text.endswith(".db"):
        return StudyUrl("duckdb", text)
    raise StudyError(
        f"unrecognised study URL {text!r}: use a path ending in .duckdb, "
        "postgresql://user@host:port/dbname, or spark:PATH"
    )
