"""The compiled SQL of analysis queries, cached in memory and on disk (read-only DuckDB studies).

Building an analysis's Ibis expression and compiling it to SQL (sqlglot) costs 0.3-1.5 s per
run, more than DuckDB takes to answer most analyses at 1M events. A query is named by its
builder (a function `build(study, *args) -> ir.Table`) and the arguments, and its compiled SQL,
output schema and in-memory lookup tables (`ibis.memtable`, e.g. the UTC offsets of the users'
zones) are kept under a key of everything that determines them:

* the builder's module and name and the `repr` of its arguments (frozen parameter dataclasses),
* the ucnstudy version and a digest of its source files, the installed Ibis, sqlglot, DuckDB and
  pyarrow (path, size, time and inode of each package's `__init__`) and the dialect,
* the study's schema fingerprint (every table's and view's definition, catalog and schema name),
* the study file's identity (path, inode, size, modification and change times of the file and
  its WAL): a builder may read data while building (the zones of the users), so a study that
  changed misses the cache.

A hit skips building and compiling; the SQL still runs on the data every time (results are
never cached). Values stay where Ibis put them: literals Ibis compiled, memtables registered
by name. Only read-only DuckDB studies on a file are cached (what `ucn analyze`, the report and
`ucnstudy.open(..., read_only=True)` give); other engines and writable studies build as before.
The disk cache lives in $UCN_CACHE_DIR, else $XDG_CACHE_HOME/ucnstudy, else ~/.cache/ucnstudy,
under sql/; UCN_SQL_CACHE=0 turns the cache off (memory and disk).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from ucnstudy.store import Study

Builder = Callable[..., "ir.Table"]
FORMAT = 2  # the layout of an entry on disk
MAX_ENTRIES = 512  # on disk; an entry is 1-260 KB; the least recently used go first


@dataclass(frozen=True)
class Compiled:
    sql: str
    schema: dict[str, str]  # column -> Ibis dtype string (the result's conversion)
    arrow_schema: bytes  # the result's Arrow schema: when DuckDB gives it, Ibis is not needed
    memtables: dict[str, bytes]  # registered name -> Arrow IPC stream


_MEMORY: dict[str, Compiled] = {}
# a cached entry registers its memtables under fixed names: two runs of it at once on one
# connection must not unregister each other's (Ibis names every new memtable afresh)
_REGISTERING = threading.Lock()
_FINGERPRINTS: weakref.WeakKeyDictionary[Study, str] = weakref.WeakKeyDictionary()


def enabled() -> bool:
    return os.environ.get("UCN_SQL_CACHE", "1") not in ("0", "off", "false", "no")


def cache_dir() -> Path:
    root = os.environ.get("UCN_CACHE_DIR")
    if root:
        return Path(root) / "sql"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "ucnstudy" / "sql"


def clear_memory() -> None:
    """Forget the in-memory entries (tests; the disk cache stays)."""
    _MEMORY.clear()


def query_arrow(study: Study, build: Builder, *args: Any) -> pa.Table:
    """The result of `build(study, *args)` as Arrow, its compiled SQL cached when possible."""
    key = cache_key(study, build, args)
    if key is None:
        return _uncached(build(study, *args))
    entry = _MEMORY.get(key) or _load(key)
    if entry is None:
        expr = build(study, *args)
        entry = compile_entry(study, expr)
        if entry is None:  # e.g. a Python UDF: nothing to replay without the expression
            return _uncached(expr)
        _store(key, entry)
    _MEMORY[key] = entry
    return execute(study, entry)


def _uncached(expr: ir.Table) -> pa.Table:
    from ucnstudy.store.fetch import to_arrow  # loads Ibis: a hit never does

    return to_arrow(expr)


def cache_key(study: Study, build: Builder, args: tuple[Any, ...]) -> str | None:
    """The key of this query on this study, or None when it is not cached."""
    engine = study.engine
    if (not enabled() or engine.name != "duckdb" or not engine.read_only
            or getattr(engine, "canonical_table", None) is not None):
        return None
    identity = _file_identity(getattr(engine, "path", None))
    if identity is None:
        return None
    parts = [FORMAT, _code_digest(), "duckdb", schema_fingerprint(study), identity,
             build.__module__, build.__qualname__, repr(args)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def schema_fingerprint(study: Study) -> str:
    """A digest of the catalog, the schema and every table's and view's definition (its
    columns' names, types and nullability, in order)."""
    known = _FINGERPRINTS.get(study)
    if known is not None:
        return known
    # the CREATE statements say what duckdb_columns() would, at a sixth of its cost on a newly
    # opened study (1 against 6.5 ms: that one renders every column's type)
    rows = study.engine.raw.execute(
        "SELECT current_database(), current_schema(), schema_name, table_name, sql "
        "FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION ALL SELECT current_database(), current_schema(), schema_name, view_name, sql "
        "FROM duckdb_views() WHERE NOT internal AND database_name = current_database() "
        "ORDER BY ALL").fetchall()
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    _FINGERPRINTS[study] = digest  # read-only: the schema cannot change under this handle
    return digest


def compile_entry(study: Study, expr: ir.Table) -> Compiled | None:
    """The SQL, schema and memtables of `expr`, or None when it cannot be replayed from them."""
    import ibis
    import ibis.expr.operations as ops
    import pyarrow as pa

    op = expr.op()
    if op.find((ops.ScalarUDF, ops.AggUDF)):
        return None
    table_expr = expr.as_table()
    schema = table_expr.schema()
    as_text = {name: str(dtype) for name, dtype in schema.items()}
    if ibis.schema(as_text) != schema:  # a dtype whose text does not read back the same
        return None
    memtables = {}
    for mem in op.find(ops.InMemoryTable):
        data = mem.data.to_pyarrow(mem.schema)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data)
        memtables[mem.name] = sink.getvalue().to_pybytes()
    from ibis.formats.pyarrow import PyArrowSchema

    sql = study.con.compile(table_expr)
    arrow_schema = PyArrowSchema.from_ibis(schema).serialize().to_pybytes()
    return Compiled(sql, as_text, arrow_schema, memtables)


