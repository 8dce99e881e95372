"""activity-qoe and its context rules against the plain-Python reference (tests/qoe_reference.py):
one hand-made study with a case per rule, and random small studies (hypothesis)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyses_builders import Builder, at, scratch
from qoe_reference import activity_qoe as reference
from ucnstudy import open_study
from ucnstudy.analyses.activity_qoe import COLUMNS, ActivityQoeParams, activity_qoe
from ucnstudy.analyses.context import NetworkRules
from ucnstudy.cli import main

TCP = {"proto": 6, "retrans_pkts_out": 1, "retrans_pkts_in": 4, "packets_out": 40,
       "packets_in": 100, "bytes_out": 4000, "bytes_in": 120_000, "rtt_access_mean_ms": 8.0,
       "rtt_internet_mean_ms": 20.0, "bulk_bytes_in": 100_000, "bulk_secs_in": 0.5,
       "bulk_bytes_out": 0, "bulk_secs_out": 0.0}


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def events(b: Builder, login: str, start: float, n: int = 4, step: float = 50.0,
           domain: str = "example.com", **http: Any) -> None:
    for i in range(n):
        b.dns(login, at(start + i * step), f"www.{domain}", query_domain=domain)
    if http:
        b.http(login, at(start + 1), f"www.{domain}", req_url_domain=domain, **http)


def net(b: Builder, login: str, lo: float, hi: float, asname: str | None, ip: str | None,
        **extra: Any) -> None:
    b.add("locations", devid=b.dev(login), source="vpn", entertime=at(lo), exittime=at(hi),
          net_asname=asname, net_public_ip=ip, **extra)


def rule_study() -> Builder:
    """One activity per rule of the network type, with places, moves, multitasking and QoS."""
    b = Builder()
    b.user("alice", "fr")
    b.user("bob", "uk")
    b.device("alice.laptop", "alice")
    b.device("alice.phone", "alice", platform="iphone", devtype="phone")
    b.device("alice.pc", "alice", platform="windows-pc", devtype="pc")
    b.device("bob.phone", "bob", platform="android-phone", devtype="phone")
    net(b, "alice.laptop", -40_000, -1000, "PROXAD Free SAS,FR", "78.2.0.1")  # the home address
    # A1 at home (home-address), with the phone in parallel and TCP flows
    net(b, "alice.laptop", -500, 400, "PROXAD Free SAS,FR", "78.2.0.1")
    events(b, "alice.laptop", 0)
    events(b, "alice.phone", 10, n=2, domain="news.fr")
    b.add("flows", devid=b.dev("alice.laptop"), startts=at(5), endts=at(60), **TCP)
    b.add("flows", devid=b.dev("alice.laptop"), startts=at(100), endts=at(160),
          **(TCP | {"rtt_access_mean_ms": None, "hs_rtt_access_ms": 12.0, "retrans_pkts_in": 0}))
    # A2 at work (AS name), two user agents
    net(b, "alice.laptop", 3500, 4000, "FR-RENATER Reseau National", "193.5.1.1")
    events(b, "alice.laptop", 3600, ua="Firefox")
    b.http("alice.laptop", at(3700), "www.example.com", ua="Safari", req_url_domain="example.com")
    # A3 on the phone on a cellular network, leaving home, moving (a 5 km hop in 150 s)
    net(b, "alice.phone", 7000, 8000, "FREEM Free Mobile SAS,FR", "37.16.4.4")
    b.add("locations", devid=b.dev("alice.phone"), source="moves", entertime=at(6000),
          exittime=at(7250), loc_name="home", name="home, Paris", lat=48.85, lon=2.35, kind="place")
    b.add("locations", devid=b.dev("alice.phone"), source="moves", entertime=at(7400),
          exittime=at(9000), loc_name="gym", name="gym, Paris", lat=48.89, lon=2.38, kind="place")
    events(b, "alice.phone", 7200)
    # A4 on the desktop in a café: public network, fixed access
    net(b, "alice.pc", 10_700, 11_300, "Cafe Wifi SARL", "81.1.1.1")
    events(b, "alice.pc", 10_800)
    # A5: a location labelled work wins over its AS name
    net(b, "alice.laptop", 14_300, 14_800, "PROXAD Free SAS,FR", "78.2.9.9", loc_name="Work")
    events(b, "alice.laptop", 14_400)
    # A6: a declared network wins over a derived (cellular) one
    net(b, "alice.laptop", 17_900, 18_400, "FREEM Free Mobile SAS,FR", "37.16.5.5")
    b.add("networks", devid=b.dev("alice.laptop"), valid_from=at(17_950), valid_to=None,
          network_type="home", access_type="fixed", name="my-lan")
    events(b, "alice.laptop", 18_000)
    # A7: bob, nothing known, a UDP flow only
    events(b, "bob.phone", 0)
    b.add("flows", devid=b.dev("bob.phone"), startts=at(20), endts=at(21), proto=17,
          packets_in=1, packets_out=1, bytes_in=100, bytes_out=60)
    return b


def same(got: Any, want: Any) -> bool:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None or (isinstance(got, float) and math.isnan(got)) or got is pd.NA
    if isinstance(want, float):
        return math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-12)
    return got == want


def assert_matches(df: pd.DataFrame, want: list[dict[str, Any]]) -> None:
    assert list(df.columns) == COLUMNS
    assert len(df) == len(want)
    rows = {(r["username"], r["start"]): r for r in df.to_dict("records")}
    for w in want:
        got = rows[(w["username"], iso(w["start"]))]
        for col, value in w.items():
            if col in ("start", "end"):
                value = iso(value)
            assert same(got[col], value), (w["username"], iso(w["start"]), col, got[col], value)


@pytest.fixture(scope="module")
def rules_frame() -> tuple[Builder, pd.DataFrame]:
    b = rule_study()
    study = b.load(_fresh())
    return b, activity_qoe(study, ActivityQoeParams())


def _fresh() -> Any:
    study = open_study(":memory:")
    study.create_schema()
    return study


def test_every_rule_gives_its_network_type_and_source(rules_frame: tuple[Builder, pd.DataFrame]) -> None:
    _, df = rules_frame
    cols = df[["username", "network_type", "access_type", "network_source", "network"]]
    got = [tuple(r) for r in cols.astype(object).where(cols.notna(), None).itertuples(index=False)]
    assert got == [
        ("alice", "home", "wifi", "home-address", "PROXAD Free SAS,FR"),
        ("alice", "work", "wifi", "asname", "FR-RENATER Reseau National"),
        ("alice", "cellular", "cellular", "asname", "FREEM Free Mobile SAS,FR"),
        ("alice", "public", "fixed", "asname", "Cafe Wifi SARL"),
        ("alice", "work", "wifi", "label", "PROXAD Free SAS,FR"),
        ("alice", "home", "fixed", "declared", "my-lan"),
        ("bob", "unknown", "unknown", "none", None),
    ]
    assert df["moving"].tolist()[:3] == [False, False, True]  # a 5 km hop in 150 s
    assert df.loc[2, "place"] == "home"  # the labelled place overlapping most
    assert df.loc[0, "parallel_devices"] == 2 and bool(df.loc[0, "multitasking"])
    assert df.loc[1, "user_agents"] == 2 and bool(df.loc[1, "multitasking"])
    assert df.loc[0, "rtt_access_ms"] == 10.0  # median of 8 (samples) and 12 (handshake)
    assert df.loc[0, "retrans_rate_in"] == 4 / 200
    assert df.loc[0, "bulk_mbps_in"] == 2 * 100_000 * 8 / (2 * 0.5 * 1e6)
    assert pd.isna(df.loc[6, "rtt_access_ms"]) and df.loc[6, "flows"] == 1
    assert df.loc[6, "tcp_packets"] == 0 and pd.isna(df.loc[6, "moving"])


def test_hand_made_study_equals_the_reference(rules_frame: tuple[Builder, pd.DataFrame]) -> None:
    b, df = rules_frame
    assert_matches(df, reference(b.rows))


def test_rules_can_be_overridden_from_the_command_line(tmp_path: Any,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.duckdb"
    with open_study(db) as study:
        study.create_schema()
        rule_study().load(study)
    assert main(["--db", str(db), "analyze", "activity-qoe", "--cellular-as", "nothing-matches",
                 "--format", "csv"]) == 0
    out = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert out["network_type"].tolist()[2] == "public"  # FREEM is no longer cellular
    rows = rule_study().rows
    want = reference(rows, rules=NetworkRules(cellular_as="nothing-matches"))
    assert [w["network_type"] for w in want] == out["network_type"].tolist()


NETS = ["PROXAD Free SAS,FR", "FREEM Free Mobile SAS,FR", "JANET Jisc Services", "Hotel Wifi", None]


@st.composite
def random_study(draw: st.DrawFn) -> Builder:
    b = Builder()
    b.user("ann", "fr")
    b.user("ben", "uk")
    b.device("ann.mac", "ann")
    b.device("ann.phone", "ann", platform="iphone", devtype="phone")
    b.device("ben.pc", "ben", platform="windows-pc", devtype="pc")
    logins = ["ann.mac", "ann.phone", "ben.pc"]
    spread = draw(st.sampled_from([1, 10]))  # 10: over 11 hours, where hosts recur hour after hour
    times = [t * spread for t in draw(st.lists(st.integers(0, 4000), min_size=3, max_size=30,
                                               unique=True))]
    for t in times:
        login = draw(st.sampled_from(logins))
        b.dns(login, at(t), f"h{t % 4}.com", query_domain=f"d{t % 3}.com")
        if draw(st.booleans()):
            b.http(login, at(t + 0.5), f"h{t % 4}.com", ua=draw(st.sampled_from(["A", "B", None])))
    for i in range(draw(st.integers(0, 6))):
        lo = draw(st.integers(-2000, 4000)) + i * 0.001  # no two rows start at the same instant
        b.add("locations", devid=b.dev(draw(st.sampled_from(logins))), source="vpn",
              entertime=at(lo), exittime=at(lo + draw(st.integers(1, 3000))),
              net_asname=draw(st.sampled_from(NETS)), net_public_ip=draw(st.sampled_from(
                  ["1.1.1.1", "2.2.2.2", None])), loc_name=draw(st.sampled_from([None, "home", "gym"])),
              lat=draw(st.sampled_from([None, 48.0, 48.05])), lon=2.0,
              kind=draw(st.sampled_from([None, "place", "move"])))
    for _ in range(draw(st.integers(0, 5))):
        t = draw(st.integers(0, 4000)) * spread
        tcp = draw(st.booleans())
        b.add("flows", devid=b.dev(draw(st.sampled_from(logins))), startts=at(t), endts=at(t + 5),
              **(TCP | {"retrans_pkts_in": draw(st.integers(0, 9)),
                        "rtt_access_mean_ms": draw(st.sampled_from([None, 3.0, 40.0]))}
                 if tcp else {"proto": 17, "packets_in": 1, "packets_out": 1}))
    return b


# Each example compiles and runs the whole query (a few seconds on a shared machine): few examples.
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_study(), st.sampled_from([120.0, 600.0]), st.sampled_from([0.0, 0.3, 0.6]),
       st.sampled_from([1, 3]), st.sampled_from([60.0, 1800.0]))
def test_random_studies_equal_the_reference(b: Builder, gap: float, share: float, hours: int,
                                            window: float) -> None:
    p = ActivityQoeParams(gap=gap, recurring_share=share, recurring_hours=hours,
                          net_window=window)
    df = activity_qoe(b.reload(scratch()), p)
    assert_matches(df, reference(b.rows, gap=gap, share=share, min_hours=hours, net_window=window))


def test_a_poll_no_longer_chains_activities_and_the_network_qos_is_around_the_start() -> None:
    """A host polled every 5 minutes for 10 hours bridges two browsing activities into one; the
    recurring-domain rule drops it. net_* come from the TCP flows within net_window of the start,
    the activity's own flows or not."""
    b = Builder()
    b.user("ann", "fr")
    b.device("ann.phone", "ann", platform="iphone", devtype="phone")
    for i in range(120):
        b.dns("ann.phone", at(i * 300.0 + 7), "poll.example.net")
    events(b, "ann.phone", 7200, domain="news.fr", step=60.0)
    events(b, "ann.phone", 21600, domain="shop.fr", step=60.0)
    flow = TCP | {"packets_in": 300, "packets_out": 100, "retrans_pkts_in": 30, "retrans_pkts_out": 10}
    b.add("flows", devid=b.dev("ann.phone"), startts=at(7200 - 1000), endts=at(7200 - 990), **flow)
    b.add("flows", devid=b.dev("ann.phone"), startts=at(7200 + 5), endts=at(7200 + 60), **TCP)
    b.add("flows", devid=b.dev("ann.phone"), startts=at(7200 + 4000), endts=at(7200 + 4010), **TCP)
    with open_study(":memory:") as study:
        study.create_schema()
        study = b.load(study)
        chained = activity_qoe(study, ActivityQoeParams(recurring_share=0.0))
        split = activity_qoe(study, ActivityQoeParams())
    assert len(chained) == 1 and chained.loc[0, "duration_s"] > 35_000
    assert split["duration_s"].tolist() == [180.0, 180.0]
    first = split.iloc[0]
    assert first["net_tcp_packets"] == 400 + 140  # the flow 1000 s before and its own flow
    assert first["net_retrans_rate"] == pytest.approx((40 + 5) / 540)
    assert first["tcp_packets"] == 140 and first["retrans_rate_in"] == pytest.approx(4 / 100)
    assert split.iloc[1]["net_tcp_packets"] == 0 and pd.isna(split.iloc[1]["net_retrans_rate"])
    assert_matches(split, reference(b.rows))
