"""ucn import hostview: synthetic HostView databases (the agent's schema), zip form, bad input."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import with_manifest
from hostview_samples import build_hostview_db, ms, zip_db
from ucnstudy.cli import main
from ucnstudy.errors import InputError
from ucnstudy.sources.base import ingest
from ucnstudy.sources.flowid import flowid
from ucnstudy.sources.hostview import KIND, hostview_parser

MANIFEST = """\
users: [{username: alice, country: uk}]
devices:
  - {login: alice.laptop, platform: windows-laptop, addresses: [192.168.1.10]}
"""
T0 = datetime(2015, 5, 13, 10, 0, 0)
DEV, WEB = "192.168.1.10", "93.184.216.34"


def at(seconds: float) -> int:
    return ms(T0 + timedelta(seconds=seconds))


def sample_rows() -> dict[str, list[dict]]:
    act = [(0, 100, "Chrome.exe", 0, 0), (30, 100, "Chrome.exe", 0, 0), (60, 200, "WINWORD.EXE", 0, 0),
           (120, 200, "WINWORD.EXE", 0, 1), (150, 100, "Chrome.exe", 1, 0)]
    http = dict(httpverb="GET", httpverbparam="/index.html", httpstatuscode="200", httphost="Example.COM",
                referer="", contenttype="text/html; charset=UTF-8", contentlength="1256", protocol=6)
    return {
        "activity": [dict(user="alice", pid=p, name=n, description=n, fullscreen=f, idle=i, timestamp=at(s))
                     for s, p, n, f, i in act],
        "io": [dict(device=3, pid=100, name="chrome.exe", timestamp=at(10)),
               dict(device=1, pid=200, name="winword.exe", timestamp=at(70)),
               dict(device=2, pid=300, name="skype.exe", timestamp=at(90)),
               dict(device=7, pid=300, name="skype.exe", timestamp=at(91))],
        "procs": [dict(pid=p, name=n, memory=1 << 20, cpu=1.5, timestamp=at(s))
                  for s in (30, 90) for p, n in ((100, "chrome.exe"), (200, "winword.exe"))],
        "ports": [dict(pid=100, name="chrome.exe", protocol=6, srcip=DEV, destip=WEB, srcport=50000,
                       destport=80, state=5, timestamp=at(30)),
                  dict(pid=4, name="System", protocol=6, srcip="0.0.0.0", destip="0.0.0.0", srcport=135,
                       destport=0, state=2, timestamp=at(30)),
                  dict(pid=9, name="svchost.exe", protocol=17, srcip=DEV, destip="", srcport=5353,
                       destport=0, state=0, timestamp=at(30))],
        "http": [
            # written when the response headers ended: src is the server (bug 9 swapped it badly)
            {**http, "httphost": "Example.COM:80", "srcip": WEB, "destip": DEV, "srcport": 80,
             "destport": 50000, "timestamp": at(31)},
            {**http, "httpverb": "POST", "httpverbparam": "/api", "httphost": "bad host!",
             "httpstatuscode": "0", "contentlength": "", "srcip": DEV, "destip": "10.1.1.1",
             "srcport": 50001, "destport": 8080, "timestamp": at(32)},
            {**http, "srcip": "10.0.0.5", "destip": DEV, "srcport": 5000, "destport": 6000,
             "timestamp": at(33)},
            {**http, "timestamp": -2177452800000},
            {**http, "httpverb": "G@T", "timestamp": at(35)},
        ],
        "session": [dict(event="start", timestamp=at(0)), dict(event="stop", timestamp=at(200))],
    }


@pytest.fixture
def study(duck, tmp_path: Path):
    return with_manifest(duck, tmp_path, MANIFEST)


@pytest.fixture
def both(any_study, tmp_path: Path):
    """The same test on DuckDB and on PostgreSQL."""
    return with_manifest(any_study, tmp_path, MANIFEST)


def load(study, *paths, strict: bool = False):
    return ingest(study, KIND, [str(p) for p in paths], hostview_parser("alice.laptop"), strict=strict)


def table(study, name: str, order: list[str]) -> list[dict]:
    df = study.table(name).order_by(order).execute()
    return df.astype(object).where(df.notna(), None).to_dict("records")


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_hostview_tables_map_to_canonical_tables(both, tmp_path: Path) -> None:
    db = build_hostview_db(tmp_path / "stats_1431511200.db", sample_rows())
    [result] = load(both, db)
    assert result.rows == {"gt_foreground": 4, "gt_io": 3, "runningapps": 4, "sockets": 1, "httpreqs": 3}
    fg = [(r["starttime"], r["endtime"], r["appname"], r["fullscreen"], r["idle"])
          for r in table(both, "gt_foreground", ["starttime"])]
    assert fg == [(t(0), t(60), "chrome.exe", False, False), (t(60), t(120), "winword.exe", False, False),
                  (t(120), t(150), "winword.exe", False, True),
                  (t(150), t(200), "chrome.exe", True, False)]  # the session stop ends the last one
    io = [(r["ts"], r["io_device"], r["appname"]) for r in table(both, "gt_io", ["ts"])]
    assert io == [(t(10), "mouse", "chrome.exe"), (t(70), "keyboard", "winword.exe"),
                  (t(90), "microphone", "skype.exe")]  # HostView codes: 2 microphone, 3 mouse (bug 24)
    apps = [(r["ts"], r["pid"], r["is_foreground"], r["is_fullscreen"], r["has_io"])
            for r in table(both, "runningapps", ["ts", "pid"])]
    assert apps == [(t(30), 100, True, False, True), (t(30), 200, False, False, False),
                    (t(90), 100, False, False, False), (t(90), 200, True, False, True)]
    [sock] = table(both, "sockets", ["ts"])
    assert (sock["srcip"], sock["dstip"], sock["srcport"], sock["dstport"], sock["appname"]) == (
        DEV, WEB, 50000, 80, "chrome.exe")
    assert sock["flowid"] == flowid(DEV, WEB, 6, 50000, 80)
    assert any("table io rowid 4: unknown io device code 7" in w for w in result.warnings)
    assert any("table http rowid 4: implausible timestamp" in w for w in result.warnings)
    assert any("table http rowid 5: httpverb 'G@T'" in w for w in result.warnings)


def test_http_rows_are_oriented_from_the_device(study, tmp_path: Path) -> None:
    load(study, build_hostview_db(tmp_path / "stats.db", sample_rows()))
    reqs = table(study, "httpreqs", ["ts"])
    got = [(r["srcip"], r["srcport"], r["dstip"], r["dstport"]) for r in reqs]
    assert got == [(DEV, 50000, WEB, 80), (DEV, 50001, "10.1.1.1", 8080), (DEV, 6000, "10.0.0.5", 5000)]
    first, second = reqs[0], reqs[1]
    assert first["flowid"] == flowid(DEV, WEB, 6, 50000, 80)
    assert (first["source"], first["req_method"], first["req_url"], first["req_url_host"]) == (
        "hostview", "GET", "http://example.com:80/index.html", "example.com")
    assert (first["res_status_code"], first["res_size"], first["res_mimetype"]) == (200, 1256, "text/html")
    assert (second["req_url"], second["res_status_code"], second["res_size"]) == (
        "http://10.1.1.1/api", None, None)  # invalid Host -> server address; status 0 -> unknown


def test_zip_upload_loads_the_same_rows_and_reimport_is_skipped(study, duck, tmp_path: Path) -> None:
    db = build_hostview_db(tmp_path / "stats_1431511200.db", sample_rows())
    archive = zip_db(db, tmp_path / "stats_1431511200.db.zip")
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    [result] = load(study, archive)
    assert result.rows == {"gt_foreground": 4, "gt_io": 3, "runningapps": 4, "sockets": 1, "httpreqs": 3}
    member = f"{archive}: 1431500000000/stats_1431511200.db: table io rowid 4"
    assert any(w.startswith(member) for w in result.warnings)
    [again] = load(study, archive)
    assert again.skipped and study.table("httpreqs").count().execute() == 3
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest  # opened read-only
    assert not list(tmp_path.glob("*-journal")) and not list(tmp_path.glob("*-wal"))


def test_strict_makes_a_malformed_row_fatal_and_loads_nothing(study, tmp_path: Path) -> None:
    db = build_hostview_db(tmp_path / "stats.db", sample_rows())
    with pytest.raises(InputError, match=r"stats\.db: table io rowid 4: unknown io device code 7"):
        load(study, db, strict=True)
    assert study.table("gt_foreground").count().execute() == 0


def test_missing_tables_and_columns_are_tolerated(study, tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE io(device INTEGER, pid INTEGER, timestamp INT8)")  # no name column
    con.execute("INSERT INTO io VALUES (1, 5, ?)", (at(1),))
    con.commit()
    con.close()
    [result] = load(study, path)
    assert result.rows == {"gt_io": 1}
    assert table(study, "gt_io", ["ts"])[0]["appname"] == "unknown"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "not a SQLite database"),
    (b"PK\x03\x04broken", "cannot read the zip archive|not a SQLite database"),
    (b"SQLite format 3\x00" + b"\x00" * 200, "damaged SQLite database"),
])
def test_unreadable_files_name_the_file(study, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "stats.db"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load(study, path)
    assert str(path) in str(info.value)


def test_cli_hostview_import(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "s.duckdb")
    (tmp_path / "m.yaml").write_text(MANIFEST)
    assert main(["--db", db, "import", "manifest", str(tmp_path / "m.yaml")]) == 0
    stats = build_hostview_db(tmp_path / "stats.db", sample_rows())
    assert main(["--db", db, "import", "hostview", "--device", "alice.laptop", str(stats)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "added 4 gt_foreground, 3 gt_io, 4 runningapps, 1 sockets, 3 httpreqs" in out
    from ucnstudy import open_study

    with open_study(db, read_only=True) as study:  # enrichment ran after the import
        domains = study.table("httpreqs").order_by("ts").execute()["req_url_domain"].tolist()
    assert domains[0] == "example.com"
    other = sample_rows()
    other["procs"].append(dict(pid=1, name="x", memory=1, cpu=0.0, timestamp=at(99)))  # new content
    assert main(["--db", db, "import", "hostview", "--device", "alice.laptop", "--strict",
                 str(build_hostview_db(tmp_path / "s2.db", other))]) == 2
    assert "table io rowid 4: unknown io device code 7" in " ".join(capsys.readouterr().err.split())


_VALUES = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True),
                    st.text(max_size=12), st.binary(max_size=6),
                    st.sampled_from([at(5), "80", "0.0.0.0", "", "GET", "2"]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_values_in_every_column_never_crash(study, tmp_path: Path, data) -> None:
    rows = sample_rows()
    for items in rows.values():
        for row in items:
            for col in row:
                if data.draw(st.integers(0, 9)) == 0:
                    row[col] = data.draw(_VALUES)
    path = tmp_path / f"fuzz-{uuid.uuid4().hex}.db"
    build_hostview_db(path, rows)
    try:
        load(study, path)
    except InputError as exc:
        assert str(path) in str(exc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_and_random_bytes_never_crash(study, tmp_path: Path, data) -> None:
    seed = tmp_path / "seed.db"
    if not seed.exists():
        build_hostview_db(seed, sample_rows())
    raw = bytearray(seed.read_bytes()) if data.draw(st.booleans()) else bytearray(data.draw(st.binary()))
    for _ in range(data.draw(st.integers(0, 20)) if raw else 0):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))] if data.draw(st.booleans()) else raw
    path = tmp_path / f"fuzz-{uuid.uuid4().hex}.db"
    path.write_bytes(bytes(raw))
    try:
        load(study, path)
    except InputError as exc:
        assert str(path) in str(exc)
