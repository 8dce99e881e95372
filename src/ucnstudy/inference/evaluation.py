"""Run configurations on a study and evaluate them against its ground truth, in one pass.

`evaluate_study(study, params)` loads the events and the ground truth once, runs the original's
and ucnstudy's configurations, and returns an `Evaluation`: the per-second comparison (one row
per configuration and device plus `all`), begin/end-of-day accuracy, the false user events in
absence periods, and optional sweeps (activity gap, window W, beacon and learned thresholds,
each filter left out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ucnstudy.errors import StudyError
from ucnstudy.inference.configs import Config, original_configs, ucnstudy_configs
from ucnstudy.inference.data import load_devices, load_events
from ucnstudy.inference.daybounds import day_accuracy
from ucnstudy.inference.detectors import Detection
from ucnstudy.inference.filters import apply_filters, load_host_lists
from ucnstudy.inference.groundtruth import GroundTruth, load_ground_truth
from ucnstudy.inference.learned import LearnedDetector
from ucnstudy.inference.metrics import absence_counts, absence_summary, evaluate, local_day_span
from ucnstudy.inference.params import EvaluationParams
from ucnstudy.privacy.manifest import require_fields
from ucnstudy.store import Study


@dataclass
class Evaluation:
    params: EvaluationParams
    truth: GroundTruth
    comparison: pd.DataFrame
    days: pd.DataFrame
    absence: pd.DataFrame
    sweeps: pd.DataFrame
    detections: dict[str, Detection]
    events: int
    devices: dict[int, str]  # devid -> login
    timezones: dict[int, str] = field(default_factory=dict)

    def totals(self) -> pd.DataFrame:
        return self.comparison[self.comparison["device"] == "all"].reset_index(drop=True)

    def _repr_html_(self) -> str:
        """Jupyter: the comparison over all devices, one row per configuration."""
        from ucnstudy.display import frame_html

        cols = ["config", "precision", "recall", "f1", "tp", "fp", "fn"]
        title = (f"evaluation: {len(self.truth)} devices with ground truth, "
                 f"tolerance {self.params.tolerance} s")
        return frame_html(self.totals()[cols], title, max_rows=len(self.totals()))

    def best(self, family: str) -> pd.Series:
        t = self.totals()
        t = t[t["family"] == family]
        if t.empty:
            raise StudyError(f"no {family} configuration was evaluated")
        return t.loc[t["f1"].fillna(-1).idxmax()]


class Runner:
    """Runs configurations on one event frame, caching filter chains and learned probabilities."""

    def __init__(self, events: pd.DataFrame, truth: GroundTruth, devtypes: dict[int, str],
                 timezones: dict[int, str]) -> None:
        self.events, self.truth = events, truth
        self.devtypes, self.timezones = devtypes, timezones
        self._filtered: dict[str, pd.DataFrame] = {}
        self._proba: dict[str, np.ndarray] = {}

    def filtered(self, config: Config) -> pd.DataFrame:
        key = repr([repr(f) for f in config.filters])
        if key not in self._filtered:
            self._filtered[key] = apply_filters(self.events, config.filters)
        return self._filtered[key]

    def run(self, config: Config) -> tuple[pd.DataFrame, Detection]:
        """(the user events the configuration keeps, its detected intervals)."""
        events = self.filtered(config)
        det = config.detector
        if isinstance(det, LearnedDetector):
            key = repr(config.filters)
            if key not in self._proba:
                self._proba[key] = det.probabilities(events, self.truth, self.devtypes, self.timezones)
            user = det.select(events, self._proba[key])
            return user, det.activity.detect(user)
        return events, det.detect(events)


@dataclass
class EvaluationInputs:
    """What an evaluation reads from the study: once loaded it needs the study no more (the
    report evaluates in a worker process while it computes the other sections)."""

    truth: GroundTruth
    devices: pd.DataFrame  # devid, login, devtype, tz
    events: pd.DataFrame


def load_inputs(study: Study, params: EvaluationParams) -> EvaluationInputs:
    require_fields(study, "evaluate")  # an anonymised study may lack the hosts it needs
    truth = load_ground_truth(study, params.ground_truth)
    if not truth:
        raise StudyError("the study has no ground truth (gt_foreground / gt_io): nothing to evaluate")
    devices = load_devices(study)
    events = load_events(study, sorted(truth) if params.truth_devices_only else None)
    return EvaluationInputs(truth, devices, events)


def evaluate_study(study: Study, params: EvaluationParams | None = None,
                   on_step: Callable[[str], None] | None = None) -> Evaluation:
    params = params or EvaluationParams()
    return evaluate_inputs(load_inputs(study, params), params, on_step)


def evaluate_inputs(inputs: EvaluationInputs, params: EvaluationParams,
                    on_step: Callable[[str], None] | None = None) -> Evaluation:
    step = on_step or (lambda _msg: None)
    truth, devices, events = inputs.truth, inputs.devices, inputs.events
    runner = Runner(events, truth, dict(zip(devices["devid"], devices["devtype"], strict=True)),
                    dict(zip(devices["devid"], devices["tz"], strict=True)))
    extra = load_host_lists(params.blocklists) if params.blocklists else set()
    configs = [c for w in params.windows for c in original_configs(w, extra)]
    configs += ucnstudy_configs(params.ucn, extra, learned=params.learned and len(truth) >= 2)
    rows, days, absence, detections = [], [], [], {}
    for config in configs:
        step(config.name)
        user, det = runner.run(config)
        detections[config.name] = det
        rows.append(_scored(config, evaluate(det, truth, params.tolerance, runner.timezones)))
        d = day_accuracy(det, truth, params.day_tolerances, runner.timezones)
        days.append(d.assign(config=config.name))
        absence.append({"config": config.name, **_absence(user, det, truth, runner.timezones)})
    sweeps = _sweeps(runner, params, extra, step) if params.sweeps else pd.DataFrame()
    logins = dict(zip(devices["devid"].astype(int), devices["login"], strict=True))
    return Evaluation(params, truth, pd.concat(rows, ignore_index=True),
                      pd.concat(days, ignore_index=True), pd.DataFrame(absence), sweeps, detections,
                      len(events), logins, runner.timezones)


def _scored(config: Config, table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(config=config.name, family=config.family)[
        ["config", "family", "device", "tp", "fp", "fn", "tn", "tp_truth", "precision", "recall", "f1"]]


def _absence(user: pd.DataFrame, det: Detection, truth: GroundTruth, tz: dict[int, str]) -> dict:
    counts = []
    sec = np.floor(user["ts"].to_numpy(float)).astype(np.int64)
    devs = user["devid"].to_numpy()
    for dev, g in truth.items():
        if not len(g):
            continue
        span = local_day_span(int(g.starts[0]), int(g.ends[-1]), tz.get(dev, "UTC"))
        counts.append(absence_counts(g, sec[devs == dev], span))
    return absence_summary(np.concatenate(counts) if counts else np.empty(0, np.int64))


def _sweeps(runner: Runner, params: EvaluationParams, extra: set[str],
            step: Callable[[str], None]) -> pd.DataFrame:
    """The `all` row of each configuration variant, one parameter varied at a time."""
    ucn = params.ucn
    variants: list[tuple[str, float, Config]] = []
    for w in params.sweep_windows:
        variants += [("window", w, c) for c in original_configs(w, extra)]
    for g in params.sweep_gaps:
        variants += [("gap", g, c) for c in ucnstudy_configs(replace(ucn, gap=g), extra, learned=False)]
    for b in params.sweep_beacon:
        variants += [("beacon_threshold", b, c) for c in
                     ucnstudy_configs(replace(ucn, beacon_threshold=b), extra, learned=False)[1:]]
    if params.learned and len(runner.truth) >= 2:
        for t in params.sweep_learned:
            variants.append(("learned_threshold", t,
                             ucnstudy_configs(replace(ucn, learned_threshold=t), extra)[-1]))
    base = ucnstudy_configs(ucn, extra, learned=False)[1]
    for i, f in enumerate(base.filters):
        variants.append(("without_filter", i, Config(f"{base.name}-without-{f.name}", "ucnstudy",
                                                     [g for g in base.filters if g is not f],
                                                     base.detector)))
    rows = []
    for sweep, value, config in variants:
        step(f"sweep {sweep}={value} {config.name}")
        _, det = runner.run(config)
        total = evaluate(det, runner.truth, params.tolerance, runner.timezones).iloc[[-1]]
        rows.append(_scored(config, total).assign(sweep=sweep, value=value))
    return pd.concat(rows, ignore_index=True)
