"""`remove_user`: a participant withdraws; nothing of them remains, shared devices keep their rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle_scenario import START, arrow, build, fault_after, snapshot
from ucnstudy import Study
from ucnstudy.errors import StudyError
from ucnstudy.schema import TABLES
from ucnstudy.store.lifecycle import list_imports
from ucnstudy.store.withdraw import remove_user

PHONE, TABLET = 3, 4  # bob.phone (personal), smith.tablet (bob and carol)


def with_captures(study: Study, folder: Path) -> None:
    """The scenario plus a capture per device (traffic, a place, IO), named after its login."""
    build(study, folder)
    for devid, login in enumerate(("alice.phone", "alice.laptop", "bob.phone", "smith.tablet"), 1):
        traffic = arrow([{"devid": devid, "ts": START, "packets_in": devid}], "devicetraffic")
        rows = [("devicetraffic", traffic),
                ("locations", arrow([{"devid": devid, "entertime": START, "exittime": START,
                                      "name": f"home of {login}"}], "locations")),
                ("gt_io", arrow([{"devid": devid, "ts": START, "io_device": "mouse"}], "gt_io"))]
        study.import_rows("pcap", str(folder / f"{login}.pcap"), rows, sha256=f"capture-{login}")


def test_nothing_of_the_user_remains(any_study: Study, tmp_path: Path) -> None:
    with_captures(any_study, tmp_path)
    before = snapshot(any_study, exclude=())
    want = {name: sum(r.get("devid") == PHONE for r in rows) for name, rows in before.items()}
    want.update(users=1, devices=1, user_devices=2)  # bob, his phone, his two links
    result = remove_user(any_study, "Bob")
    assert result.rows == {n: k for n, k in want.items() if k and n not in ("imports", "schema_versions")}
    assert result.devices == ["bob.phone"] and result.shared_kept == ["smith.tablet"]
    assert result.imports_removed == [6]  # bob.phone.pcap (1 manifest, 2-3 squid, 4-7 pcap)
    after = snapshot(any_study, exclude=())
    for name, rows in after.items():  # scan every cell of every table
        for row in rows:
            for column, value in row.items():
                assert not (isinstance(value, str) and "bob" in value), (name, column, value)
                if column in ("devid", "device_id") or (name == "devices" and column == "id"):
                    assert value != PHONE, (name, row)
                if column == "user_id" or (name == "users" and column == "id"):
                    assert value != 2, (name, row)
    for name, rows in before.items():  # everything else is untouched, shared tablet included
        if name in ("imports", "user_devices", "devices"):
            continue
        kept = [r for r in rows if r.get("devid") != PHONE and r.get("id") != 2]
        assert after[name] == kept, name
    assert any(r["devid"] == TABLET for r in after["devicetraffic"])
    tablet = next(r for r in after["devices"] if r["id"] == TABLET)
    assert tablet["shared"] is False  # carol alone uses it now
    assert [(r["user_id"], r["device_id"]) for r in after["user_devices"]] == [(1, 1), (1, 2), (3, 4)]


def test_withdrawal_is_atomic(any_study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_captures(any_study, tmp_path)
    before, imports = snapshot(any_study), list_imports(any_study).imports
    with fault_after(any_study, monkeypatch, statements=len(TABLES) // 2):
        remove_user(any_study, "bob")
    assert snapshot(any_study) == before and list_imports(any_study).imports == imports


def test_unknown_user(any_study: Study, tmp_path: Path) -> None:
    build(any_study, tmp_path)
    with pytest.raises(StudyError, match="no user 'dave' in this study"):
        remove_user(any_study, "dave")
