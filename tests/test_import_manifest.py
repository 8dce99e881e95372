"""ucn import manifest: formats, validation, additive re-import semantics, stable ids, shared flag."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ucnstudy.cli import main
from ucnstudy.errors import InputError
from ucnstudy.sources.manifest import import_manifest
from ucnstudy.sources.manifest_read import read_manifest

BASE = """\
users:
  - {username: Alice, familyname: smith, country: fr, starttime: 2015-03-01T10:00:00+01:00}
  - {username: bob, familyname: smith, country: uk}
  - {username: carol, familyname: jones, country: de, timezone: America/Chicago}
devices:
  - login: alice.laptop
    name: laptop
    platform: windows-laptop
    users: [alice, bob]
    addresses:
      - {address: 10.8.0.2, valid_from: 2015-03-01T00:00:00Z, valid_to: 2015-04-01T00:00:00Z}
  - {login: bob.phone, name: phone, platform: iphone}
  - {login: carol.tablet, platform: android-tablet, devtype: tablet, os: android}
leases:
  - {login: bob.phone, address: 10.8.0.2, valid_from: 2015-04-01T00:00:00Z}
  - {login: carol.tablet, address: "fd00::7"}
"""

CSV = """\
kind,username,familyname,country,timezone,starttime,login,name,platform,devtype,os,users,address,valid_from,valid_to
user,alice,smith,fr,,2015-03-01T09:00:00Z,,,,,,,,,
user,bob,smith,uk,,,,,,,,,,,
user,carol,jones,de,America/Chicago,,,,,,,,,,
device,,,,,,alice.laptop,laptop,windows-laptop,,,alice bob,,,
device,,,,,,bob.phone,phone,iphone,,,,,,
device,,,,,,carol.tablet,,android-tablet,tablet,android,,,,
lease,,,,,,alice.laptop,,,,,,10.8.0.2,2015-03-01T00:00:00Z,2015-04-01T00:00:00Z
lease,,,,,,bob.phone,,,,,,10.8.0.2,2015-04-01T00:00:00Z,
lease,,,,,,carol.tablet,,,,,,fd00::7,,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def table(study, name: str, order: str) -> list[dict]:
    return study.table(name).order_by(order).execute().to_dict("records")


def test_manifest_loads_users_devices_links_leases(any_study, tmp_path: Path) -> None:
    [result] = import_manifest(any_study, str(write(tmp_path, "m.yaml", BASE)))
    assert result.rows == {"users": 3, "devices": 3, "user_devices": 4, "device_addresses": 3}
    users = table(any_study, "users", "id")
    assert [(u["id"], u["username"], u["timezone"]) for u in users] == [
        (1, "alice", "Europe/Paris"), (2, "bob", "Europe/London"), (3, "carol", "America/Chicago")]
    assert str(users[0]["starttime"]) == "2015-03-01 09:00:00"  # +01:00 converted to UTC
    devices = table(any_study, "devices", "id")
    assert [(d["login"], d["devtype"], d["os"], d["shared"]) for d in devices] == [
        ("alice.laptop", "laptop", "windows", True), ("bob.phone", "phone", "ios", False),
        ("carol.tablet", "tablet", "android", False)]
    links = {(r["user_id"], r["device_id"]) for r in table(any_study, "user_devices", "device_id")}
    assert links == {(1, 1), (2, 1), (2, 2), (3, 3)}  # bob.phone -> bob by login prefix


def test_csv_manifest_is_equivalent_to_yaml(duck, tmp_path: Path) -> None:
    yaml_records = read_manifest(write(tmp_path, "m.yaml", BASE))
    csv_records = read_manifest(write(tmp_path, "m.csv", CSV))
    strip = lambda items: sorted(tuple(v for k, v in vars(i).items() if k != "line") for i in items)  # noqa: E731
    for part in ("users", "devices", "links", "leases"):
        assert strip(getattr(yaml_records, part)) == strip(getattr(csv_records, part)), part


def test_same_file_twice_is_skipped_and_extension_adds_only_new(any_study, tmp_path: Path) -> None:
    import_manifest(any_study, str(write(tmp_path, "v1.yaml", BASE)))
    [again] = import_manifest(any_study, str(write(tmp_path, "copy.yaml", BASE)))
    assert again.skipped
    v2 = BASE.replace("users:\n", "users:\n  - {username: dave, country: fr}\n", 1) + (
        "  - {login: dave.phone, address: 10.8.0.9}\n"
        "links:\n  - {username: carol, login: bob.phone}\n")
    v2 = v2.replace("devices:\n", "devices:\n  - {login: dave.phone, platform: android-phone}\n", 1)
    [result] = import_manifest(any_study, str(write(tmp_path, "v2.yaml", v2)))
    assert result.rows == {"users": 1, "devices": 1, "user_devices": 2, "device_addresses": 1}
    users = {u["username"]: u["id"] for u in table(any_study, "users", "id")}
    assert users == {"alice": 1, "bob": 2, "carol": 3, "dave": 4}  # existing ids unchanged
    devices = {d["login"]: (d["id"], d["shared"]) for d in table(any_study, "devices", "id")}
    assert devices == {"alice.laptop": (1, True), "bob.phone": (2, True),  # carol joined bob.phone
                       "carol.tablet": (3, False), "dave.phone": (4, False)}
    assert any_study.table("user_devices").count().execute() == 6


