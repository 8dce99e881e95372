"""Networks declared in the manifest: validated, additive, and winning over the derived type."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from analyses_builders import at
from ucnstudy import open_study
from ucnstudy.analyses.activity_qoe import ActivityQoeParams, activity_qoe
from ucnstudy.errors import InputError
from ucnstudy.schema import TABLES
from ucnstudy.sources.manifest import import_manifest

MANIFEST = """\
users:
  - {username: alice, country: fr}
devices:
  - {login: alice.laptop, platform: macbook}
networks:
  - {login: alice.laptop, network_type: home, access_type: fixed, name: my-lan,
     valid_from: 2015-03-27T11:00:00Z, valid_to: 2015-03-27T13:00:00Z}
  - {login: alice.laptop, network_type: cellular, valid_from: 2015-03-28T00:00:00Z}
"""
CSV = """\
kind,username,country,login,platform,network_type,access_type,name,valid_from,valid_to
user,alice,fr,,,,,,,
device,,,alice.laptop,macbook,,,,,
network,,,alice.laptop,,work,wifi,lab,2015-03-27T11:00:00Z,
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture
def study():
    with open_study(":memory:") as s:
        s.create_schema()
        yield s


def test_declared_networks_are_loaded_once(study, tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", MANIFEST)
    import_manifest(study, path)
    again = tmp_path / "m2.yaml"
    again.write_text(MANIFEST + "\n")  # another file, same entries: nothing new
    import_manifest(study, again)
    rows = study.table("networks").order_by("valid_from").execute()
    assert rows["network_type"].tolist() == ["home", "cellular"]
    assert rows["access_type"].tolist()[0] == "fixed" and rows["access_type"].isna().tolist()[1]
    assert rows["name"].tolist()[0] == "my-lan" and rows["valid_to"].isna().tolist() == [False, True]


def test_csv_manifest_declares_networks(study, tmp_path: Path) -> None:
    import_manifest(study, write(tmp_path, "m.csv", CSV))
    rows = study.table("networks").execute()
    assert rows[["network_type", "access_type", "name"]].values.tolist() == [["work", "wifi", "lab"]]


@pytest.mark.parametrize(("entry", "message"), [
    ("{login: alice.laptop, network_type: moon}", "network_type 'moon' is not one of"),
    ("{login: alice.laptop, network_type: home, access_type: carrier-pigeon}", "access_type"),
    ("{login: bob.phone, network_type: home}", "unknown login 'bob.phone'"),
    ("{login: alice.laptop, network_type: home, valid_from: 2015-03-27T12:00:00Z}", "overlaps"),
    ("{login: alice.laptop}", "'network_type' is required"),
])
def test_bad_networks_are_refused_with_their_line(study, tmp_path: Path, entry: str, message: str) -> None:
    path = write(tmp_path, "bad.yaml", MANIFEST + f"  - {entry}\n")
    with pytest.raises(InputError, match=message) as info:
        import_manifest(study, path)
    assert info.value.line == 9
    assert study.table("networks").count().execute() == 0  # nothing loaded


def test_a_declared_network_wins_in_activity_qoe(study, tmp_path: Path) -> None:
    import_manifest(study, write(tmp_path, "m.yaml", MANIFEST))
    devid = int(study.table("devices").execute()["id"][0])
    rows = [("dnsreqs", {"devid": devid, "ts": at(i * 60), "query": "a.com", "user_req": True})
            for i in range(4)]
    rows.append(("locations", {"devid": devid, "source": "vpn", "entertime": at(-600),
                               "exittime": at(900), "net_asname": "FREEM Free Mobile SAS,FR"}))
    tables = []
    for name in ("dnsreqs", "locations"):
        mine = [r for n, r in rows if n == name]
        schema = TABLES[name].arrow_schema()
        fields = [schema.field(c) for c in schema.names if c in mine[0]]
        tables.append((name, pa.Table.from_pylist(mine, schema=pa.schema(fields))))
    study.import_rows("test", "events", tables, sha256="e" * 64)
    [row] = activity_qoe(study, ActivityQoeParams()).to_dict("records")
    assert (row["network_type"], row["access_type"], row["network_source"], row["network"]) == (
        "home", "fixed", "declared", "my-lan")
