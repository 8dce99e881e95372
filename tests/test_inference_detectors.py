"""Ground truth, detectors and the learned detector's leave-one-device-out discipline."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from inference_scenario import scenario
from ucnstudy.inference.data import normalise_events
from ucnstudy.inference.detectors import ActivityDetector, WindowDetector
from ucnstudy.inference.groundtruth import GroundTruthParams, build_ground_truth
from ucnstudy.inference.learned import LearnedDetector, labels


def reference_activities(secs: list[int], gap: int, min_events: int, min_duration: int, tail: int
                         ) -> set[int]:
    s = sorted(secs)
    runs, cur = [], [s[0]] if s else []
    for a, b in itertools.pairwise(s):
        if b - a > gap:
            runs.append(cur)
            cur = []
        cur.append(b)
    if cur:
        runs.append(cur)
    out: set[int] = set()
    for r in runs:
        if len(r) >= min_events and r[-1] - r[0] >= min_duration:
            out |= set(range(r[0], r[-1] + 1 + tail))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 500), max_size=40), st.integers(0, 60), st.integers(1, 4),
       st.integers(0, 20), st.integers(0, 30))
def test_activity_detector_matches_reference(secs, gap, min_events, min_duration, tail):
    ev = normalise_events(pd.DataFrame({"devid": [7] * len(secs), "ts": np.array(secs, float) + 0.4}))
    det = ActivityDetector(gap, min_events, min_duration, tail).detect(ev)
    got = set(det[7].seconds().tolist()) if 7 in det else set()
    assert got == reference_activities(secs, gap, min_events, min_duration, tail)


def test_window_detector_per_device():
    ev = normalise_events(pd.DataFrame({"devid": [1, 1, 2, 1], "ts": [10.2, 13.9, 10.0, 30.0]}))
    det = WindowDetector(5).detect(ev)
    assert det[1].seconds().tolist() == [10, 11, 12, 13, 30] and det[2].seconds().tolist() == [10]


def reference_ground_truth(fg: pd.DataFrame, io: pd.DataFrame, p: GroundTruthParams, dev: int) -> set[int]:
    out: set[int] = set()
    for r in fg[fg["devid"] == dev].itertuples():
        if (p.foreground == "fullscreen" and not r.fullscreen) or (r.idle and not p.include_idle):
            continue
        out |= set(range(int(np.floor(r.start)), int(np.ceil(r.end))))
    for t in io[io["devid"] == dev]["ts"]:
        out |= set(range(int(t), int(t) + p.io_window))
    secs = sorted(out)
    for a, b in itertools.pairwise(secs):  # merge gaps <= tolerance
        if 1 < b - a <= p.merge_tolerance + 1:
            out |= set(range(a, b))
    return out


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 60), st.booleans(), st.booleans()), max_size=8),
       st.lists(st.integers(0, 500), max_size=8), st.integers(1, 30), st.integers(0, 10),
       st.sampled_from(["focused", "fullscreen"]), st.booleans())
def test_ground_truth_is_the_plain_union(fgs, ios, io_window, tol, fgmode, idle):
    fg = pd.DataFrame([(1, a + 0.5, a + n + 0.2, full, idl) for a, n, full, idl in fgs],
                      columns=["devid", "start", "end", "fullscreen", "idle"])
    io = pd.DataFrame({"devid": [1] * len(ios), "ts": np.array(ios, float) + 0.7})
    p = GroundTruthParams(io_window=io_window, foreground=fgmode, include_idle=idle, merge_tolerance=tol)
    gt = build_ground_truth(fg, io, p)
    got = set(gt[1].seconds().tolist()) if 1 in gt else set()
    assert got == reference_ground_truth(fg, io, p, 1)


def test_ground_truth_bridge_mode_and_traffic_intersection():
    io = pd.DataFrame({"devid": [1, 1, 1], "ts": [0.0, 100.0, 400.0]})
    fg = pd.DataFrame(columns=["devid", "start", "end", "fullscreen", "idle"])
    bridge = build_ground_truth(fg, io, GroundTruthParams(io_mode="bridge"))
    assert bridge[1].seconds().tolist() == [*range(0, 101), 400]
    traffic = pd.DataFrame({"devid": [1, 1, 1], "ts": [5.5, 6.1, 420.0]})
    inter = build_ground_truth(fg, io, GroundTruthParams(intersect_traffic=True), traffic)
    assert inter[1].seconds().tolist() == [5, 6, 420]


def test_learned_detector_never_trains_on_the_scored_device():
    frames = scenario(devices=4, days=1, seed=2)
    rows = pd.concat([frames["dns"].assign(kind="dns"), frames["http"].assign(kind="http")])
    ev = normalise_events(rows)
    extra = normalise_events(pd.DataFrame({"devid": [99] * 5, "ts": np.arange(5.0) * 1000 + 1.4e9}))
    ev = normalise_events(pd.concat([ev, extra]))
    truth = build_ground_truth(frames["fg"], frames["io"], GroundTruthParams())
    two_folds = LearnedDetector(max_iter=20, folds=2)
    two_folds.probabilities(ev, truth)
    assert two_folds.trained_on == {(1, 3): [2, 4], (2, 4): [1, 3], (): [1, 2, 3, 4]}
    det = LearnedDetector(max_iter=30)
    proba = det.probabilities(ev, truth)
    assert set(det.trained_on) == {(1,), (2,), (3,), (4,), ()}
    for held_out, trained in det.trained_on.items():
        assert not set(held_out) & set(trained)
        assert 99 not in trained  # unlabelled devices are never training data
    assert det.trained_on[()] == [1, 2, 3, 4]
    y = labels(ev, truth)
    assert set(np.unique(y[ev["devid"].to_numpy() == 99])) == {-1}
    scored = y >= 0
    accuracy = np.mean((proba[scored] >= 0.5) == (y[scored] == 1))
    assert accuracy > 0.9  # background is regular, user bursts are not: the task is learnable
