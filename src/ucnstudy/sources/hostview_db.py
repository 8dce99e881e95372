"""Open HostView SQLite databases (stats_*.db, alone or inside the uploaded .zip) read-only.

Library for `sources.hostview`: yields sqlite3 connections opened with `mode=ro`, and reads
table rows as dicts with their rowid, tolerating missing optional columns.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from ucnstudy.errors import InputError
from ucnstudy.sources.timewindow import time_window

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_MEMBER_BYTES = 8 << 30  # a zip member larger than this is refused (zip bombs)
# a damaged file can make sqlite3 fail while decoding its own error message
SQLITE_ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError)


@contextmanager
def databases(path: str) -> Iterator[list[tuple[str, sqlite3.Connection]]]:
    """(zip member name or '', read-only connection) for the database at `path` or each .db in a zip."""
    with tempfile.TemporaryDirectory(prefix="ucn-hostview-") as tmp:
        files = _extract(path, Path(tmp)) if zipfile.is_zipfile(path) else [("", path)]
        connections = []
        try:
            for label, file in files:
                connections.append((label, _connect(path, label, file)))
            yield connections
        finally:
            for _, con in connections:
                con.close()


def _extract(path: str, tmp: Path) -> list[tuple[str, str]]:
    files = []
    try:
        with zipfile.ZipFile(path) as archive:
            for index, info in enumerate(archive.infolist()):
                if info.is_dir() or not info.filename.lower().endswith((".db", ".sqlite", ".sqlite3")):
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    raise InputError(path, f"zip member {info.filename} is too large "
                                           f"({info.file_size} bytes)")
                target = tmp / f"member{index}.db"  # our own name: member paths are never used
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                files.append((info.filename, str(target)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise InputError(path, f"cannot read the zip archive: {exc}") from None
    if not files:
        raise InputError(path, "the zip archive holds no SQLite database (*.db)")
    return files


def _connect(path: str, member: str, file: str) -> sqlite3.Connection:
    label = f"{path}:{member}" if member else path
    with open(file, "rb") as f:
        if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise InputError(label, "not a SQLite database (HostView stats_*.db or a .zip holding it)")
    try:
        con = sqlite3.connect(f"file:{quote(str(Path(file).resolve()))}?mode=ro", uri=True)
        con.text_factory = _text  # HostView on Windows may have written non-UTF-8 names
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except SQLITE_ERRORS as exc:
        raise InputError(label, f"damaged SQLite database: {exc}") from None
    return con


_text = functools.partial(bytes.decode, encoding="utf-8", errors="replace")


def columns(con: sqlite3.Connection, table: str) -> set[str] | None:
    """Column names of `table` in lower case, or None when the table does not exist."""
    exists = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND lower(name) = ?",
                         (table,)).fetchone()
    if not exists:
        return None
    # the table name comes from our fixed list, never from the file
    return {row[1].lower() for row in con.execute(f'PRAGMA table_info("{table}")')}


def read_rows(con: sqlite3.Connection, table: str, wanted: tuple[str, ...], present: set[str]
              ) -> Iterator[dict[str, object]]:
    """Rows of `table` ordered by time, with NULL for wanted columns the table lacks."""
    select = ", ".join(f'"{c}"' if c in present else f'NULL AS "{c}"' for c in wanted)
    order = '"timestamp", rowid' if "timestamp" in present else "rowid"
    cursor = con.execute(f'SELECT rowid, {select} FROM "{table}" ORDER BY {order}')
    names = ("rowid", *wanted)
    while batch := cursor.fetchmany(10_000):
        for row in batch:
            yield dict(zip(names, row, strict=True))


TIMED_TABLES = ("activity", "io", "procs", "ports", "http", "session")
EPOCH = datetime(1970, 1, 1)


class RecordError(ValueError):
    """A malformed HostView row: reported with its table and rowid, then skipped."""





def plausible_ms() -> tuple[int, int]:
    """The plausible range of HostView times (see location.common.is_plausible) in epoch ms."""
    lo, hi = time_window().micros()
    return lo // 1000, hi // 1000


def ms_time(value: object, bounds: tuple[int, int] | None = None) -> datetime:
    """A HostView millisecond timestamp as naive UTC; implausible or non-numeric is a RecordError."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RecordError(f"timestamp {value!r} is not milliseconds since 1970")
    try:
        millis = int(value)
    except (ValueError, OverflowError):
        raise RecordError(f"timestamp {value!r} is not milliseconds since 1970") from None
    lo, hi = bounds or plausible_ms()
    if not lo <= millis <= hi:
        raise RecordError(f"implausible timestamp {value!r} (outside {time_window().describe()})")
    return EPOCH + timedelta(milliseconds=millis)


def as_int(value: object, bits: int = 64) -> int | None:
    """An integer column value that fits a signed `bits`-bit column, or None when empty."""
    if type(value) is int:  # the common case, without the conversions below
        number = value
    elif value is None or value == "":
        return None
    else:
        try:
            number = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise RecordError(f"{value!r} is not an integer") from None
    limit = 1 << (bits - 1)
    if not -limit <= number < limit:
        raise RecordError(f"{value!r} is out of range")
    return number


def app(value: object) -> str:
    return str(value).strip().lower() if value not in (None, "") else "unknown"




def last_timestamp(con: sqlite3.Connection) -> datetime | None:
    """The latest plausible timestamp of any HostView table: the end of the recorded session."""
    lo, hi = plausible_ms()
    latest = None
    for table in TIMED_TABLES:
        try:  # table names come from our fixed list; bounds are parameters
            present = columns(con, table)
            if not present or "timestamp" not in present:
                continue
            (value,) = con.execute(f'SELECT max("timestamp") FROM "{table}" WHERE typeof("timestamp") '
                                   "= 'integer' AND \"timestamp\" BETWEEN ? AND ?", (lo, hi)).fetchone()
        except SQLITE_ERRORS:
            continue
        if value is not None:
            latest = max(latest or value, value)
    return EPOCH + timedelta(milliseconds=latest) if latest is not None else None
