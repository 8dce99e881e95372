"""Import a study manifest: users, devices, user-device links and address leases.

Semantics (docs/inputs/manifest.md):
* a manifest file is one import, idempotent by its SHA-256: the same file again adds nothing;
* a manifest is additive: a new version adds the users, devices, links and leases that the
  study does not hold yet. An entry that repeats an existing one is ignored; an entry that
  gives a different value for a field that is set on both sides is a conflict, and the whole
  manifest is rejected (nothing is loaded), naming the file, the line and the field;
* ids are stable: existing ids never change, new ones continue after the largest id, in the
  order of the manifest;
* devices.shared is derived from the links (more than one user) and recomputed after each import;
* a device without an explicit link belongs to the user named by its login prefix
  (`alice.laptop` -> `alice`), as in the original study; with dotted usernames, the longest
  registered one (`o.brien.laptop` -> `o.brien`).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext, ingest
from ucnstudy.sources.manifest_read import (
    Device,
    Lease,
    Link,
    ManifestRecords,
    Network,
    User,
    read_manifest,
)
from ucnstudy.store import ImportResult, Study

KIND = "manifest"


@dataclass
class StudyState:
    """What the study already holds, keyed the way the manifest names things."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # username -> row
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # login -> row
    links: set[tuple[int, int]] = field(default_factory=set)  # (user_id, device_id)
    leases: list[Lease] = field(default_factory=list)
    # ids of the users and devices of replaced imports: kept if the new version names them again
    reserved: dict[str, dict[str, int]] = field(default_factory=lambda: {"users": {}, "devices": {}})
    networks: list[Network] = field(default_factory=list)

    @classmethod
    def of(cls, study: Study, replacing: tuple[int, ...] = ()) -> StudyState:
        """What the study holds, without the rows of the imports being replaced."""
        state = cls()
        for row in _rows(study, "users"):
            if row.get("import_id") in replacing:
                state.reserved["users"][row["username"]] = int(row["id"])
            else:
                state.users[row["username"]] = row
        for row in _rows(study, "devices"):
            if row.get("import_id") in replacing:
                state.reserved["devices"][row["login"]] = int(row["id"])
            else:
                state.devices[row["login"]] = row
        state.links = {(int(r["user_id"]), int(r["device_id"])) for r in _rows(study, "user_devices")
                       if r.get("import_id") not in replacing}
        login_of = {int(r["id"]): login for login, r in state.devices.items()}
        for r in _rows(study, "device_addresses"):
            if r.get("import_id") in replacing:
                continue
            login = login_of.get(int(r["devid"]), f"device id {r['devid']}")
            state.leases.append(Lease(login, r["address"], r["valid_from"], r["valid_to"], None))
        for r in _rows(study, "networks"):
            if r.get("import_id") in replacing:
                continue
            login = login_of.get(int(r["devid"]), f"device id {r['devid']}")
            state.networks.append(Network(login, r["network_type"], r["access_type"], r["name"],
                                          r["valid_from"], r["valid_to"], None))
        return state


def _rows(study: Study, name: str) -> list[dict[str, Any]]:
    df = study.table(name).execute()
    return [{k: _plain(v) for k, v in row.items()} for row in df.to_dict("records")]


