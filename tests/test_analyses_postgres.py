"""Every analysis on the real PostgreSQL server gives the reference answers and DuckDB's table."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pandas as pd
import pytest

from analyses_builders import Builder, at
from analyses_reference import activities as reference_activities
from analyses_reference import dns_http as reference_dns_http
from test_analyses_dns_http import as_rows as dns_rows
from ucnstudy.analyses import ANALYSES
from ucnstudy.analyses.activities import ActivitiesParams
from ucnstudy.analyses.heatmap import HeatmapParams
from ucnstudy.analyses.timeline import TimelineParams


def mixed() -> Builder:
    b = Builder()
    b.user("paris", "fr", "Europe/Paris")
    b.user("london", "uk")
    b.user("empty", "fr")
    b.device("paris.mac", "paris", platform="macbook")
    b.device("paris.phone", "paris", platform="iphone", devtype="phone")
    b.device("home.ipad", "paris", "london", platform="ipad", devtype="tablet")
    b.device("london.pc", "london", platform="windows-pc", devtype="pc")
    logins = ("paris.mac", "paris.phone", "home.ipad", "london.pc")
    for i in range(240):
        login = logins[i % 4]
        t = at(i * 97.5 - 40_000)  # spans the DST switch of 29 March 2015
        b.dns(login, t, f"h{i % 5}.com", ttl=[i % 7 * 10] if i % 3 else None,
              user_req=i % 4 != 1, query_domain=f"h{i % 5}.com")
        b.http(login, t + timedelta(seconds=i % 11), f"h{i % 5}.com", user_url=i % 5 != 0,
               ua=None if i % 6 == 0 else f"agent/{i % 3}")
        b.add("devicetraffic", devid=b.dev(login), ts=t, packets_in=i, bytes_in=i * 100,
              packets_out=1, bytes_out=60)
        b.add("deviceapptraffic", devid=b.dev(login), ts=t, dstport=(443, 80, 53)[i % 3],
              service=("https", "http", None)[i % 3], packets_in=i, bytes_in=i * 90,
              packets_out=2, bytes_out=120)
    b.add("locations", devid=b.dev("paris.phone"), source="test", entertime=at(-50_000),
          exittime=at(50_000), name="Home", net_asname="AS3215 Orange")
    return b


def variants(name: str) -> list:
    extra = {"activities": [ActivitiesParams(stats=True), ActivitiesParams(include_shared=True)],
             "heatmap": [HeatmapParams(by="hour", of="events")],
             "timeline": [TimelineParams(min_seconds=1)]}
    if name == "timeline":  # the default needs 300 traffic seconds per user; this study has 60
        return extra[name]
    default = ANALYSES[name].params()
    if getattr(default, "recurring_share", 0) > 0:  # this study's few hosts recur in every hour
        return [dataclasses.replace(default, recurring_share=0.0),
                dataclasses.replace(default, recurring_share=0.9, recurring_hours=2)]
    return [default, *extra.get(name, [])]


def test_every_analysis_matches_duckdb_and_the_references(duck, pg):
    b = mixed()
    b.load(duck)
    b.load(pg)
    for name in sorted(ANALYSES):
        for params in variants(name):
            mine = ANALYSES[name].run(pg, params).reset_index(drop=True)
            theirs = ANALYSES[name].run(duck, params).reset_index(drop=True)
            assert len(theirs) > 0, (name, params)
            pd.testing.assert_frame_equal(mine, theirs, check_dtype=False, obj=f"{name} {params}")
    got = ANALYSES["activities"].run(pg)
    assert [tuple(r)[3:5] for r in got.itertuples(index=False)] == [
        a[3:5] for a in reference_activities(b.rows)]
    assert dns_rows(ANALYSES["dns-http"].run(pg)) == reference_dns_http(b.rows)


@pytest.mark.parametrize("name", ["dns-http", "activities", "heatmap", "user-summary"])
def test_expressions_give_identical_arrow_tables(duck, pg, name):
    b = mixed()
    b.load(duck)
    b.load(pg)
    mine = ANALYSES[name].expression(pg).to_pyarrow()
    theirs = ANALYSES[name].expression(duck).to_pyarrow()
    assert mine.schema.names == theirs.schema.names
    assert mine.to_pylist() == theirs.to_pylist()
