"""A detector that learns from devices with ground truth, scored only on devices it never saw.

Each event is labelled 1 when its second lies inside the device's ground-truth intervals. A
gradient-boosting classifier (scikit-learn's HistGradientBoostingClassifier) learns the label
from per-event features (features.py). Evaluation is leave-one-device-out: for every device
with ground truth a model is trained on the other labelled devices only and predicts that
device's events; devices without ground truth are predicted by a model trained on all labelled
devices. Events whose probability is >= `threshold` are the user events, and an
ActivityDetector turns them into intervals. Classes are weighted to balance (most events of a
labelled device fall inside its ground truth), so 0.5 is a neutral threshold, not a tuned one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ucnstudy.errors import StudyError
from ucnstudy.inference.detectors import ActivityDetector, Detection
from ucnstudy.inference.features import event_features
from ucnstudy.inference.intervals import Intervals


def labels(events: pd.DataFrame, truth: Mapping[int, Intervals]) -> np.ndarray:
    """1 for events whose second is inside the device's ground truth, -1 for unlabelled devices."""
    y = np.full(len(events), -1, np.int8)
    sec = np.floor(events["ts"].to_numpy(float)).astype(np.int64)
    dev = events["devid"].to_numpy()
    for d, iv in truth.items():
        sel = dev == d
        y[sel] = iv.contains(sec[sel])
    return y


def device_folds(devices: np.ndarray, labelled: list[int], folds: int | None = None
                 ) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """(held-out devices, their event mask) per fold, then ((), unlabelled devices' mask).

    folds=None is leave-one-device-out; folds=k groups the labelled devices round-robin into k
    folds (cheaper), still never training on a device of the scored fold.
    """
    k = len(labelled) if folds is None else max(2, min(folds, len(labelled)))
    groups = [tuple(labelled[i::k]) for i in range(k)]
    out: list[tuple[tuple[int, ...], np.ndarray]] = [(g, np.isin(devices, g)) for g in groups]
    rest = ~np.isin(devices, labelled)
    if rest.any():
        out.append(((), rest))
    return out


@dataclass
class LearnedDetector:
    threshold: float = 0.5
    activity: ActivityDetector = field(
        default_factory=lambda: ActivityDetector(gap=600, min_events=3, tail=60))
    max_train: int = 300_000  # rows sampled per training fold (bounded time and memory)
    max_iter: int = 200
    seed: int = 0
    folds: int | None = None  # None: leave-one-device-out; k: k device folds (faster)
    threads: int = 1  # OpenMP threads per fit: more only pays on an otherwise idle machine
    name: str = "learned"
    trained_on: dict[tuple[int, ...], list[int]] = field(default_factory=dict, init=False)

    def probabilities(self, events: pd.DataFrame, truth: Mapping[int, Intervals],
                      devtypes: Mapping[int, str] | None = None,
                      timezones: Mapping[int, str] | None = None) -> np.ndarray:
        """Leave-one-device-out probability that each event is a user event."""
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        x = event_features(events, devtypes, timezones).to_numpy(float)
        y = labels(events, truth)
        devices = events["devid"].to_numpy()
        labelled = sorted(int(d) for d in truth if (devices == d).any())
        if len(labelled) < 2:
            raise StudyError("the learned detector needs ground truth on at least 2 devices")
        proba = np.zeros(len(events))
        rng = np.random.default_rng(self.seed)
        self.trained_on = {}
        for held_out, target in device_folds(devices, labelled, self.folds):
            train = (y >= 0) & ~target
            idx = np.flatnonzero(train)
            if idx.size > self.max_train:
                idx = rng.choice(idx, self.max_train, replace=False)
            if np.unique(y[idx]).size < 2:
                continue  # nothing to learn from: leave probabilities at 0
            model = HistGradientBoostingClassifier(max_iter=self.max_iter, random_state=self.seed,
                                                   class_weight="balanced")
            with threadpool_limits(self.threads):
                model.fit(x[idx], y[idx])
            self.trained_on[held_out] = sorted(int(d) for d in np.unique(devices[idx]))
            with threadpool_limits(self.threads):
                proba[target] = model.predict_proba(x[target])[:, 1]
        return proba

    def select(self, events: pd.DataFrame, proba: np.ndarray) -> pd.DataFrame:
        return events.loc[proba >= self.threshold].reset_index(drop=True)

    def detect_with(self, events: pd.DataFrame, proba: np.ndarray) -> Detection:
        return self.activity.detect(self.select(events, proba))
