"""Local time (DST-correct offsets), inter-event, heatmap and timeline against plain Python."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from analyses_builders import Builder
from analyses_reference import events as user_events_ref
from analyses_reference import local, zone_of
from ucnstudy.analyses.common import frame
from ucnstudy.analyses.heatmap import HeatmapParams, heatmap
from ucnstudy.analyses.inter_event import InterEventParams, inter_event
from ucnstudy.analyses.localtime import exact_truncation, local_time, zone_segments
from ucnstudy.analyses.timeline import TimelineParams, timeline
from ucnstudy.errors import StudyError

# Europe/Paris and Europe/London switch to summer time at 01:00 UTC on Sunday 29 March 2015
SWITCH = datetime(2015, 3, 29, 1, 0, 0)
ZONES = ("Europe/Paris", "Australia/Sydney", "America/New_York", "Asia/Kolkata", "UTC")


def test_offsets_match_zoneinfo_at_random_instants(duck):
    b = Builder()
    rng = random.Random(7)
    for i, tz in enumerate(ZONES):
        b.user(f"u{i}", country="xx", timezone=tz)
        b.device(f"u{i}.pc", f"u{i}")
        stamps = [datetime(1971, 1, 1) + timedelta(seconds=rng.randrange(0, 4_000_000_000))
                  for _ in range(150)]
        stamps += [SWITCH + timedelta(seconds=s) for s in (-1, 0, 1)]  # around a transition
        for ts in stamps:
            b.dns(f"u{i}.pc", ts, "a.com")
    b.load(duck)
    dns = duck.table("dnsreqs")
    users = duck.table("users").select("username", devid=duck.table("users").id)
    rows = frame(local_time(duck, dns.join(users, "devid").select("username", "ts")))
    assert len(rows) == len(b.rows["dnsreqs"])
    zone = {u["username"]: u["timezone"] for u in b.rows["users"]}
    for r in rows.itertuples(index=False):
        assert r.local_ts.to_pydatetime() == local(r.ts.to_pydatetime(), zone[r.username])


def test_country_fallback_and_unknown_zone(duck):
    assert zone_segments("Europe/London")[0][2] == 3600  # 1970: British Standard Time
    with pytest.raises(StudyError, match="Mars/Olympus"):
        zone_segments("Mars/Olympus")
    assert zone_of({"country": "uk"}) == "Europe/London"


def dst_study(duck) -> Builder:
    b = Builder()
    b.user("paris", country="fr", timezone="Europe/Paris")
    b.user("london", country="uk")            # no timezone: from the country
    b.user("nobody", country="fr")            # no events at all
    b.device("paris.mac", "paris")
    b.device("london.pc", "london")
    for login in ("paris.mac", "london.pc"):
        for minutes in (-90, -30, 0, 30, 90, 150):
            b.dns(login, SWITCH + timedelta(minutes=minutes), "a.com")
        b.http(login, SWITCH + timedelta(minutes=31), "b.com")
        b.http(login, SWITCH + timedelta(minutes=40), "c.com", user_url=False)
        for s in range(400):
            b.add("devicetraffic", devid=b.dev(login), ts=SWITCH + timedelta(seconds=s * 20),
                  packets_in=1, bytes_in=10)
        for minutes in (-30, 30):
            b.add("deviceapptraffic", devid=b.dev(login), ts=SWITCH + timedelta(minutes=minutes),
                  dstport=443, bytes_in=1000 if minutes < 0 else 3000, bytes_out=0,
                  packets_in=1, packets_out=0)
    b.load(duck)
    return b


def test_inter_event_ecdf_reaches_one(duck):
    b = dst_study(duck)
    got = inter_event(duck, InterEventParams())
    for user, evs in user_events_ref(b.rows).items():
        gaps = Counter((b2[0] - a[0]).total_seconds() for a, b2 in pairwise(evs))
        mine = got[got.username == user]
        assert dict(zip(mine.iat_s, mine["count"], strict=True)) == gaps
        if gaps:
            n = sum(gaps.values())
            running = [sum(c for v, c in gaps.items() if v <= x) / n for x in mine.iat_s]
            assert list(mine.ecdf) == pytest.approx(running)
            assert mine.ecdf.iloc[-1] == 1.0
    assert "nobody" not in set(got.username)


def test_heatmap_by_hour_in_local_time_across_dst(duck):
    b = dst_study(duck)
    got = heatmap(duck, HeatmapParams(by="hour", of="events"))
    assert list(dict.fromkeys(got.username)) == ["london", "paris", "nobody"]  # by total bytes
    zones = {u["username"]: zone_of(u) for u in b.rows["users"]}
    for user, evs in user_events_ref(b.rows).items():
        hours = Counter(local(e[0], zones[user]).hour for e in evs)
        mine = got[(got.username == user) & (got.days == "weekend")]
        assert len(mine) == 24
        assert {int(r.bin): r.value for r in mine.itertuples() if r.value} == hours
        if hours:
            assert mine.share_pct.sum() == pytest.approx(100.0)
    paris = got[(got.username == "paris") & (got.days == "all") & (got.value > 0)]
    assert list(paris.bin) == [0, 1, 3, 4, 5]  # 02:00-03:00 does not exist on that Sunday
    assert got[got.days == "weekday"].value.sum() == 0


def test_heatmap_by_week_of_bytes(duck):
    dst_study(duck)
    got = heatmap(duck, HeatmapParams())
    paris = got[got.username == "paris"].set_index("label")
    assert len(paris) == 84 and paris.loc["Sun 00:00", "value"] == 1000
    assert paris.loc["Sun 02:00", "value"] == 3000  # 01:30 UTC is 03:30 CEST
    assert paris.loc["Sun 02:00", "share_pct"] == 75.0 and paris.total_bytes.iloc[0] == 4000
    london = got[got.username == "london"].set_index("label")
    assert london.loc["Sun 00:00", "value"] == 1000 and london.loc["Sun 02:00", "value"] == 3000
    with pytest.raises(StudyError, match="divide"):
        heatmap(duck, HeatmapParams(bin=7))


# whole-hour offsets; +05:30 and +05:45; Monrovia was -00:44:30 until May 1972
ODD_ZONES = ("Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu", "Africa/Monrovia")


def test_truncation_before_the_local_conversion_only_when_exact():
    assert exact_truncation(["Europe/Paris", "Europe/London", "UTC"], 120) == "h"
    assert exact_truncation(["Europe/Paris"], 30) == "m"  # bins finer than an hour
    assert exact_truncation(["Europe/Paris", "Asia/Kolkata"], 120) == "m"
    assert exact_truncation(["Asia/Kathmandu"], 60) == "m"
    assert exact_truncation(["Europe/Paris", "Africa/Monrovia"], 120) is None


@pytest.mark.parametrize("width", [20, 45, 60, 120])
@pytest.mark.parametrize("zones", [ODD_ZONES[:1], ODD_ZONES[:3], ODD_ZONES])
def test_heatmap_bins_match_plain_python_in_every_zone(duck, zones, width):
    """Whatever the zones (pre-aggregated per UTC hour, per minute, or not at all), every bin
    holds the bytes whose local time falls in it."""
    b = Builder()
    rng = random.Random(width)
    expected: dict[str, Counter] = {}
    for i, tz in enumerate(zones):
        user = f"u{i}"
        b.user(user, country="xx", timezone=tz)
        b.device(f"{user}.pc", user)
        expected[user] = Counter()
        for _ in range(300):
            base = datetime(1972, 1, 1) if rng.random() < 0.5 else SWITCH - timedelta(days=30)
            ts = base + timedelta(seconds=rng.randrange(0, 200 * 86400))
            size = rng.randrange(1, 10_000)
            b.add("deviceapptraffic", devid=b.dev(f"{user}.pc"), ts=ts, dstport=443,
                  bytes_in=size, bytes_out=0, packets_in=1, packets_out=0)
            at = local(ts, tz)
            expected[user][(at.weekday() * 1440 + at.hour * 60 + at.minute) // width] += size
    b.load(duck)
    got = heatmap(duck, HeatmapParams(bin=width))
    for user, bins in expected.items():
        mine = got[got.username == user]
        assert len(mine) == 7 * 1440 // width
        assert {int(r.bin): r.value for r in mine.itertuples() if r.value} == bins
        assert mine.total_bytes.iloc[0] == sum(bins.values())


def test_timeline_counts_per_local_minute(duck):
    b = dst_study(duck)
    got = timeline(duck, TimelineParams())
    assert set(got.username) == {"paris", "london"}
    zones = {u["username"]: zone_of(u) for u in b.rows["users"]}
    login = {d["id"]: d["login"] for d in b.rows["devices"]}
    owner = {"paris.mac": "paris", "london.pc": "london"}
    expected: Counter = Counter()
    for table, kind in (("devicetraffic", "traffic"), ("dnsreqs", "dns"), ("httpreqs", "http")):
        for r in b.rows[table]:
            name = login[r["devid"]]
            loc = local(r["ts"], zones[owner[name]])
            expected[(owner[name], name, kind, loc.date(), loc.hour, loc.minute)] += 1
            if kind == "http" and r["user_url"]:
                expected[(owner[name], name, "user_http", loc.date(), loc.hour, loc.minute)] += 1
    mine = Counter({(r.username, r.login, r.kind, r.local_date, r.hour, r.minute): r.events
                    for r in got.itertuples()})
    assert mine == expected
    assert timeline(duck, TimelineParams(min_seconds=401)).empty
