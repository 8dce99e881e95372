"""Observed days (participants come and go): user-summary per observed day and the heatmap per
observed week, against plain Python on a study with late joiners, holidays and a shared device."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from analyses_builders import Builder
from analyses_reference import devices_of, local, zone_of
from ucnstudy.analyses.heatmap import HeatmapParams, heatmap
from ucnstudy.analyses.observed import observed_days
from ucnstudy.analyses.user_summary import UserSummaryParams, user_summary

START = datetime(2015, 10, 20, 21, 30)  # late evening UTC: the local day differs from the UTC one


def study(duck) -> Builder:
    b = Builder()
    for name, country in (("ann", "fr"), ("ben", "uk"), ("cat", "uk"), ("gone", "fr")):
        b.user(name, country)
    b.device("ann.pc", "ann")
    b.device("ben.phone", "ben", platform="iphone", devtype="phone")
    b.device("home.ipad", "ben", "cat", platform="ipad", devtype="tablet")
    plans = {"ann.pc": [0, 1, 2, 9, 10],  # a holiday from day 3 to day 8
             "ben.phone": [4, 5, 6],  # joined late, left early
             "home.ipad": [0, 6, 7]}
    for login, days in plans.items():
        for d in days:
            ts = START + timedelta(days=d)
            b.add("devicetraffic", devid=b.dev(login), ts=ts, packets_in=1, bytes_in=1000 * (d + 1),
                  packets_out=1, bytes_out=10)
            b.add("deviceapptraffic", devid=b.dev(login), ts=ts, dstport=443, proto=6,
                  bytes_in=1000 * (d + 1), bytes_out=10)
            b.dns(login, ts + timedelta(hours=3), "a.com")  # the next UTC day, maybe the same local
            if d % 2:
                b.http(login, ts + timedelta(minutes=5), "a.com")
    b.load(duck)
    return b


def reference_days(b: Builder, include_shared: bool) -> dict[str, set]:
    zones = {u["username"]: zone_of(u) for u in b.rows["users"]}
    out = {}
    for user, ids in devices_of(b.rows, include_shared).items():
        stamps = [r["ts"] for t in ("devicetraffic", "dnsreqs", "httpreqs") for r in b.rows[t]
                  if r["devid"] in ids]
        out[user] = {local(ts, zones[user]).date() for ts in stamps}
    return out


@pytest.mark.parametrize("include_shared", [False, True])
def test_observed_days_and_per_day_columns(duck, include_shared: bool) -> None:
    b = study(duck)
    want = reference_days(b, include_shared)
    got = observed_days(duck, include_shared).to_pyarrow().to_pylist()
    by_user: dict[str, set] = {}
    for r in got:
        by_user.setdefault(r["username"], set()).add(r["day"])
    assert by_user == {u: d for u, d in want.items() if d}
    summary = user_summary(duck, UserSummaryParams(include_shared)).set_index("username")
    for user, days in want.items():
        row = summary.loc[user]
        assert row["observed_days"] == len(days)
        for column in ("active_min", "mib_in", "mib_out", "dns", "http"):
            expected = row[column] / len(days) if days else 0.0
            assert row[f"{column}_per_day"] == pytest.approx(expected), (user, column)
    assert summary.loc["gone", "observed_days"] == 0 and summary.loc["gone", "dns_per_day"] == 0.0
    # 23:30 in Paris, and the DNS response at 02:30 the next local day: days 0-3 and 9-11
    assert summary.loc["ann", "observed_days"] == 7  # the holiday (days 4-8) is not observed


def test_heatmap_per_observed_week(duck) -> None:
    b = study(duck)
    days = {u: len(d) for u, d in reference_days(b, False).items()}
    plain = heatmap(duck, HeatmapParams())
    per_week = heatmap(duck, HeatmapParams(per_observed_week=True))
    assert list(plain.columns) == list(per_week.columns)
    merged = plain.merge(per_week, on=["username", "days", "bin"], suffixes=("", "_week"))
    expected = [v * 7 / days[u] if days[u] else 0.0
                for u, v in zip(merged.username, merged.value, strict=True)]
    assert list(merged.value_week) == pytest.approx(expected)
    pd.testing.assert_series_equal(merged.share_pct, merged.share_pct_week, check_names=False)
    ben = merged[merged.username == "ben"]  # his phone: local days 4-7 observed, values grow by 7/4
    assert days["ben"] == 4
    assert ben.value_week.sum() == pytest.approx(sum(1000 * (d + 1) + 10 for d in (4, 5, 6)) * 7 / 4)
