"""A participant withdraws: the user, their personal devices and every row of those devices go.

Shared devices (linked to other users too) keep their rows for the other users; only the link
to the withdrawn user goes. Imports left without any row are removed from `imports` (their
paths may name the user). One engine transaction: a failure leaves the study as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ucnstudy.errors import StudyError
from ucnstudy.schema import IMPORT_ID, TABLES
from ucnstudy.store import imports
from ucnstudy.store.engine import Writer, quote
from ucnstudy.store.study import Study

# Which column of a table names the user or one of their devices.
_DEVICE_COLUMNS = {"devices": "id", "user_devices": "device_id"}


@dataclass
class Withdrawal:
    username: str
    user_id: int
    devices: list[str] = field(default_factory=list)  # personal devices removed (logins)
    shared_kept: list[str] = field(default_factory=list)  # shared devices kept for the others
    rows: dict[str, int] = field(default_factory=dict)  # rows removed per table
    imports_removed: list[int] = field(default_factory=list)  # imports left without rows


def remove_user(study: Study, username: str) -> Withdrawal:
    """Withdraw `username` from the study (see the module doc); what was removed."""
    study._writable()
    name = username.strip().lower()
    tables = imports.traced_tables(study.engine.existing_tables())
    with study.engine.transaction() as writer:
        found = writer.fetchone("SELECT id FROM users WHERE username = ?", (name,))
        if not found:
            raise StudyError(f"no user {name!r} in this study; `ucn analyze user-summary` lists them")
        result = Withdrawal(name, int(found[0]))
        personal, shared = _devices_of(writer, result.user_id)
        logins = dict(writer.fetchall("SELECT id, login FROM devices"))
        result.devices = sorted(str(logins[d]) for d in personal if d in logins)
        result.shared_kept = sorted(str(logins[d]) for d in shared if d in logins)
        touched = _import_ids(writer, tables, result.user_id, personal)
        result.rows = _delete(writer, tables, result.user_id, personal)
        _refresh_shared(writer, shared)
        result.imports_removed = _drop_empty_imports(writer, tables, touched)
    return result


def _devices_of(writer: Writer, user_id: int) -> tuple[list[int], list[int]]:
    """(personal, shared) device ids of the user: shared ones are linked to another user too."""
    rows = writer.fetchall(
        "SELECT d.device_id, count(DISTINCT o.user_id) FROM user_devices AS d "
        "JOIN user_devices AS o ON o.device_id = d.device_id WHERE d.user_id = ? GROUP BY 1",
        (user_id,))
    personal = sorted(int(d) for d, users in rows if users == 1)
    shared = sorted(int(d) for d, users in rows if users > 1)
    return personal, shared


def _conditions(name: str, user_id: int, devices: list[int]) -> tuple[str, tuple[int, ...]]:
    """WHERE clause selecting the user's rows of table `name` (nothing when it has none)."""
    marks = ", ".join("?" for _ in devices)
    column = _DEVICE_COLUMNS.get(name, "devid")
    if name == "users":
        return "id = ?", (user_id,)
    if name == "user_devices":
        where, params = "user_id = ?", (user_id,)
        return (f"{where} OR device_id IN ({marks})", (*params, *devices)) if devices else (where, params)
    if column not in TABLES[name].column_names or not devices:
        return "", ()
    return f"{quote(column)} IN ({marks})", tuple(devices)


def _import_ids(writer: Writer, tables: list[str], user_id: int, devices: list[int]) -> set[int]:
    ids: set[int] = set()
    for name in tables:
        where, params = _conditions(name, user_id, devices)
        if where:
            rows = writer.fetchall(f"SELECT DISTINCT {IMPORT_ID.name} FROM {quote(name)} WHERE {where}",
                                   params)
            ids.update(int(r[0]) for r in rows if r[0] is not None)
    return ids


def _delete(writer: Writer, tables: list[str], user_id: int, devices: list[int]) -> dict[str, int]:
    removed = {}
    for name in tables:
        where, params = _conditions(name, user_id, devices)
        if where and (n := writer.execute(f"DELETE FROM {quote(name)} WHERE {where}", params)) > 0:
            removed[name] = n
    return removed


def _refresh_shared(writer: Writer, devices: list[int]) -> None:
    """A shared device left with one user is no longer shared."""
    for device in devices:
        found = writer.fetchone("SELECT count(DISTINCT user_id) FROM user_devices WHERE device_id = ?",
                                (device,))
        writer.execute("UPDATE devices SET shared = ? WHERE id = ?",
                       (bool(found and found[0] > 1), device))


def _drop_empty_imports(writer: Writer, tables: list[str], ids: set[int]) -> list[int]:
    empty = []
    for i in sorted(ids):
        left = sum(int((writer.fetchone(
            f"SELECT count(*) FROM {quote(name)} WHERE {IMPORT_ID.name} = ?", (i,)) or (0,))[0])
            for name in tables)
        if not left:
            empty.append(i)
    imports.delete_imports(writer, empty, [])
    return empty
