"""A study that lives for months: list and remove imports, re-attribute rows after lease changes.

Each operation is one engine transaction: a failure half-way leaves the study as it was. A Spark
study is a read-only Parquet export and refuses them (Study._writable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ucnstudy.errors import StudyError
from ucnstudy.schema import IMPORT_ID, TABLES
from ucnstudy.store import imports
from ucnstudy.store.engine import Writer, quote
from ucnstudy.store.imports import ImportRecord
from ucnstudy.store.study import Study

# Importers that attribute rows to devices through the address leases, and where: the table,
# its time column. The device-side address is srcip (squid's client, Zeek's oriented tuple).
ADDRESS_KINDS = ("squid", "zeek")
ADDRESS_TABLES = {"httpreqs": "ts", "dnsreqs": "ts", "flows": "startts"}


@dataclass
class ImportsListing:
    imports: list[ImportRecord]
    untraced: dict[str, int]  # rows loaded before import tracing (import_id NULL), per table


def list_imports(study: Study) -> ImportsListing:
    """Every import, oldest first, and the rows that no import owns (before import tracing)."""
    existing = study.engine.existing_tables()
    if "imports" not in existing:
        return ImportsListing([], {})
    rows = study.table("imports").order_by("id").to_pyarrow().to_pylist()
    untraced = {}
    for name in imports.traced_tables(existing):
        t = study.table(name)
        n = int(t.filter(t[IMPORT_ID.name].isnull()).count().execute())
        if n:
            untraced[name] = n
    return ImportsListing([imports.decode(r) for r in rows], untraced)


def remove_imports(study: Study, ids: Sequence[int]) -> dict[str, int]:
    """Delete exactly the rows of these imports (and their records), atomically; rows per table.

    Refused when other imports' rows belong to devices these imports define (a manifest):
    remove those first, or withdraw the user (`remove_user`)."""
    study._writable()
    ids = sorted(set(ids))
    tables = imports.traced_tables(study.engine.existing_tables())
    with study.engine.transaction() as writer:
        imports.check_known(writer, ids)
        _check_no_dependants(writer, ids, tables)
        return imports.delete_imports(writer, ids, tables)


def _check_no_dependants(writer: Writer, ids: Sequence[int], tables: Sequence[str]) -> None:
    marks = ", ".join("?" for _ in ids)
    used = []
    for name in tables:
        if name == "devices" or "devid" not in TABLES[name].column_names:
            continue
        found = writer.fetchone(
            f"SELECT count(*) FROM {quote(name)} WHERE devid IN (SELECT id FROM devices WHERE "
            f"import_id IN ({marks})) AND (import_id IS NULL OR import_id NOT IN ({marks}))",
            (*ids, *ids))
        if found and found[0]:
            used.append(f"{found[0]:,} {name}")
    if used:
        raise StudyError(
            f"import(s) {', '.join(map(str, ids))} define devices that other imports' rows use "
            f"({', '.join(used)}): remove those imports too, or withdraw the user with "
            "`ucn users remove`")


@dataclass
class Reattribution:
    """Rows that moved between devices per table and (from login, to login), and rows left
    on their device because no lease covers their address at their time any more."""

    moved: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    unleased: dict[str, int] = field(default_factory=dict)

    @property
    def total_moved(self) -> int:
        return sum(sum(pairs.values()) for pairs in self.moved.values())


def _lease_of(ts: str) -> str:
    """The device holding the row's srcip at its time; latest lease first (as sources.leases)."""
    return (
        "(SELECT l.devid FROM device_addresses AS l WHERE l.address = t.srcip "
        f"AND (l.valid_from IS NULL OR t.{quote(ts)} >= l.valid_from) "
        f"AND (l.valid_to IS NULL OR t.{quote(ts)} < l.valid_to) "
        "ORDER BY l.valid_from DESC NULLS LAST, l.devid LIMIT 1)"
    )


def _attributed(table: str) -> tuple[str, tuple[str, ...]]:
    """Rows attributed through the leases: of squid/Zeek imports (before tracing: httpreqs.source)."""
    kinds = ", ".join("?" for _ in ADDRESS_KINDS)
    where = f"t.import_id IN (SELECT id FROM imports WHERE source_kind IN ({kinds}))"
    params: tuple[str, ...] = ADDRESS_KINDS
    if "source" in TABLES[table].column_names:
        where = f"({where} OR (t.import_id IS NULL AND t.source IN ({kinds})))"
        params += ADDRESS_KINDS
    return where, params


def reattribute(study: Study) -> Reattribution:
    """Recompute the device of every address-attributed row from the current leases, atomically."""
    study._writable()
    existing = study.engine.existing_tables()
    result = Reattribution()
    with study.engine.transaction() as writer:
        logins = {int(i): str(login) for i, login in writer.fetchall("SELECT id, login FROM devices")}
        for table, ts in ADDRESS_TABLES.items():
            if table not in existing:
                continue
            where, params = _attributed(table)
            lease = _lease_of(ts)
            moves = writer.fetchall(
                f"SELECT t.devid, {lease} AS new, count(*) FROM {quote(table)} AS t WHERE {where} "
                "GROUP BY 1, 2", params)
            pairs = {(logins.get(old, str(old)), logins.get(new, str(new))): int(n)
                     for old, new, n in moves if new is not None and new != old}
            unleased = sum(int(n) for _, new, n in moves if new is None)
            if pairs:
                result.moved[table] = pairs
                writer.execute(
                    f"UPDATE {quote(table)} AS t SET devid = {lease} WHERE {where} "
                    f"AND {lease} IS NOT NULL AND {lease} <> t.devid", params)
            if unleased:
                result.unleased[table] = unleased
    return result