def execute(study: Study, entry: Compiled) -> pa.Table:
    """Run the entry's SQL on the study, with its memtables, converted as Ibis converts."""
    import pyarrow as pa

    raw = study.engine.raw
    if entry.memtables:
        with _REGISTERING:
            for name, data in entry.memtables.items():
                raw.register(name, pa.ipc.open_stream(pa.py_buffer(data)).read_all())
            try:
                table = raw.sql(entry.sql).to_arrow_table()
            finally:
                for name in entry.memtables:
                    raw.unregister(name)
    else:
        table = raw.sql(entry.sql).to_arrow_table()
    return _convert(table, pa.ipc.read_schema(pa.py_buffer(entry.arrow_schema)))


def _convert(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Ibis's DuckDBPyArrowData.convert_table without loading Ibis: each column cast to its type
    (DuckDB's HUGEINT sums arrive as decimals), null columns as nulls, the schema as Ibis's."""
    import pyarrow as pa

    if table.schema == schema:
        return table
    arrays = []
    for field in schema:
        column = table[field.name]
        if pa.types.is_null(field.type):
            arrays.append(pa.nulls(len(column)))
        else:
            arrays.append(column.cast(field.type) if column.type != field.type else column)
    return pa.Table.from_arrays(arrays, schema=schema)


def _file_identity(path: str | None) -> list[Any] | None:
    if not path or path == ":memory:":
        return None
    try:
        main = os.stat(path)
    except OSError:
        return None
    try:
        wal = os.stat(path + ".wal")
        wal_id: list[int] = [wal.st_ino, wal.st_size, wal.st_mtime_ns, wal.st_ctime_ns]
    except OSError:
        wal_id = []
    return [os.path.realpath(path), main.st_ino, main.st_size, main.st_mtime_ns, main.st_ctime_ns,
            wal_id]


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """ucnstudy's version and source, and the versions of what compiles and runs the SQL."""
    from importlib.util import find_spec

    import ucnstudy

    h = hashlib.sha256()
    root = Path(ucnstudy.__file__).parent
    for file in sorted(root.rglob("*.py")):  # about 190 files, 0.02 s
        h.update(str(file.relative_to(root)).encode())
        h.update(file.read_bytes())
    # each library's installed files, without importing it (a hit never loads Ibis) nor asking
    # importlib.metadata (0.1 s): an install or upgrade rewrites the package's __init__
    for name in ("ibis", "sqlglot", "duckdb", "pyarrow"):
        spec = find_spec(name)
        origin = spec.origin if spec is not None and spec.origin else name
        try:
            st = os.stat(origin)
            h.update(f"{origin}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode())
        except OSError:
            h.update(origin.encode())
    h.update(getattr(ucnstudy, "__version__", "").encode())
    return h.hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / f"{key}.json"


def _load(key: str) -> Compiled | None:
    path = _path(key)
    try:
        data = json.loads(path.read_text())
        os.utime(path)  # recently used: evicted last
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return Compiled(data["sql"], data["schema"], base64.b64decode(data["arrow_schema"]),
                    {k: base64.b64decode(v) for k, v in data["memtables"].items()})


def _store(key: str, entry: Compiled) -> None:
    """Write the entry atomically; a cache that cannot be written only costs speed."""
    data = {"format": FORMAT, "sql": entry.sql, "schema": entry.schema,
            "arrow_schema": base64.b64encode(entry.arrow_schema).decode(),
            "memtables": {k: base64.b64encode(v).decode() for k, v in entry.memtables.items()}}
    target = _path(key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, target)
        _evict(target.parent)
    except OSError:
        pass


def _evict(folder: Path) -> None:
    """Keep at most MAX_ENTRIES files: a changed study or source leaves entries never read again."""
    entries = list(folder.glob("*.json"))
    if len(entries) <= MAX_ENTRIES:
        return
    by_age = sorted(entries, key=lambda f: f.stat().st_mtime_ns)
    for old in by_age[:len(entries) - MAX_ENTRIES]:
        old.unlink(missing_ok=True)
