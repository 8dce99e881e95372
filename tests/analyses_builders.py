"""Hand-made studies for the analysis tests: users, devices and events in a few lines."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from ucnstudy.schema import TABLES
from ucnstudy.store import Study, open_study

T0 = datetime(2015, 3, 27, 12, 0, 0)  # a Friday; Europe/Paris switches to CEST on Sunday 29
_loads = itertools.count()


def at(seconds: float, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


@dataclass
class Builder:
    """Accumulate rows per canonical table, then load them all in one import."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    _ids: dict[str, int] = field(default_factory=dict)

    def user(self, username: str, country: str = "fr", timezone: str | None = None) -> int:
        uid = len(self.rows["users"]) + 1
        self.rows["users"].append({"id": uid, "username": username, "familyname": username,
                                   "country": country, "timezone": timezone,
                                   "starttime": datetime(2015, 1, 1)})
        self._ids[username] = uid
        return uid

    def device(self, login: str, *owners: str, platform: str = "macbook",
               devtype: str = "laptop", shared: bool | None = None) -> int:
        did = len(self.rows["devices"]) + 1
        if shared is None:
            shared = len(owners) > 1
        self.rows["devices"].append({"id": did, "login": login, "name": login.split(".")[-1],
                                     "platform": platform, "devtype": devtype, "os": "darwin",
                                     "shared": shared})
        for owner in owners:
            self.rows["user_devices"].append({"user_id": self._ids[owner], "device_id": did})
        self._ids[login] = did
        return did

    def dev(self, login: str) -> int:
        return self._ids[login]

    def dns(self, login: str, ts: datetime, query: str, *, user_req: bool | None = True,
            ttl: list[int] | None = None, **extra: Any) -> None:
        self.rows["dnsreqs"].append({"devid": self.dev(login), "ts": ts, "query": query,
                                     "user_req": user_req, "ans_ttl": ttl, **extra})

    def http(self, login: str, ts: datetime, host: str, *, user_url: bool | None = True,
             ua: str | None = None, **extra: Any) -> None:
        self.rows["httpreqs"].append({"devid": self.dev(login), "ts": ts, "req_url_host": host,
                                      "req_url": f"http://{host}/", "user_url": user_url,
                                      "req_ua": ua, "source": "test", **extra})

    def add(self, table: str, **values: Any) -> None:
        self.rows[table].append(values)

    def reload(self, study: Study) -> Study:
        """Empty every table of a scratch study, then load: cheaper than a new study per
        hypothesis example."""
        for name in TABLES:
            study.con.raw_sql(f'DELETE FROM "{name}"')
        return self.load(study)

    def load(self, study: Study) -> Study:
        items = []
        for name, rows in self.rows.items():
            if not rows:
                continue
            schema = TABLES[name].arrow_schema()
            cols = {c: [r.get(c) for r in rows] for c in {k for r in rows for k in r}}
            fields = [schema.field(c) for c in schema.names if c in cols]
            items.append((name, pa.table({f.name: cols[f.name] for f in fields},
                                         schema=pa.schema(fields))))
        study.import_rows("test", f"builder-{next(_loads)}", items, sha256=f"{next(_loads):064x}")
        return study


_SCRATCH: list[Study] = []


def scratch() -> Study:
    """One in-memory study reused by hypothesis examples (Builder.reload empties it first)."""
    if not _SCRATCH:
        _SCRATCH.append(open_study(":memory:"))
        _SCRATCH[0].create_schema()
    return _SCRATCH[0]
