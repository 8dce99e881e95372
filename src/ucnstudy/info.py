"""A study at a glance: row counts and time spans per table, users and devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ucnstudy.privacy.manifest import privacy_manifest
from ucnstudy.schema import TABLES, TIME_COLUMNS
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


def _iso(value: object) -> str | None:
    if value is None or value != value:  # None or NaT
        return None
    return str(value)[:19]