def _plain(value: Any) -> Any:
    """A pandas cell as a plain Python value; every missing marker (NaN, NaT, NA) is None."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value


def manifest_parser(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
    """The ingest parser: read, validate, merge with the study, yield only what is new."""
    records = read_manifest(path)
    plan = plan_import(path, records, StudyState.of(ctx.study, ctx.replacing))
    ctx.advance(len(records.users) + len(records.devices) + len(records.links) + len(records.leases)
                + len(records.networks))
    yield from plan.tables()


@dataclass
class ImportPlan:
    users: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, int]] = field(default_factory=list)
    leases: list[dict[str, Any]] = field(default_factory=list)
    networks: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[str, pa.Table]]:
        for name, rows in (("users", self.users), ("devices", self.devices),
                           ("user_devices", self.links), ("device_addresses", self.leases),
                           ("networks", self.networks)):
            if rows:
                yield name, pa.Table.from_pylist(rows)


def plan_import(path: str, records: ManifestRecords, state: StudyState) -> ImportPlan:
    """The rows to add; InputError on any conflict, unknown name or overlapping lease."""
    plan = ImportPlan()
    user_ids = _merge_users(path, records.users, state, plan)
    device_ids = _merge_devices(path, records.devices, state, plan)
    links = list(records.links)
    linked = {link.login for link in links}
    for device in records.devices:
        if device.login not in linked and device.login not in state.devices:
            links.append(Link(login_owner(device.login, user_ids), device.login, device.line))
    _merge_links(path, links, user_ids, device_ids, state, plan)
    _merge_leases(path, records.leases, device_ids, state, plan)
    _merge_networks(path, records.networks, device_ids, state, plan)
    users_per_device = defaultdict(set)
    for uid, did in state.links | {(r["user_id"], r["device_id"]) for r in plan.links}:
        users_per_device[did].add(uid)
    for row in plan.devices:
        row["shared"] = len(users_per_device[row["id"]]) > 1
    return plan


def login_owner(login: str, usernames: Iterable[str]) -> str:
    """The user a device login names: the longest username the login starts with, then a dot
    (`o.brien.laptop` -> `o.brien` when that user exists), else the text before the first dot."""
    owners = [u for u in usernames if login.startswith(f"{u}.")]
    return max(owners, key=len) if owners else login.split(".", 1)[0]


def _conflict(path: str, what: str, line: int | None, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Every field the new entry gives must equal the existing value (entries are immutable)."""
    for key, value in new.items():
        if value is not None and old.get(key) != value:
            raise InputError(path, f"{what} redefines {key}: {old.get(key)!r} in the study or earlier "
                                   f"entry, {value!r} here (a manifest may only add)", line=line)


def _merge_users(path: str, users: list[User], state: StudyState, plan: ImportPlan) -> dict[str, int]:
    ids = {name: int(row["id"]) for name, row in state.users.items()}
    known = dict(state.users)
    reserved = state.reserved["users"]
    next_id = max([*ids.values(), *reserved.values()], default=0) + 1
    for u in users:
        row = {"username": u.username, "familyname": u.familyname, "starttime": u.starttime,
               "country": u.country, "timezone": u.timezone}
        if u.username in known:
            given = {k: v for k, v in row.items() if k != "timezone" or u.timezone_given}
            _conflict(path, f"user {u.username!r}", u.line, known[u.username], given)
            continue
        row["id"] = ids[u.username] = reserved.get(u.username, next_id)
        next_id += u.username not in reserved
        known[u.username] = row
        plan.users.append(row)
    return ids


def _merge_devices(path: str, devices: list[Device], state: StudyState, plan: ImportPlan
                   ) -> dict[str, int]:
    ids = {login: int(row["id"]) for login, row in state.devices.items()}
    known = dict(state.devices)
    reserved = state.reserved["devices"]
    next_id = max([*ids.values(), *reserved.values()], default=0) + 1
    for d in devices:
        row = {"login": d.login, "name": d.name, "platform": d.platform, "devtype": d.devtype, "os": d.os}
        if d.login in known:
            _conflict(path, f"device {d.login!r}", d.line, known[d.login], row)
            continue
        row["id"] = ids[d.login] = reserved.get(d.login, next_id)
        next_id += d.login not in reserved
        known[d.login] = row
        plan.devices.append(row)
    return ids


def _merge_links(path: str, links: list[Link], user_ids: dict[str, int], device_ids: dict[str, int],
                 state: StudyState, plan: ImportPlan) -> None:
    seen = set(state.links)
    for link in links:
        if link.username not in user_ids:
            raise InputError(path, f"link of device {link.login!r} names unknown user {link.username!r}",
                             line=link.line)
        if link.login not in device_ids:
            raise InputError(path, f"link of user {link.username!r} names unknown login {link.login!r}",
                             line=link.line)
        key = (user_ids[link.username], device_ids[link.login])
        if key not in seen:
            seen.add(key)
            plan.links.append({"user_id": key[0], "device_id": key[1]})


