"""Absurd timestamps (issue 15, point 4): every importer keeps records outside the plausible
window out, counts them and names them by file and line or packet; --strict makes them fatal."""

from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path

import pytest

from pcap_helpers import add_device, udp, write_pcapng
from test_import_squid import add_devices as add_squid_devices
from ucnstudy import Study
from ucnstudy.errors import InputError, UcnError
from ucnstudy.sources.base import ingest
from ucnstudy.sources.manifest import import_manifest
from ucnstudy.sources.pcap import pcap_parser
from ucnstudy.sources.squid import parse_squid
from ucnstudy.sources.table_file import table_parser
from ucnstudy.sources.timewindow import time_window
from ucnstudy.sources.zeek import import_zeek

DEV = "10.0.0.2"
GOOD = 1_425_200_400  # 2015-03-01 09:00 UTC
ABSURD = {"1970 (ts 0)": 0, "2038 (0x80000000)": 0x80000000, "2106 (0xFFFFFFFF)": 0xFFFFFFFF}


def pcap(path: Path, seconds: list[int]) -> Path:
    """A classic pcap with exact 32-bit second fields (dpkt cannot write 0xFFFFFFFF)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, sec in enumerate(seconds):
        frame = udp(DEV, "8.8.8.8", 40000 + i, 53)
        out.append(struct.pack("<IIII", sec, 0, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


def device_packets(study: Study) -> int:
    t = study.table("devicetraffic")
    return int(t.packets_out.sum().execute() or 0)


def test_pcap_packets_with_absurd_times_are_reported_by_packet(duck: Study, tmp_path: Path) -> None:
    add_device(duck, "alice.laptop", leases=[(DEV, None, None)])
    parser = pcap_parser("alice.laptop")
    seconds = [GOOD, GOOD + 1, *ABSURD.values(), GOOD + 2]
    path = pcap(tmp_path / "clock.pcap", seconds)
    (result,) = ingest(duck, "pcap", [path], parser)
    assert device_packets(duck) == 3  # the three plausible packets, not one stored as 1970 or 2038
    ts = duck.table("devicetraffic").ts.execute().tolist()
    assert all(datetime(2015, 3, 1) <= t.to_pydatetime() < datetime(2015, 3, 2) for t in ts)
    [warning] = [w for w in result.warnings if "implausible time" in w]
    assert warning.startswith(f"{path}, packet 3: implausible time 1970-01-01 00:00:00: outside 1990-01-01")
    assert "3 packet(s) of this block" in warning
    strict = pcap(tmp_path / "strict.pcap", [GOOD, 0x80000000])
    with pytest.raises(InputError, match=r"strict.pcap, packet 2: implausible time 2038-01-19"):
        ingest(duck, "pcap", [strict], parser, strict=True)


def test_a_pcapng_all_ones_timestamp_is_implausible(duck: Study, tmp_path: Path) -> None:
    add_device(duck, "alice.laptop", leases=[(DEV, None, None)])
    frame = udp(DEV, "8.8.8.8", 40000, 53)
    path = write_pcapng(tmp_path / "ones.pcapng", [(GOOD * 10**9, frame), (2**64 - 1, frame)])
    (result,) = ingest(duck, "pcap", [path], pcap_parser("alice.laptop"))
    assert device_packets(duck) == 1
    assert any(w.startswith(f"{path}, packet 2: implausible time") for w in result.warnings)
    assert duck.table("devicetraffic").ts.min().execute().year == 2015  # never 1969-12-31


SQUID = ("{epoch}.000 12 10.0.0.7 TCP_MISS/200 512 GET http://example.com/ - "
         "DIRECT/93.184.216.34 text/html\n")


def test_squid_zeek_table_and_manifest_times_outside_the_window(duck: Study, tmp_path: Path) -> None:
    add_squid_devices(duck, [(1, "10.0.0.7", None, None), (2, DEV, None, None)])
    log = tmp_path / "access.log"
    log.write_text(SQUID.format(epoch=GOOD) + SQUID.format(epoch=4_102_444_800))  # 2100-01-01
    (result,) = ingest(duck, "squid", [log], parse_squid)
    assert result.rows == {"httpreqs": 1}
    assert any(w.startswith(f"{log}, line 2: implausible time 2100-01-01 00:00:00") for w in result.warnings)
    with pytest.raises(InputError, match="line 2: implausible time 2100"):
        copy = tmp_path / "copy.log"  # a new path: the known one would be skipped unparsed
        copy.write_bytes(log.read_bytes())
        ingest(duck, "squid", [copy], parse_squid, strict=True)

    conn = tmp_path / "conn.log"
    conn.write_text("#fields\tts\tid.orig_h\tid.resp_h\tproto\n"
                    f"{GOOD}.5\t{DEV}\t1.1.1.1\ttcp\n4102444800.0\t{DEV}\t1.1.1.1\ttcp\n")
    (zeek,) = import_zeek(duck, [conn], enrich=False)
    assert zeek.rows == {"flows": 1}
    assert [w.split(": ")[:2] for w in zeek.warnings] == [
        [f"{conn}, line 3", "implausible time 2100-01-01 00:00:00"]]
    assert time_window().outside_epoch(1e300).startswith("implausible time 1e+300 s since 1970")

    csv = tmp_path / "io.csv"
    csv.write_text("devid,ts,io_device\n1,2015-03-01 10:00:00,mouse\n1,1901-12-13 20:45:52,mouse\n")
    with pytest.raises(InputError, match=r"io.csv, row 2, column 'ts': implausible time 1901-12-13"):
        ingest(duck, "table", [csv], table_parser("gt_io"))

    manifest = tmp_path / "m.yaml"
    manifest.write_text("users:\n  - {username: a}\n  - {username: b, starttime: 2100-01-01T00:00:00Z}\n")
    with pytest.raises(InputError, match=r"m.yaml, line 3: user entry: starttime: implausible time 2100"):
        import_manifest(duck, str(manifest))
    assert duck.counts()["gt_io"] == 0 and duck.counts()["users"] == 0


def test_the_window_is_configurable(duck: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_squid_devices(duck, [(1, "10.0.0.7", None, None)])
    log = tmp_path / "access.log"
    log.write_text(SQUID.format(epoch=GOOD) + SQUID.format(epoch=GOOD + 400 * 86_400))  # 2016-04
    monkeypatch.setenv("UCN_TIME_WINDOW", "2015-01-01/2015-12-31")
    (result,) = ingest(duck, "squid", [log], parse_squid)
    assert result.rows == {"httpreqs": 1}
    assert any("line 2: implausible time 2016-04-04 09:00:00: outside 2015-01-01 to 2015-12-31" in w
               for w in result.warnings)
    monkeypatch.setenv("UCN_TIME_WINDOW", "2015-06-01/")
    assert time_window().lo == datetime(2015, 6, 1) and time_window().hi > datetime(2026, 1, 1)
    for bad in ("2015", "2016-01-01/2015-01-01", "soon/later"):
        monkeypatch.setenv("UCN_TIME_WINDOW", bad)
        with pytest.raises(UcnError, match="UCN_TIME_WINDOW"):
            time_window()


STUDY = """\
users:
  - {username: alice, country: fr, starttime: 2015-03-01T09:00:00Z}
  - {username: bob, country: fr}