@pytest.mark.parametrize(("edit", "message"), [
    (("platform: iphone", "platform: blackberry"), "unknown platform 'blackberry'"),
    (("timezone: America/Chicago", "timezone: Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
    (("users: [alice, bob]", "users: [alice, zoe]"), "unknown user 'zoe'"),
    (("country: de", "country: deu"), "not a two-letter code"),
    (("devtype: tablet", "devtype: phone"), "contradicts platform"),
    (("address: \"fd00::7\"", "address: 10.8.0.300"), "not an IPv4 or IPv6 address"),
    (("valid_from: 2015-04-01T00:00:00Z}", "valid_from: 2015-03-15T00:00:00Z}"), "overlaps its lease"),
    (("starttime: 2015-03-01T10:00:00+01:00", "starttime: yesterday"), "not an ISO-8601 time"),
    (("timezone: America/Chicago", "tz: America/Chicago"), "unknown field\\(s\\) 'tz'"),
    (("valid_to: 2015-04-01T00:00:00Z}", "valid_until: 2015-04-01T00:00:00Z}"), "'valid_until'"),
])
def test_bad_values_are_rejected_naming_file_and_line(duck, tmp_path: Path, edit, message) -> None:
    text = BASE.replace(*edit)
    assert text != BASE
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(InputError, match=message) as info:
        import_manifest(duck, str(path))
    assert str(path) in str(info.value) and info.value.line is not None
    assert duck.table("users").count().execute() == 0  # nothing of a rejected manifest stays


def test_link_to_unknown_login_names_the_line(duck, tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", BASE + "links:\n  - {username: bob, login: bob.watch}\n")
    with pytest.raises(InputError, match=r"unknown login 'bob\.watch'") as info:
        import_manifest(duck, str(path))
    assert info.value.line == BASE.count("\n") + 2


def test_fields_left_empty_are_not_conflicts_but_new_values_are(any_study, tmp_path: Path) -> None:
    full = "users: [{username: eve, country: fr}]\ndevices: [{login: eve.pc, platform: windows-pc}]\n"
    import_manifest(any_study, str(write(tmp_path, "v1.yaml", full)))
    sparse = full.replace("{username: eve, country: fr}", "{username: eve}")
    [result] = import_manifest(any_study, str(write(tmp_path, "v2.yaml", sparse + "\n")))
    assert result.rows == {}  # eve exists; omitting her country (and derived time zone) changes nothing
    [user] = table(any_study, "users", "id")
    assert (user["username"], user["country"], user["timezone"]) == ("eve", "fr", "Europe/Paris")
    given = full.replace("{login: eve.pc,", "{login: eve.pc, name: tower,")
    with pytest.raises(InputError, match="redefines name: None in the study or earlier entry, 'tower'"):
        import_manifest(any_study, str(write(tmp_path, "v3.yaml", given)))


def test_conflicting_redefinition_is_rejected(duck, tmp_path: Path) -> None:
    import_manifest(duck, str(write(tmp_path, "v1.yaml", BASE)))
    v2 = BASE.replace("{login: bob.phone, name: phone, platform: iphone}",
                      "{login: bob.phone, name: phone, platform: android-phone}")
    with pytest.raises(InputError, match=r"device 'bob\.phone' redefines platform") as info:
        import_manifest(duck, str(write(tmp_path, "v2.yaml", v2)))
    changed = "  - {login: bob.phone, name: phone, platform: android-phone}"
    assert info.value.line == v2.splitlines().index(changed) + 1
    # a new lease overlapping an existing lease of another device is a conflict too
    v3 = BASE + "  - {login: carol.tablet, address: 10.8.0.2, valid_from: 2015-03-20T00:00:00Z}\n"
    with pytest.raises(InputError, match=r"overlaps its lease for 'alice\.laptop' \(the study\)"):
        import_manifest(duck, str(write(tmp_path, "v3.yaml", v3)))


@pytest.mark.parametrize(("text", "message"), [
    ("kind,username,shoe\nuser,x,42\n", "line 1: unknown column\\(s\\) 'shoe'"),
    ("kind,username\nuser,x,surplus\n", "line 2: more cells than header columns"),
    ("kind,username,login\nuser,x,x.pc\n", "line 2: user entry: unknown field\\(s\\) 'login'"),
    ("\ufeffkind,username\nmember,x\n", "line 2: kind 'member' is not user, device, link, lease or network"),
])
def test_csv_structure_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "m.csv", text)
    with pytest.raises(InputError, match=message):
        read_manifest(path)


def test_cli_reports_added_rows_and_errors(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "s.duckdb")
    assert main(["--db", db, "import", "manifest", str(write(tmp_path, "m.yaml", BASE))]) == 0
    out = " ".join(capsys.readouterr().out.split())  # Rich wraps long lines
    assert "added 3 users, 3 devices, 4 user_devices, 3 device_addresses" in out
    bad = write(tmp_path, "bad.csv", "username\nx\n")
    assert main(["--db", db, "import", "manifest", str(bad)]) == 2
    assert "needs a header with a 'kind' column" in " ".join(capsys.readouterr().err.split())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=300),
    st.integers(0, len(BASE) - 1).flatmap(
        lambda i: st.text(max_size=5).map(lambda t: (BASE[:i] + t + BASE[i + 1:]).encode())),
))
def test_random_and_mutated_manifests_never_crash(tmp_path: Path, data: bytes) -> None:
    for suffix in (".yaml", ".csv"):
        path = tmp_path / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            read_manifest(path)
        except InputError as exc:
            assert str(path) in str(exc)