def _merge_leases(path: str, leases: list[Lease], device_ids: dict[str, int], state: StudyState,
                  plan: ImportPlan) -> None:
    by_address: dict[str, list[Lease]] = defaultdict(list)
    for lease in state.leases:
        by_address[lease.address].append(lease)
    for lease in leases:
        if lease.login not in device_ids:
            raise InputError(path, f"lease of {lease.address} names unknown login {lease.login!r}",
                             line=lease.line)
        if _same_lease_known(lease, by_address[lease.address]):
            continue
        for other in by_address[lease.address]:
            if _overlap(lease, other):
                where = f"line {other.line}" if other.line else "the study"
                raise InputError(path, f"lease of {lease.address} for {lease.login!r} overlaps its lease "
                                       f"for {other.login!r} ({where}): one address, one device at a time",
                                 line=lease.line)
        by_address[lease.address].append(lease)
        plan.leases.append({"devid": device_ids[lease.login], "address": lease.address,
                            "valid_from": lease.valid_from, "valid_to": lease.valid_to})


def _merge_networks(path: str, networks: list[Network], device_ids: dict[str, int],
                    state: StudyState, plan: ImportPlan) -> None:
    """Declared networks: a repeat is ignored; two different ones of a device may not overlap."""
    known = list(state.networks)
    for net in networks:
        if net.login not in device_ids:
            raise InputError(path, f"network names unknown login {net.login!r}", line=net.line)
        fields = (net.login, net.network_type, net.access_type, net.name, net.valid_from, net.valid_to)
        same = [o for o in known if (o.login, o.network_type, o.access_type, o.name, o.valid_from,
                                     o.valid_to) == fields]
        if same:
            continue
        for other in known:
            if other.login == net.login and _overlap(net, other):
                where = f"line {other.line}" if other.line else "the study"
                raise InputError(path, f"network of {net.login!r} overlaps its network declared in "
                                       f"{where}: one declared network per device at a time",
                                 line=net.line)
        known.append(net)
        plan.networks.append({"devid": device_ids[net.login], "valid_from": net.valid_from,
                              "valid_to": net.valid_to, "network_type": net.network_type,
                              "access_type": net.access_type, "name": net.name})


def _same_lease_known(lease: Lease, known: list[Lease]) -> bool:
    return any((o.login, o.valid_from, o.valid_to) == (lease.login, lease.valid_from, lease.valid_to)
               for o in known)


def _overlap(a: Lease | Network, b: Lease | Network) -> bool:
    """Half-open [from, to) intervals; None means unbounded on that side."""
    lo, hi = datetime.min, datetime.max
    return (a.valid_from or lo) < (b.valid_to or hi) and (b.valid_from or lo) < (a.valid_to or hi)


def refresh_shared(study: Study) -> None:
    """devices.shared := more than one linked user (one UPDATE per device whose flag changes)."""
    devices = study.table("devices").execute()
    links = study.table("user_devices").execute()
    counts = links.groupby("device_id")["user_id"].nunique().to_dict()
    changes = [(bool(counts.get(int(r.id), 0) > 1), int(r.id)) for r in devices.itertuples()
               if r.shared is None or pd.isna(r.shared) or bool(r.shared) != (counts.get(int(r.id), 0) > 1)]
    if not changes:
        return
    with study.engine.transaction() as writer:
        for shared, devid in changes:
            writer.fetchone("UPDATE devices SET shared = ? WHERE id = ? RETURNING id", (shared, devid))


def import_manifest(study: Study, path: str | os.PathLike[str], *,
                    on_progress: Callable[[int], None] | None = None) -> list[ImportResult]:
    """Import one manifest file (see the module doc); returns the ImportResult list."""
    return ingest(study, KIND, [path], manifest_parser, on_progress=on_progress, after_load=refresh_shared)
