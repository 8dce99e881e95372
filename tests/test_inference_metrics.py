"""Per-second metrics, day bounds and absence counts against plain-Python references."""

from __future__ import annotations

import calendar
from datetime import date, datetime

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ucnstudy.inference.daybounds import day_accuracy, day_bounds
from ucnstudy.inference.intervals import Intervals
from ucnstudy.inference.metrics import absence_counts, confusion, evaluate, local_day_span

seconds = st.lists(st.integers(0, 300), max_size=60)


def reference_confusion(pred: set[int], truth: set[int], tol: int, span: range) -> dict[str, int]:
    c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "tp_truth": 0}
    for s in span:
        near_truth = any(t in truth for t in range(s - tol, s + tol + 1))
        near_pred = any(p in pred for p in range(s - tol, s + tol + 1))
        if s in pred:
            c["tp" if near_truth else "fp"] += 1
        if s in truth:
            c["tp_truth" if near_pred else "fn"] += 1
        if s not in pred and s not in truth:
            c["tn"] += 1
    return c


@settings(max_examples=150, deadline=None)
@given(seconds, seconds, st.integers(0, 15))
def test_confusion_matches_per_second_reference(p, g, tol):
    got = confusion(Intervals.from_seconds(p), Intervals.from_seconds(g), tol, (0, 301))
    assert got == reference_confusion(set(p), set(g), tol, range(0, 301))


def test_a_sparse_detection_cannot_borrow_the_truths_seconds():
    truth = Intervals.of([0], [121])
    c = confusion(Intervals.of([60, 1000], [61, 1001]), truth, 60, (0, 2000))
    assert (c["tp"], c["fp"], c["tp_truth"], c["fn"]) == (1, 1, 121, 0)
    row = evaluate({1: Intervals.of([60, 1000], [61, 1001])}, {1: truth}, 60).iloc[-1]
    assert row["precision"] == 0.5 and row["recall"] == 1.0


def test_tolerance_zero_is_the_originals_count_and_scores():
    pred = Intervals.of([0, 100], [10, 110])
    truth = Intervals.of([5], [50])
    c = confusion(pred, truth, 0, (0, 200))
    assert c == {"tp": 5, "fp": 15, "fn": 40, "tn": 140, "tp_truth": 5}
    table = evaluate({1: pred}, {1: truth}, tolerance=0)
    row = table[table["device"] == "all"].iloc[0]
    assert row["tn"] == 86400 - 60  # span: the whole UTC day
    assert row["precision"] == 5 / 20 and row["recall"] == 5 / 45
    assert abs(row["f1"] - 2 * (0.25 * 5 / 45) / (0.25 + 5 / 45)) < 1e-12


def test_all_row_sums_devices_and_devices_without_truth_are_not_scored():
    truth = {1: Intervals.of([0], [100]), 2: Intervals.of([86400], [86500])}
    pred = {1: Intervals.of([50], [150]), 3: Intervals.of([0], [1000])}
    t = evaluate(pred, truth, tolerance=0)
    assert t["device"].tolist() == ["1", "2", "all"]
    assert t.iloc[2][["tp", "fp", "fn", "tp_truth"]].tolist() == [50, 50, 150, 50]
    assert np.isnan(t.iloc[1]["precision"]) and t.iloc[1]["recall"] == 0


def test_local_day_span_follows_the_users_time_zone_across_dst():
    # 25 Oct 2015: summer time ends in London; that local day lasts 25 h.
    t = calendar.timegm(datetime(2015, 10, 25, 12).timetuple())
    lo, hi = local_day_span(t, t + 1, "Europe/London")
    assert hi - lo == 25 * 3600
    assert lo == calendar.timegm(datetime(2015, 10, 24, 23).timetuple())  # 00:00 BST


def reference_day_bounds(secs: list[int], begin_hour: int) -> dict[date, tuple[int, int]]:
    by_day: dict[date, list[int]] = {}
    for s in secs:
        by_day.setdefault(datetime.utcfromtimestamp(s).date(), []).append(s)
    out = {}
    for d, xs in by_day.items():
        late = [x for x in xs if datetime.utcfromtimestamp(x).hour >= begin_hour]
        out[d] = (min(late) if late else min(xs), max(xs))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4 * 86400), max_size=30))