devices:
  - login: alice.laptop
    platform: windows-laptop
    users: [alice]
    addresses: [{address: 10.0.0.7}, {address: 10.0.0.2}]
"""
RESET = 1_388_534_400  # 2014-01-01: a phone clock reset, plausible for 1990..now, not for this study


def test_the_window_narrows_to_the_earliest_user_starttime(
        duck: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(STUDY)
    import_manifest(duck, str(manifest))
    log = tmp_path / "access.log"
    early = GOOD - 20 * 86_400  # 2015-02-09: within the 30-day margin before the starttime
    log.write_text("".join(SQUID.format(epoch=t) for t in (GOOD, early, RESET)))
    (result,) = ingest(duck, "squid", [log], parse_squid)
    assert result.rows == {"httpreqs": 2}
    assert [w for w in result.warnings if "implausible" in w] == [
        f"{log}, line 3: implausible time 2014-01-01 00:00:00: outside 2015-01-30 09:00:00 to now "
        "(30 days before the earliest user starttime; UCN_TIME_WINDOW sets it)"]
    capture = pcap(tmp_path / "reset.pcap", [GOOD, RESET, GOOD + 1])
    (packets,) = ingest(duck, "pcap", [capture], pcap_parser("alice.laptop"))
    assert device_packets(duck) == 2
    assert any(w.startswith(f"{capture}, packet 2: implausible time 2014-01-01 00:00:00: outside 2015-01-30")
               for w in packets.warnings)
    monkeypatch.setenv("UCN_TIME_WINDOW", "2010-01-01/")  # an explicit window still wins
    copy = tmp_path / "copy.log"
    copy.write_text(SQUID.format(epoch=RESET))
    (explicit,) = ingest(duck, "squid", [copy], parse_squid)
    assert explicit.rows == {"httpreqs": 1} and not explicit.warnings


def test_an_earlier_starttime_widens_the_window_and_none_keeps_the_default(
        duck: Study, tmp_path: Path) -> None:
    no_start = tmp_path / "m0.yaml"
    no_start.write_text(STUDY.replace(", starttime: 2015-03-01T09:00:00Z", ""))
    import_manifest(duck, str(no_start))
    log = tmp_path / "access.log"
    log.write_text(SQUID.format(epoch=RESET))
    (result,) = ingest(duck, "squid", [log], parse_squid)  # no starttime: 1990 .. now
    assert result.rows == {"httpreqs": 1} and not result.warnings
    dave = tmp_path / "m1.yaml"
    dave.write_text("users:\n  - {username: dave, country: fr, starttime: 2015-03-01T00:00:00Z}\n")
    import_manifest(duck, str(dave))
    again = tmp_path / "again.log"
    again.write_text(SQUID.format(epoch=GOOD) + SQUID.format(epoch=RESET))
    (narrowed,) = ingest(duck, "squid", [again], parse_squid)
    assert narrowed.rows == {"httpreqs": 1} and "line 2: implausible time 2014" in narrowed.warnings[0]
    # a user who joined before everyone else is accepted: start times define the window
    carol = tmp_path / "m2.yaml"
    carol.write_text("users:\n  - {username: carol, country: fr, starttime: 2013-12-15T00:00:00Z}\n")
    import_manifest(duck, str(carol))
    later = tmp_path / "later.log"
    later.write_text(SQUID.format(epoch=RESET - 60 * 86_400) + SQUID.format(epoch=RESET))
    (widened,) = ingest(duck, "squid", [later], parse_squid)
    assert widened.rows == {"httpreqs": 1}
    assert [w.split(": ")[0] for w in widened.warnings] == [f"{later}, line 1"]
    assert "outside 2013-11-15 to now" in widened.warnings[0]


def test_import_table_checks_records_not_users_or_leases_against_the_study(
        duck: Study, tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(STUDY)
    import_manifest(duck, str(manifest))
    users = tmp_path / "users.csv"
    users.write_text("id,username,starttime\n9,erin,2014-01-01 00:00:00\n")  # joined earlier: accepted
    (result,) = ingest(duck, "table", [users], table_parser("users"))
    assert result.rows == {"users": 1}
    leases = tmp_path / "leases.csv"
    leases.write_text("devid,address,valid_from\n1,10.0.0.9,2010-06-01 00:00:00\n")
    (result,) = ingest(duck, "table", [leases], table_parser("device_addresses"))
    assert result.rows == {"device_addresses": 1}
    io = tmp_path / "io.csv"
    io.write_text("devid,ts,io_device\n1,2014-01-01 10:00:00,mouse\n1,2013-11-01 10:00:00,mouse\n")
    with pytest.raises(InputError, match=r"io.csv, row 2, column 'ts': implausible time 2013-11-01 "
                                         r"10:00:00: outside 2013-12-02 to now \(30 days before"):
        ingest(duck, "table", [io], table_parser("gt_io"))
