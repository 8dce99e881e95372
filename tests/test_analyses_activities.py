"""activities against a plain-Python walk of the definition, hand-made edge cases and random
event sets (hypothesis)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyses_builders import Builder, at, scratch
from analyses_reference import activities as reference
from ucnstudy.analyses.activities import ActivitiesParams, activities, activity_frame


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_rows(df: pd.DataFrame) -> list[tuple]:
    return [(r.username, r.start, r.end, r.duration_s, r.events, r.devices)
            for r in df.itertuples(index=False)]


def expected(b: Builder, **kw) -> list[tuple]:
    opts = {k: kw.pop(k) for k in ("all_events", "include_shared") if k in kw}
    return [(u, iso(s), iso(e), d, n, devs)
            for u, s, e, d, n, devs in reference(b.rows, **kw, **opts)]


def household() -> Builder:
    b = Builder()
    for name in ("alice", "bob", "idle"):
        b.user(name)
    b.device("alice.mac", "alice")
    b.device("alice.phone", "alice", platform="iphone", devtype="phone")
    b.device("home.ipad", "alice", "bob", platform="ipad", devtype="tablet")
    return b


def test_gap_equal_to_threshold_joins_and_larger_gap_splits(duck):
    b = household()
    for t in (0, 600, 1200):  # gaps exactly 600 s: one activity
        b.dns("alice.mac", at(t), "a.com")
    for t in (1800.000001, 1801, 1802):  # 600.000001 s later: a new one
        b.http("alice.phone", at(t), "b.com")
    b.load(duck)
    got = as_rows(activities(duck, ActivitiesParams()))
    assert got == expected(b)
    assert [r[4] for r in got] == [3, 3]
    assert got[0][3] == 1200.0 and got[0][5] == "alice.mac"


def test_ties_single_events_and_minimums(duck):
    b = household()
    b.dns("alice.mac", at(0), "a.com")          # a single event: no activity
    for t in (5000, 5000, 5000):                # three events at one instant: duration 0 < 1 s
        b.dns("alice.mac", at(t), "a.com")
    for t in (9000, 9000, 9001):                # a tie, then 1 s: kept, 3 events
        b.http("alice.phone", at(t), "b.com")
    b.dns("alice.mac", at(9001), "c.com")       # tie across devices: 4 events, both devices
    b.load(duck)
    got = as_rows(activities(duck, ActivitiesParams()))
    assert got == expected(b)
    assert got == [("alice", iso(at(9000)), iso(at(9001)), 1.0, 4, "alice.mac+alice.phone")]


def test_flags_shared_devices_and_users_without_events(duck):
    b = household()
    for t in (0, 10, 20):
        b.dns("home.ipad", at(t), "shared.com")            # shared device: off by default
    for t in (100, 110, 120):
        b.dns("alice.mac", at(t), "bg.com", user_req=False)  # background
    b.http("alice.mac", at(130), "x.com", user_url=None)     # NULL flag: not a user event
    b.load(duck)
    assert activities(duck, ActivitiesParams()).empty
    shared = as_rows(activities(duck, ActivitiesParams(include_shared=True)))
    assert shared == expected(b, include_shared=True)
    assert {r[0] for r in shared} == {"alice", "bob"}       # the shared device counts for both
    every = as_rows(activities(duck, ActivitiesParams(all_events=True)))
    assert every == expected(b, all_events=True) and every[0][4] == 4
    stats = activities(duck, ActivitiesParams(all_events=True, stats=True))
    assert list(stats["username"]) == ["alice", "bob", "idle"]
    assert list(stats["activities"]) == [1, 0, 0]


def test_parameters_change_the_result(duck):
    b = household()
    for t in (0, 30, 60, 200, 230):
        b.dns("alice.mac", at(t), "a.com")
    b.load(duck)
    for gap, min_events, min_duration in ((600, 3, 1), (60, 3, 1), (60, 2, 1), (140, 5, 231)):
        p = ActivitiesParams(gap=gap, min_events=min_events, min_duration=min_duration)
        assert as_rows(activities(duck, p)) == expected(
            b, gap=gap, min_events=min_events, min_duration=min_duration)
    assert len(activities(duck, ActivitiesParams(gap=60, min_events=2))) == 2


def test_per_user_statistics_match_numpy_quantiles(duck):
    b = household()
    starts = (0, 2000, 4000, 6000)
    for i, s in enumerate(starts):
        for k in range(3 + i):
            b.dns("alice.mac", at(s + k * (i + 1) * 7), "a.com")
    b.load(duck)
    acts = reference(b.rows)
    durations = np.array([a[3] for a in acts])
    counts = np.array([a[4] for a in acts], dtype=float)
    stats = activities(duck, ActivitiesParams(stats=True)).set_index("username").loc["alice"]
    assert stats["activities"] == 4
    assert stats["total_duration_s"] == pytest.approx(durations.sum())
    for q, col in ((0.25, "duration_p25_s"), (0.5, "duration_median_s"), (0.9, "duration_p90_s")):
        assert stats[col] == pytest.approx(np.quantile(durations, q))
    assert stats["events_p75"] == pytest.approx(np.quantile(counts, 0.75))


def test_frame_keeps_timestamps_for_figures(duck):
    b = household()
    for t in (0, 1, 2):
        b.dns("alice.mac", at(t), "a.com")
    b.load(duck)
    df = activity_frame(duck, ActivitiesParams())
    assert df.loc[0, "start"] == pd.Timestamp(at(0)) and df.loc[0, "activity"] == 1


offsets = st.lists(st.tuples(st.integers(0, 4000), st.sampled_from(["alice.mac", "alice.phone",
                                                                      "home.ipad"]),
                             st.booleans()), max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=offsets, gap=st.sampled_from([0, 1, 10, 100, 600]),
       min_events=st.integers(1, 4), include_shared=st.booleans())
def test_random_event_sets_match_the_reference(events, gap, min_events, include_shared):
    b = household()
    for t, login, is_dns in events:
        when = at(t / 4)  # quarter seconds: many ties and gaps equal to the threshold
        if is_dns:
            b.dns(login, when, "a.com")
        else:
            b.http(login, when, "b.com")
    study = scratch()
    b.reload(study)
    p = ActivitiesParams(gap=gap, min_events=min_events, include_shared=include_shared)
    got = as_rows(activities(study, p))
    assert got == expected(b, gap=gap, min_events=min_events, include_shared=include_shared)
