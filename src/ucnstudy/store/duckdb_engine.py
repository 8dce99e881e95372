"""DuckDB: the embedded default, one .duckdb file (or :memory:)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from typing import TYPE_CHECKING, Any

import duckdb

from ucnstudy.errors import StudyError
from ucnstudy.schema import Table
from ucnstudy.store.engine import LOCK_TIMEOUT_ENV, READ_QUERY, index_statements, lock_timeout_s, quote

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from ibis.backends.duckdb import Backend

MEMORY_LIMIT_ENV = "UCN_DUCKDB_MEMORY_LIMIT"
DIRECT_ROWS = 100_000  # rows a transaction inserts directly before it stages the rest
# A bulk transaction (transaction(bulk=True)) gathers each table's appends up to this many rows
# (four of DuckDB's row groups) or bytes of Arrow, and inserts them in one statement: DuckDB then
# writes whole row groups to the file as they fill instead of keeping many small inserts' rows
# for the commit; the bytes bound keeps the gathered rows of wide tables small.
BULK_ROWS = 4 * 122_880
BULK_BYTES = 64 * 2**20
STAGE_SUFFIX = ".ucn-stage"  # beside the study file: <study>.ucn-stage/<pid>-<uuid>/
# never load or download an extension behind the user's back (an SQLite file as --db made
# DuckDB fetch sqlite_scanner over the network)
NO_EXTENSIONS = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}
_SQLITE_MAGIC = b"SQLite format 3\x00"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


class DuckDBWriter:
    """The appends of one transaction. DuckDB keeps the uncommitted rows of many small INSERTs
    in memory (about 600 bytes a row here) but streams one INSERT from a file into the database
    file. So the first DIRECT_ROWS rows are inserted as they come (fast, and enough for most
    files), and beyond that each table's rows are staged in a Parquet file and reach the table
    in one INSERT before anything reads through this writer (a query, `connection`, the commit):
    the memory of an import stays bounded however large the file (docs/inputs/pcap.md, "Speed")."""

    def __init__(self, raw: Any, stage_root: str | None = None, *, bulk: bool = False) -> None:
        self._raw = raw
        self._stage_root = stage_root  # None: the system's temporary directory (:memory:)
        self._direct = 0
        self._bulk = bulk
        # bulk: table name -> (table, pieces, rows, bytes) gathered for its next insert
        self._gathered: dict[str, tuple[Table, list[pa.Table], int, int]] = {}
        self._stage: tempfile.TemporaryDirectory[str] | None = None
        self._staged: dict[str, tuple[Table, pq.ParquetWriter, str]] = {}

    @property
    def connection(self) -> Any:
        """The transaction's own DuckDB connection (statements on it commit or roll back together)."""
        self.flush()
        return self._raw

    def append(self, table: Table, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        if self._bulk:
            _, pieces, rows, size = self._gathered.get(table.name, (table, [], 0, 0))
            pieces.append(data)
            rows, size = rows + data.num_rows, size + data.nbytes
            self._gathered[table.name] = (table, pieces, rows, size)
            if rows >= BULK_ROWS or size >= BULK_BYTES:
                self._insert_gathered(table.name)
            return
        if self._direct + data.num_rows <= DIRECT_ROWS:
            self._direct += data.num_rows
            self._insert_arrow(table, data)
            return
        staged = self._staged.get(table.name)
        if staged is None:
            if self._stage is None:
                self._stage = _stage_directory(self._stage_root)
            path = os.path.join(self._stage.name, f"{table.name}.parquet")
            import pyarrow.parquet as pq

            writer = pq.ParquetWriter(path, data.schema, compression="lz4")
            staged = self._staged[table.name] = (table, writer, path)
        _, writer, _ = staged
        writer.write_table(data if data.schema == writer.schema else data.cast(writer.schema))

    def _insert_gathered(self, name: str) -> None:
        table, pieces, _, _ = self._gathered.pop(name)
        self._insert_arrow(table, pa_concat(pieces))

    def _insert_arrow(self, table: Table, data: pa.Table) -> None:
        self._raw.register("_ucn_incoming", data)
        try:
            self._insert(table, "_ucn_incoming")
        finally:
            self._raw.unregister("_ucn_incoming")

    def _insert(self, table: Table, source: str, params: tuple[Any, ...] = ()) -> None:
        cols = ", ".join(map(quote, table.column_names))
        sql = f"INSERT INTO {quote(table.name)} ({cols}) SELECT {cols} FROM {source}"
        self._raw.execute(sql, list(params))

    def lock_imports(self) -> None:
        """Nothing to do: the study file's lock already makes this process its only writer."""

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        self.flush()
        return self._raw.execute(sql, list(params)).fetchone()

    def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self.flush()
        return self._raw.execute(sql, list(params)).fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        self.flush()
        found = self._raw.execute(sql, list(params)).fetchall()  # DML answers its row count
        return int(found[0][0]) if len(found) == 1 and isinstance(found[0][0], int) else -1

    def flush(self) -> None:
        """Insert the staged and gathered rows (one INSERT per table)."""
        for name in list(self._gathered):
            self._insert_gathered(name)
        staged, self._staged = self._staged, {}
        for table, writer, path in staged.values():
            writer.close()
            self._insert(table, "read_parquet(?)", (path,))
            os.remove(path)

    def discard(self) -> None:
        """Drop what is staged (the transaction rolls back)."""
        self._gathered = {}
        for _, writer, _ in self._staged.values():
            writer.close()
        self._staged = {}
        if self._stage is not None:
            self._stage.cleanup()
            self._stage = None


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self._tables: frozenset[str] | None = None  # read-only: listed once (opening asks twice)
        self.path = path  # the compiled-SQL cache keys on the file's identity (store/sqlcache.py)
        # DuckDB caches table blocks up to memory_limit (default 80% of RAM); a study run on a
        # shared machine may cap it, e.g. UCN_DUCKDB_MEMORY_LIMIT=1GB
        limit = os.environ.get(MEMORY_LIMIT_ENV)
        config: dict[str, Any] = {"memory_limit": limit} if limit else {}
        self._stage_root = None if path == ":memory:" else os.path.abspath(path) + STAGE_SUFFIX
        # the Ibis backend wraps this connection on first use (Ibis takes 0.3 s to import)
        self._raw = _connect(path, read_only, config | NO_EXTENSIONS)
        no_progress_bar(self.raw)
        if not read_only and self._stage_root is not None:
            remove_stale_stages(self._stage_root)

    @cached_property
    def ibis(self) -> Backend:
        import ibis

        return ibis.duckdb.from_connection(self._raw)

    @property
    def raw(self) -> Any:
        return self._raw

    def existing_tables(self) -> set[str]:
        if self._tables is not None:
            return set(self._tables)
        tables = {name for (name,) in self._raw.execute("SHOW TABLES").fetchall()}
        if self.read_only:  # nothing can create or drop a table through this handle
            self._tables = frozenset(tables)
        return tables

    def create_tables(self, tables: list[Table]) -> None:
        for t in tables:
            self.ibis.create_table(t.name, schema=t.ibis_schema())
            for stmt in index_statements(t, self.name):
                self.raw.execute(stmt)

    def drop_tables(self, names: list[str]) -> None:
        for name in names:
            self.raw.execute(f"DROP TABLE IF EXISTS {quote(name)}")

    @contextmanager
    def transaction(self, *, bulk: bool = False) -> Iterator[DuckDBWriter]:
        """A transaction on a connection of its own: the writer may then run on another thread
        while this thread reads the (committed) study through Ibis. `bulk`: a transaction of
        many appends (Study.loads) gathers each table's rows into large inserts (BULK_ROWS)."""
        cursor = self.raw.cursor()
        writer = DuckDBWriter(cursor, self._stage_root, bulk=bulk)
        try:
            no_progress_bar(cursor)
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield writer
                writer.flush()
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            writer.discard()
            cursor.close()

    def read_sql(self, query: str, params: Any = None) -> Any:
        """One read-only query, checked by DuckDB's own parser; a pandas DataFrame."""
        return self._read(query, params, lambda cursor: cursor.df())

    def read_rows(self, query: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The same as column names and row tuples (no pandas, no pyarrow)."""
        return self._read(query, params, lambda c: ([d[0] for d in c.description], c.fetchall()))

    def _read(self, query: str, params: Any, fetch: Any) -> Any:
        try:
            statements = duckdb.extract_statements(query)
        except duckdb.Error as exc:
            raise StudyError(f"{READ_QUERY}; this one does not parse: {_first_line(exc)}") from None
        kinds = [s.type.name for s in statements]
        if kinds != ["SELECT"]:
            raise StudyError(f"{READ_QUERY}, not {', '.join(kinds) or 'nothing'}")
        cursor = self.raw.cursor()
        try:
            return fetch(cursor.execute(query, params))
        except duckdb.Error as exc:
            raise StudyError(f"the query failed: {_first_line(exc)}") from None
        finally:
            cursor.close()

    def close(self) -> None:
        self._raw.close()  # the Ibis backend, if made, wraps this same connection


def _connect(path: str, read_only: bool, config: dict[str, Any]) -> Any:
    """Open the study file; a lock another process holds is waited for (UCN_LOCK_TIMEOUT s),
    and every failure becomes a StudyError that says what the file is and what to do."""
    _check_target(path, read_only)
    deadline = time.monotonic() + lock_timeout_s()
    while True:
        try:
            target = path if path.startswith(":memory:") else os.path.abspath(path)
            return duckdb.connect(target, read_only=read_only, config=config)
        except duckdb.Error as exc:
            message = str(exc).strip()
            if "Conflicting lock" in message and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            raise StudyError(_open_error(path, message, config)) from None


def _check_target(path: str, read_only: bool) -> None:
    """Refuse what DuckDB would misread or fail on with a raw error."""
    if path == ":memory:":
        return
    if os.path.isdir(path):
        raise StudyError(f"the study {path} is a directory: give the path of a .duckdb file")
    if os.path.isfile(path):
        with open(path, "rb") as f:
            head = f.read(16)
        if head == _SQLITE_MAGIC:
            raise StudyError(f"{path} is an SQLite database, not a ucnstudy study: give a .duckdb "
                             "study file, or a new path to create one")
        if not os.access(path, os.R_OK) or (not read_only and not os.access(path, os.W_OK)):
            mode = "read" if read_only else "write"
            raise StudyError(f"cannot {mode} the study {path}: permission denied")
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise StudyError(f"cannot create the study {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise StudyError(f"cannot create the study {path}: the directory {parent} is not writable")


def _open_error(path: str, message: str, config: dict[str, Any]) -> str:
    if holder := _LOCK_HOLDER.search(message):
        return (f"the study {path} is in use by another process (PID {holder.group(2)}, "
                f"{holder.group(1)}): wait for it to finish, or set {LOCK_TIMEOUT_ENV} to wait "
                f"longer than {lock_timeout_s():g} s")
    if "Conflicting lock" in message:
        return f"the study {path} is in use by another process: wait for it to finish"
    if "memory" in message.lower() and "memory_limit" in config:
        return (f"{MEMORY_LIMIT_ENV}={config['memory_limit']!r} is not a memory size (e.g. 1GB): "
                f"{message}")
    if "not a valid DuckDB database" in message or "Could not read" in message:
        return (f"{path} is not a DuckDB study (empty, truncated, or another kind of file): give "
                "a study file made by ucn, or a new path to create one")
    first = (message.splitlines() or ["unknown error"])[0]
    return f"cannot open the study {path}: {first}"


def _stage_directory(root: str | None) -> tempfile.TemporaryDirectory[str]:
    """This transaction's staging folder: beside the study, named after this process."""
    if root is None:
        return tempfile.TemporaryDirectory(prefix="ucn-stage-")
    os.makedirs(root, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=f"{os.getpid()}-{uuid.uuid4().hex[:8]}-", dir=root)


def remove_stale_stages(root: str) -> None:
    """Staged Parquet of a killed import: another process's folders (the open study's file lock
    guarantees no other process writes it now) and the root once empty."""
    if not os.path.isdir(root):
        return
    mine = f"{os.getpid()}-"
    for name in os.listdir(root):
        if not name.startswith(mine):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    with contextlib.suppress(OSError):  # not empty: this process stages there now
        os.rmdir(root)


def pa_concat(pieces: list[pa.Table]) -> pa.Table:
    """One table of the pieces (no copy: their chunks become the table's chunks)."""
    import pyarrow as pa

    return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def no_progress_bar(con: Any) -> None:
    """Library code never prints. In Jupyter without ipywidgets DuckDB has the bar off already
    and refuses to set it (InvalidInputException): nothing to do then."""
    with suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
