"""The original UCN study database, opened as it is (read-only), seen as canonical tables.

The original PostgreSQL schema (reference section 1) differs from the canonical one: the HTTP
table is `httpreqs2`; users have no timezone (it derives from country); device addresses are
an ARRAY column `devices.addresses` rather than leases; ids and counters are `integer`; DNS rows
keep the response's server->device 5-tuple; `ans_addr` holds only the A/AAAA answers, so its
indices do not line up with the other answer arrays (bug 11); `deviceapptraffic.ts` is the
window end (W = 10 s); flow ids concatenate the tuple without separators (bug 8); columns the
original never had (query_ts, gt tables, ...) are NULL or empty.

Each canonical table is one SQL SELECT over the original table, built from the columns that
actually exist, wrapped as an Ibis table (`con.sql`). Only schema identifiers and constants are
placed in the SQL text, never data values.
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from ucnstudy.errors import StudyError
from ucnstudy.schema import COUNTRY_TIMEZONES, TABLES, Column
from ucnstudy.store.engine import quote

ORIGINAL_APP_WINDOW_S = 10  # deviceapptraffic: rows are stamped with the 10 s window's end
READ_ONLY_REASON = (
    "the original UCN database is opened read-only; to add data, `ucn export --to DIR` it "
    "and import the tables into a new study"
)
_PG_TYPES = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "string": "TEXT",
    "float64": "DOUBLE PRECISION",
    "boolean": "BOOLEAN",
    "array<int32>": "INTEGER[]",
    "array<string>": "TEXT[]",
}
# Where a canonical table comes from, when its name differs.
_SOURCES = {"httpreqs": ("httpreqs2", "httpreqs"), "device_addresses": ("devices",)}
_TUPLE = ("srcip", "dstip", "proto", "srcport", "dstport")
_DNS_SWAP = {"srcip": "dstip", "dstip": "srcip", "srcport": "dstport", "dstport": "srcport"}


def pg_type(column: Column) -> str:
    return "TIMESTAMP" if column.type.startswith("timestamp") else _PG_TYPES[column.type]


def is_original(pg: Any) -> bool:
    """An original UCN database: it has httpreqs2, or its users table has no timezone."""
    tables = pg.existing_tables()
    if "httpreqs2" in tables:
        return True
    return "users" in tables and "timezone" not in _columns(pg, "users")


def adapt_original(pg: Any) -> Any:
    """The engine itself for a canonical database; an OriginalEngine over an original one."""
    return OriginalEngine(pg) if is_original(pg) else pg


def _columns(pg: Any, table: str) -> set[str]:
    rows = pg.raw.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s",
        (table,),
    ).fetchall()
    return {r[0] for r in rows}


class OriginalEngine:
    """Read-only canonical view of an original UCN PostgreSQL database."""

    name = "postgres"
    layout = "original"
    read_only = True
    read_only_reason = READ_ONLY_REASON

    def __init__(self, pg: Any) -> None:
        self._pg = pg
        # Writes are refused here and the write connection is read-only; the Ibis connection
        # stays able to create the session-private temp tables of ibis.memtable lookups
        # (PostgreSQL refuses even CREATE TEMP TABLE in a read-only transaction).
        pg.raw.execute("SET default_transaction_read_only = on")
        pg.ibis.raw_sql("SET default_transaction_read_only = off")
        self._present = pg.existing_tables()
        self._tables: dict[str, ir.Table] = {}

    @property
    def ibis(self) -> Any:
        return self._pg.ibis

    @property
    def raw(self) -> Any:
        return self._pg.raw

    def read_sql(self, query: str, params: Any = None) -> Any:
        """SQL over the original database's own tables (see docs/engines.md)."""
        return self._pg.read_sql(query, params)

    def read_rows(self, query: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        return self._pg.read_rows(query, params)

    def existing_tables(self) -> set[str]:
        """Every canonical table is presented (empty where the original had none)."""
        return set(TABLES)

    def canonical_table(self, name: str) -> ir.Table:
        if name not in self._tables:
            schema = TABLES[name].ibis_schema()
            self._tables[name] = self.ibis.sql(self.canonical_sql(name), schema=schema)
        return self._tables[name]

    def canonical_sql(self, name: str) -> str:
        """The SELECT that presents the original data as canonical table `name`."""
        table = TABLES[name]
        source = next((s for s in _SOURCES.get(name, (name,)) if s in self._present), None)
        if source is None:
            return _empty_select(table.columns)
        have = _columns(self._pg, source)
        if name == "device_addresses":
            return _device_addresses_sql(have)
        exprs = [f"{_column_sql(name, c, have)} AS {quote(c.name)}" for c in table.columns]
        return f"SELECT {', '.join(exprs)} FROM {quote(source)} AS o"

    def create_tables(self, tables: list[Any]) -> None:
        raise StudyError(READ_ONLY_REASON)

    def drop_tables(self, names: list[str]) -> None:
        raise StudyError(READ_ONLY_REASON)

    def transaction(self, *, bulk: bool = False) -> Any:
        raise StudyError(READ_ONLY_REASON)

    def close(self) -> None:
        self._pg.close()


def _empty_select(columns: tuple[Column, ...]) -> str:
    exprs = [f"CAST(NULL AS {pg_type(c)}) AS {quote(c.name)}" for c in columns]
    return f"SELECT {', '.join(exprs)} WHERE false"


def _device_addresses_sql(have: set[str]) -> str:
    if "addresses" not in have:
        return _empty_select(TABLES["device_addresses"].columns)
    return (
        'SELECT CAST(o.id AS BIGINT) AS "devid", CAST(a.address AS TEXT) AS "address", '
        'CAST(NULL AS TIMESTAMP) AS "valid_from", CAST(NULL AS TIMESTAMP) AS "valid_to", '
        'CAST(NULL AS BIGINT) AS "import_id" '
        'FROM "devices" AS o CROSS JOIN LATERAL unnest(o.addresses) AS a(address) '
        "WHERE a.address IS NOT NULL AND a.address <> ''"
    )


def _column_sql(table: str, column: Column, have: set[str]) -> str:
    """One canonical column over the original row `o`: a conversion, a copy, or NULL."""
    typ = pg_type(column)
    special = _special(table, column.name, have)
    if special is not None:
        return f"CAST({special} AS {typ})"
    if column.name in have:
        return f"CAST(o.{quote(column.name)} AS {typ})"
    return f"CAST(NULL AS {typ})"


def _special(table: str, column: str, have: set[str]) -> str | None:
    if table == "users" and column == "timezone":
        derived = _timezone_case()
        return f"coalesce(nullif(o.\"timezone\", ''), {derived})" if "timezone" in have else derived
    if table == "deviceapptraffic" and column == "ts" and "ts" in have:
        return f"o.\"ts\" - INTERVAL '{ORIGINAL_APP_WINDOW_S} seconds'"
    if table == "dnsreqs":
        return _dns_special(column, have)
    if column == "flowid" and set(_TUPLE) <= have:
        return _flowid_sql({c: f"o.{quote(c)}" for c in _TUPLE})
    return None


def _dns_special(column: str, have: set[str]) -> str | None:
    """DNS rows were stored as the response travelled (server -> device): turn them around."""
    if column in _DNS_SWAP and _DNS_SWAP[column] in have:
        return f"o.{quote(_DNS_SWAP[column])}"
    if column == "flowid" and set(_TUPLE) <= have:
        return _flowid_sql({c: f"o.{quote(_DNS_SWAP.get(c, c))}" for c in _TUPLE})
    if column == "ans_addr" and {"ans_addr", "ans_type"} <= have:
        return _aligned_addresses_sql()
    if column == "duplicate" and "duplicate" in have:
        return 'coalesce(o."duplicate", false)'  # the original only ever set true (bug 17)
    return None


def _flowid_sql(parts: dict[str, str]) -> str:
    """SHA-224 hex of 'src|dst|proto|sport|dport', as sources.flowid computes it; NULL when a
    part is missing."""
    values = [parts[c] for c in _TUPLE]
    missing = " OR ".join(f"{v} IS NULL" for v in values)
    text = ", ".join(f"CAST({v} AS TEXT)" for v in values)
    return (
        f"CASE WHEN {missing} THEN NULL "
        f"ELSE encode(sha224(convert_to(concat_ws('|', {text}), 'UTF8')), 'hex') END"
    )


def _aligned_addresses_sql() -> str:
    """ans_addr aligned with ans_type: the k-th A/AAAA record takes the k-th stored address;
    other record types (CNAME...) get NULL, their target was never stored (bug 11). The
    original's [''] for an empty answer becomes an empty array."""
    nth_address = (
        "(SELECT count(*) FROM unnest(o.\"ans_type\"[1:u.i]) AS x(t) WHERE x.t IN (1, 28))"
    )
    return (
        "CASE WHEN o.\"ans_type\" IS NULL THEN NULL ELSE ARRAY("
        f"SELECT CASE WHEN u.t IN (1, 28) THEN nullif(o.\"ans_addr\"[{nth_address}], '') END "
        "FROM unnest(o.\"ans_type\") WITH ORDINALITY AS u(t, i) ORDER BY u.i) END"
    )


def _timezone_case() -> str:
    whens = " ".join(f"WHEN '{code}' THEN '{zone}'" for code, zone in COUNTRY_TIMEZONES.items())
    return f"CASE lower(o.\"country\") {whens} ELSE 'UTC' END"
