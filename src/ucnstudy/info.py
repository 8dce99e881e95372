"""A study at a glance: row counts and time spans per table, users and devices.

Two queries on the engine's own connection (`read_rows`): one row of scalar subqueries (count,
min and max time of every table, users, devices, shared devices) and the users per country, so
that `ucn info` loads neither Ibis nor pandas. An engine that presents canonical tables over
another layout (the original UCN database) is read through Ibis instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ucnstudy.privacy.manifest import privacy_manifest
from ucnstudy.schema import TABLES, TIME_COLUMNS
from ucnstudy.store.engine import quote

if TYPE_CHECKING:
    from ucnstudy.store import Study


@dataclass
class TableInfo:
    name: str
    rows: int
    first: str | None
    last: str | None


@dataclass
class StudyInfo:
    url: str
    tables: list[TableInfo]
    users: int
    devices: int
    shared_devices: int
    countries: str
    privacy: dict[str, Any] | None = None  # the manifest of an anonymised export


def study_info(study: Study) -> StudyInfo:
    if hasattr(study.engine, "canonical_table") or not hasattr(study.engine, "read_rows"):
        return _ibis_info(study)
    existing = study.engine.existing_tables()
    names = [n for n in TABLES if n in existing]
    q = getattr(study.engine, "quote_identifier", quote)  # Spark SQL quotes with backticks
    columns, (row,) = study.engine.read_rows("SELECT " + ", ".join(_scalars(names, q)))
    values = dict(zip(columns, row, strict=True))
    tables = [TableInfo(n, int(values[f"{n}.n"]), _iso(values.get(f"{n}.lo")), _iso(values.get(f"{n}.hi")))
              for n in names]
    countries = ""
    if "users" in existing:
        _, by_country = study.engine.read_rows(
            f"SELECT {q('country')}, count(*) FROM {q('users')} GROUP BY 1 ORDER BY 1")
        countries = ", ".join(f"{n} {country}" for country, n in by_country)
    count = {n: int(values[f"{n}.n"]) if n in existing else 0 for n in ("users", "devices")}
    return StudyInfo(study.url.redacted, tables, count["users"], count["devices"],
                     int(values.get("devices.shared") or 0), countries, privacy_manifest(study))


def _scalars(names: list[str], quote: Any) -> list[str]:
    """count (and min/max of the time column) of each table, as named scalar subqueries;
    identifiers come from the schema only."""
    out = []
    for name in names:
        table = quote(name)
        out.append(f"(SELECT count(*) FROM {table}) AS {quote(name + '.n')}")
        col = TIME_COLUMNS.get(name)
        if col:
            out.append(f"(SELECT min({quote(col)}) FROM {table}) AS {quote(name + '.lo')}")
            out.append(f"(SELECT max({quote(col)}) FROM {table}) AS {quote(name + '.hi')}")
        if name == "devices":
            out.append(f"(SELECT count(*) FROM {table} WHERE {quote('shared')}) AS {quote('devices.shared')}")
    return out


def _ibis_info(study: Study) -> StudyInfo:
    rows = []
    existing = study.engine.existing_tables()
    for name in TABLES:
        if name not in existing:
            continue
        t = study.table(name)
        col = TIME_COLUMNS.get(name)
        if col:
            agg = t.aggregate(n=t.count(), lo=t[col].min(), hi=t[col].max()).execute().iloc[0]
            n, lo, hi = int(agg["n"]), agg["lo"], agg["hi"]
        else:
            n, lo, hi = int(t.count().execute()), None, None
        rows.append(TableInfo(name, n, _iso(lo), _iso(hi)))
    users = study.table("users") if "users" in existing else None
    devices = study.table("devices") if "devices" in existing else None
    countries = ""
    if users is not None:
        by_country = users.group_by("country").aggregate(n=users.count()).order_by("country").execute()
        countries = ", ".join(f"{r.n} {r.country}" for r in by_country.itertuples())
    return StudyInfo(
        url=study.url.redacted,
        tables=rows,
        users=int(users.count().execute()) if users is not None else 0,
        devices=int(devices.count().execute()) if devices is not None else 0,
        shared_devices=int(devices.filter(devices.shared).count().execute()) if devices is not None else 0,
        countries=countries,
        privacy=privacy_manifest(study),
    )


def _iso(value: Any) -> str | None:
    if value is None or value != value:  # None or NaT
        return None
    return str(value)[:19]
