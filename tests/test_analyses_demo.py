"""Every analysis on a small demo study: it runs, and the demo's planted structure shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ucnstudy import demo
from ucnstudy.analyses import ANALYSES
from ucnstudy.analyses.dns_http import DnsHttpParams
from ucnstudy.analyses.heatmap import HeatmapParams
from ucnstudy.store import Study, open_study


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    path: Path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    s = open_study(path)
    demo.generate_demo(s, demo.DemoParams(users=4, days=7, seed=3))
    yield s
    s.close()


@pytest.fixture(scope="module")
def results(study: Study) -> dict[str, pd.DataFrame]:
    return {name: a.run(study) for name, a in ANALYSES.items()}


def test_every_analysis_has_rows(results):
    for name, df in results.items():
        assert len(df) > 0, name


def test_summary_ports_and_agents(study, results):
    summary = results["user-summary"]
    assert len(summary) == study.table("users").count().execute()
    assert (summary.active_min > 0).sum() >= len(summary) - 1
    ports = results["traffic-by-port"]
    assert set(ports.dstport.head(2)) == {443, 80}           # web dominates bytes
    assert ports.bytes_pct.sum() <= 100.0 + 1e-9
    agents = results["user-agents"]
    assert agents.requests.sum() == study.table("httpreqs").count().execute()
    assert agents.browser.nunique() >= 2


def test_dns_http_delays_within_ttl(study, results):
    pairs = results["dns-http"]
    matched = pairs[pairs.http_ts.notna()]
    assert 0.05 < len(matched) / len(pairs) < 1.0
    assert (matched.delay_s >= 0).all()
    summary = ANALYSES["dns-http"].run(study, DnsHttpParams(summary=True))
    assert summary.iloc[-1].matched == len(matched)


def test_activities_ecdf_and_local_rhythm(study, results):
    acts = results["activities"]
    assert (acts.events >= 3).all() and (acts.duration_s >= 1).all()
    assert acts.username.nunique() >= 2
    ecdf = results["inter-event"].groupby("username").ecdf.last()
    assert (ecdf == 1.0).all()
    hours = ANALYSES["heatmap"].run(study, HeatmapParams(by="hour", of="events"))
    per_hour = hours[hours.days == "all"].groupby("bin").value.sum()
    assert 9 <= per_hour.idxmax() <= 23 and 1 <= per_hour.idxmin() <= 6  # local day and night
    assert per_hour.loc[18:21].sum() > 2 * per_hour.loc[2:5].sum()
    context = results["activity-context"]
    assert (context.locations != "").mean() > 0.5
    assert set(results["timeline"].kind) == {"traffic", "dns", "http", "user_http"}
