"""user-summary, select-users, traffic-by-port and user-agents against plain-Python sums."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest

from analyses_builders import Builder, at
from analyses_reference import devices_of, local, zone_of
from ucnstudy.analyses.select_users import SelectUsersParams, parse_top, select_users
from ucnstudy.analyses.traffic_by_port import TrafficByPortParams, traffic_by_port
from ucnstudy.analyses.user_agents import UserAgentsParams, user_agents
from ucnstudy.analyses.user_summary import UserSummaryParams, user_summary
from ucnstudy.errors import StudyError

IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X) AppleWebKit/601.1.46 "
             "(KHTML, like Gecko) Version/9.0 Mobile/13B143 Safari/601.1")


def population() -> Builder:
    b = Builder()
    for name, country in (("ann", "fr"), ("bea", "fr"), ("cid", "uk"), ("dan", "uk"),
                          ("eve", "uk"), ("ghost", "fr")):
        b.user(name, country)
    b.device("ann.pc", "ann")
    b.device("ann.phone", "ann", platform="iphone", devtype="phone")
    b.device("bea.pc", "bea")
    b.device("fam.ipad", "cid", "dan", platform="ipad", devtype="tablet")
    b.device("dan.pc", "dan")
    b.device("eve.pc", "eve")
    b.device("old.pc", "eve", shared=None)  # NULL flag, one user: personal
    seconds = {"ann.pc": 500, "ann.phone": 60, "bea.pc": 40, "fam.ipad": 90, "dan.pc": 300,
               "eve.pc": 5, "old.pc": 1}
    for login, n in seconds.items():
        for s in range(n):
            b.add("devicetraffic", devid=b.dev(login), ts=at(s * 97 + b.dev(login) * 86400),
                  packets_in=s % 3, bytes_in=1000 * s, packets_out=1, bytes_out=7)
    for i, login in enumerate(seconds):
        for k in range(i + 1):
            b.dns(login, at(k), f"h{k}.com")
        for k in range(2 * i):
            b.http(login, at(k), f"h{k}.com", ua=IPHONE_UA if k % 2 else None)
    return b


def reference_summary(b: Builder, include_shared: bool) -> pd.DataFrame:
    counted = devices_of(b.rows, include_shared)
    every = devices_of(b.rows, True)
    personal = devices_of(b.rows, False)
    rows = []
    for u in b.rows["users"]:
        name = u["username"]
        ids = counted[name]
        dt = [r for r in b.rows["devicetraffic"] if r["devid"] in ids]
        stamps = [r["ts"] for r in dt]
        days = (max(stamps) - min(stamps)).total_seconds() / 86400 if stamps else 0.0
        seen = [r["ts"] for t in ("devicetraffic", "dnsreqs", "httpreqs") for r in b.rows[t]
                if r["devid"] in ids]
        observed = len({local(ts, zone_of(u)).date() for ts in seen})
        rows.append({
            "username": name, "country": u["country"],
            "devices_personal": len(personal[name]),
            "devices_shared": len(every[name] - personal[name]),
            "total_days": days, "active_min": len(dt) / 60,
            "packets_in": sum(r["packets_in"] for r in dt),
            "packets_out": sum(r["packets_out"] for r in dt),
            "mib_in": sum(r["bytes_in"] for r in dt) / 2**20,
            "mib_out": sum(r["bytes_out"] for r in dt) / 2**20,
            "dns": sum(r["devid"] in ids for r in b.rows["dnsreqs"]),
            "http": sum(r["devid"] in ids for r in b.rows["httpreqs"]),
            "observed_days": observed,
        })
        for column in ("active_min", "mib_in", "mib_out", "dns", "http"):
            rows[-1][f"{column}_per_day"] = rows[-1][column] / observed if observed else 0.0
    return pd.DataFrame(rows).sort_values("username").reset_index(drop=True)


@pytest.mark.parametrize("include_shared", [False, True])
def test_user_summary(duck, include_shared):
    b = population()
    b.load(duck)
    got = user_summary(duck, UserSummaryParams(include_shared))
    want = reference_summary(b, include_shared)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    ghost = got.set_index("username").loc["ghost"]
    assert ghost["total_days"] == 0 and ghost["dns"] == 0 and ghost["devices_personal"] == 0


def test_select_users_top_per_country_and_min_days(duck):
    b = population()
    b.load(duck)
    summary = reference_summary(b, False)
    got = select_users(duck, SelectUsersParams(top="fr=1,uk=2"))
    assert list(got.columns[:3]) == ["country", "rank", "username"]
    for country, n in (("fr", 1), ("uk", 2)):
        want = (summary[summary.country == country]
                .sort_values(["active_min", "username"], ascending=[False, True]).head(n))
        assert list(got[got.country == country].username) == list(want.username)
        assert list(got[got.country == country]["rank"]) == list(range(1, n + 1))
    by_dns = select_users(duck, SelectUsersParams(metric="dns", top="1", min_days=0.5))
    kept = summary[summary.total_days >= 0.5]
    want = kept.sort_values(["dns", "username"], ascending=[False, True]).groupby("country").head(1)
    assert sorted(by_dns.username) == sorted(want.username)
    assert parse_top("fr=7,uk=10") == ({"fr": 7, "uk": 10}, 10)
    with pytest.raises(StudyError, match="COUNTRY=N"):
        parse_top("fr=seven")


def test_traffic_by_port_shares_threshold_and_top(duck):
    b = population()
    flows = [(443, "https", 900, 100, 8, 4), (443, "https", 50, 50, 1, 1), (80, "http", 300, 20, 9, 9),
             (53, "domain", 40, 30, 5, 5), (5353, None, 10, 10, 3, 3), (8080, None, 10, 0, 6, 6)]
    for port, service, bi, bo, pi, po in flows:
        b.add("deviceapptraffic", devid=1, ts=at(0), dstport=port, service=service,
              bytes_in=bi, bytes_out=bo, packets_in=pi, packets_out=po)
    b.load(duck)
    sums: dict = defaultdict(lambda: [0, 0, 0, 0])
    for port, service, *vals in flows:
        sums[(port, service)] = [a + v for a, v in zip(sums[(port, service)], vals, strict=True)]
    total_bytes = sum(f[2] + f[3] for f in flows)
    total_packets = sum(f[4] + f[5] for f in flows)
    want = sorted(((k, v) for k, v in sums.items() if v[2] + v[3] > 10),
                  key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0][0]))
    got = traffic_by_port(duck, TrafficByPortParams())
    assert list(zip(got.dstport, got.bytes, strict=True)) == [(k[0], v[0] + v[1]) for k, v in want]
    assert got.bytes_pct.iloc[0] == pytest.approx(100 * 1100 / total_bytes)
    assert got.packets_pct.iloc[0] == pytest.approx(100 * 14 / total_packets)
    assert 5353 not in set(got.dstport)  # 6 packets <= 10
    top = traffic_by_port(duck, TrafficByPortParams(top=2))
    assert list(top.dstport) == [443, 80]


def test_user_agents_null_is_a_row(duck):
    b = population()
    b.http("ann.pc", at(1), "x.com", ua="curl/7.43.0")
    b.http("ann.pc", at(2), "x.com", ua="some-unknown-agent")
    b.load(duck)
    uas = [r["req_ua"] for r in b.rows["httpreqs"]]
    got = user_agents(duck, UserAgentsParams())
    assert got.requests.sum() == len(uas)
    null = got[got.req_ua.isna()].iloc[0]
    assert null.requests == sum(u is None for u in uas) and pd.isna(null.browser)
    iphone = got[got.req_ua == IPHONE_UA].iloc[0]
    assert (iphone.browser, iphone.os, iphone.device) == ("Mobile Safari", "iOS", "iPhone")
    assert got[got.req_ua == "some-unknown-agent"].browser.iloc[0] == "Other"
    assert got.requests_pct.sum() == pytest.approx(100.0)
    by_os = user_agents(duck, UserAgentsParams(by="os"))
    assert list(by_os.columns) == ["os", "requests", "requests_pct"]
    assert by_os.set_index("os").loc["iOS", "requests"] == uas.count(IPHONE_UA)
    assert len(user_agents(duck, UserAgentsParams(top=1))) == 1
