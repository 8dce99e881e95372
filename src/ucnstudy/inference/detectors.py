"""Detectors: from (filtered) events to active intervals per device.

* `WindowDetector(window=W)`: the original's rule (final_algorithm's
  get_interval_list_predefined_gap): an event covers its second and, when the next event is
  <= W s later, the seconds up to it.
* `ActivityDetector(gap, min_events, min_duration, tail)`: activities as in the analyses (a
  maximal run of events whose consecutive gaps are <= gap seconds, kept with >= min_events
  events and a duration >= min_duration); each covers [first event, last event + 1 + tail) —
  `tail` stands for the reading time after the last request.
* `LearnedDetector` (learned.py): a classifier picks the user events, then an ActivityDetector.

A detector is `detect(events) -> {devid: Intervals}`; events are truncated to whole seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from ucnstudy.inference.intervals import Intervals, union, window_rule

Detection = dict[int, Intervals]


class Detector(Protocol):
    name: str

    def detect(self, events: pd.DataFrame) -> Detection: ...


def seconds_by_device(events: pd.DataFrame) -> dict[int, np.ndarray]:
    """Sorted event seconds per device."""
    if events.empty:
        return {}
    sec = np.floor(events["ts"].to_numpy(float)).astype(np.int64)
    dev = events["devid"].to_numpy()
    order = np.lexsort((sec, dev))
    sec, dev = sec[order], dev[order]
    cuts = np.flatnonzero(np.diff(dev)) + 1
    return {int(d[0]): s for d, s in zip(np.split(dev, cuts), np.split(sec, cuts), strict=True)}


@dataclass(frozen=True)
class WindowDetector:
    window: int = 0
    name: str = "window"

    def detect(self, events: pd.DataFrame) -> Detection:
        return {d: window_rule(s, self.window) for d, s in seconds_by_device(events).items()}


def activity_runs(seconds: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of sorted seconds with consecutive gaps <= gap: (first, last, event count)."""
    if not seconds.size:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    breaks = np.flatnonzero(np.diff(seconds) > gap) + 1
    firsts = np.concatenate([[0], breaks])
    lasts = np.concatenate([breaks - 1, [seconds.size - 1]])
    return seconds[firsts], seconds[lasts], lasts - firsts + 1


@dataclass(frozen=True)
class ActivityDetector:
    gap: int = 600
    min_events: int = 3
    min_duration: int = 1
    tail: int = 0
    name: str = "activities"

    def detect(self, events: pd.DataFrame) -> Detection:
        out: Detection = {}
        for dev, sec in seconds_by_device(events).items():
            first, last, count = activity_runs(sec, self.gap)
            keep = (count >= self.min_events) & (last - first >= self.min_duration)
            out[dev] = union(first[keep], last[keep] + 1 + self.tail)
        return out
