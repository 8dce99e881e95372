"""The learned detector cannot see the answer: no ground truth in its features, no scored labels in its fit.

Each test would fail on one specific leak: features read from ground-truth tables, a device's
probabilities depending on that device's own labels (through the fit, the sampling or a per-device
statistic), or the reported threshold depending on the sweep that looks at test scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inference_scenario import load_scenario, scenario
from ucnstudy import open_study
from ucnstudy.inference.configs import UcnParams
from ucnstudy.inference.data import load_devices, load_events
from ucnstudy.inference.evaluation import EvaluationParams, evaluate_study
from ucnstudy.inference.features import event_features
from ucnstudy.inference.groundtruth import GroundTruthParams, load_ground_truth
from ucnstudy.inference.intervals import Intervals
from ucnstudy.inference.learned import LearnedDetector

GROUND_TRUTH_TABLES = ("gt_foreground", "gt_io", "runningapps", "sockets", "devicetraffic")


@pytest.fixture(scope="module")
def study_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("leak") / "study.duckdb"
    with open_study(path) as study:
        study.create_schema()
        load_scenario(study, scenario(devices=4, days=2, seed=5))
    return path


def _features(path: Path) -> pd.DataFrame:
    with open_study(path, read_only=True) as study:
        dev = load_devices(study)
        events = load_events(study)
        return event_features(events, dict(zip(dev["devid"], dev["devtype"], strict=True)),
                              dict(zip(dev["devid"], dev["tz"], strict=True)))


def test_features_are_unchanged_when_the_ground_truth_tables_are_emptied(study_path: Path, tmp_path: Path):
    before = _features(study_path)
    emptied = tmp_path / "emptied.duckdb"
    emptied.write_bytes(study_path.read_bytes())
    with open_study(emptied) as study:
        assert load_ground_truth(study, GroundTruthParams())  # there was ground truth to remove
        for name in GROUND_TRUTH_TABLES:
            if study.has_table(name):
                study.con.raw_sql(f"DELETE FROM {name}")  # fixed table names, not values
        assert not load_ground_truth(study, GroundTruthParams())
    pd.testing.assert_frame_equal(_features(emptied), before)


def _events_and_truth(path: Path) -> tuple[pd.DataFrame, dict[int, Intervals]]:
    with open_study(path, read_only=True) as study:
        return load_events(study), load_ground_truth(study, GroundTruthParams())


@pytest.mark.parametrize("folds", [None, 2])
def test_probabilities_of_a_device_do_not_depend_on_its_own_labels(study_path: Path, folds: int | None):
    events, truth = _events_and_truth(study_path)
    devices = events["devid"].to_numpy()
    scored = sorted(truth)[1]
    # Sampling (max_train below the training size) is part of what must not see the labels.
    detector = LearnedDetector(max_iter=30, max_train=2_000, folds=folds)
    assert (devices != scored).sum() > detector.max_train
    honest = detector.probabilities(events, truth)
    lo, hi = int(events["ts"].min()), int(events["ts"].max()) + 1
    for fake in (Intervals.empty(), Intervals.of([lo], [hi]), truth[scored].complement(lo, hi)):
        lied = detector.probabilities(events, {**truth, scored: fake})
        mine = devices == scored
        np.testing.assert_array_equal(lied[mine], honest[mine])
        assert not np.array_equal(lied[~mine], honest[~mine])  # the labels do reach the others' models


def test_reported_threshold_is_not_tuned_by_the_sweep(study_path: Path):
    params = EvaluationParams(windows=(0,), ucn=UcnParams(learned_folds=2, learned_max_iter=30))
    with open_study(study_path, read_only=True) as study:
        plain = evaluate_study(study, params).totals().set_index("config")
        swept = evaluate_study(study, EvaluationParams(**{**params.__dict__, "sweeps": True}))
    assert not swept.sweeps.empty
    learned = swept.totals().set_index("config").loc["ucn/learned"]
    pd.testing.assert_series_equal(learned, plain.loc["ucn/learned"])
    assert params.ucn.learned_threshold == 0.5  # fixed, balanced classes: not chosen on test data