def test_day_bounds_match_reference(secs):
    iv = Intervals.from_seconds(secs)
    got = day_bounds(iv, "UTC", 4)
    ref = reference_day_bounds(secs, 4)
    assert {r.date: (r.begin, r.end) for r in got.itertuples()} == ref


def test_day_accuracy_across_a_month_boundary():
    day1 = calendar.timegm(datetime(2015, 10, 31, 8).timetuple())
    day2 = calendar.timegm(datetime(2015, 11, 1, 9).timetuple())
    truth = {1: Intervals.of([day1, day2], [day1 + 3600, day2 + 3600])}
    pred = {1: Intervals.of([day1 + 30, day2 + 7200], [day1 + 3600, day2 + 7300])}
    acc = day_accuracy(pred, truth, tolerances=(60,))
    row = acc[acc["device"] == "all"].iloc[0]
    assert row["days"] == 2 and row["begin_acc_60s"] == 0.5 and row["end_acc_60s"] == 0.5


def test_begin_of_day_ignores_activity_before_4am():
    base = calendar.timegm(datetime(2015, 11, 10).timetuple())
    iv = Intervals.of([base + 3600, base + 5 * 3600], [base + 3700, base + 5 * 3600 + 10])
    row = day_bounds(iv, "UTC").iloc[0]
    assert row["begin"] == base + 5 * 3600 and row["end"] == base + 5 * 3600 + 9
    spanning = Intervals.of([base + 3 * 3600], [base + 5 * 3600])
    assert day_bounds(spanning, "UTC").iloc[0]["begin"] == base + 4 * 3600


@settings(max_examples=100, deadline=None)
@given(seconds, st.lists(st.integers(0, 300), max_size=50))
def test_absence_counts_match_reference(g, events):
    truth = Intervals.from_seconds(g)
    got = absence_counts(truth, np.array(events, np.int64), (0, 301))
    absent = truth.complement(0, 301)
    ref = [sum(1 for e in events if a <= e < b) for a, b in zip(absent.starts, absent.ends, strict=True)]
    assert got.tolist() == ref
    truth_set = set(g)
    assert sum(ref) == sum(1 for e in events if e not in truth_set and 0 <= e < 301)


def test_scores_frame_columns():
    t = evaluate({}, {1: Intervals.of([0], [10])}, tolerance=60)
    assert list(t.columns) == ["device", "tp", "fp", "fn", "tn", "tp_truth", "precision", "recall", "f1"]
    assert isinstance(t, pd.DataFrame)


def test_begin_of_day_cutoff_is_4am_wall_time_on_a_dst_day():
    # 25 Oct 2015 in London: 04:00 GMT = 04:00 UTC (midnight was 23:00 UTC the day before).
    four = calendar.timegm(datetime(2015, 10, 25, 4).timetuple())
    iv = Intervals.of([four - 1800], [four + 600])
    assert day_bounds(iv, "Europe/London").iloc[0]["begin"] == four


def test_split_by_local_day_cuts_at_local_midnights_across_dst():
    from ucnstudy.inference.daybounds import split_by_local_day

    def utc(*args: int) -> int:
        return calendar.timegm(datetime(*args).timetuple())

    iv = Intervals.of([utc(2015, 10, 24, 22)], [utc(2015, 10, 26, 1)])
    got = split_by_local_day(iv, "Europe/London")
    assert [d.date() for d in pd.to_datetime(got["date"])] == [date(2015, 10, 24), date(2015, 10, 25),
                                                                date(2015, 10, 26)]
    assert got["start"].tolist() == [utc(2015, 10, 24, 22), utc(2015, 10, 24, 23), utc(2015, 10, 26)]
    assert got["end"].tolist() == [utc(2015, 10, 24, 23), utc(2015, 10, 26), utc(2015, 10, 26, 1)]
