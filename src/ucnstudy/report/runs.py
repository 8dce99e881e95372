"""Which analyses the report runs, with which parameters, and the cache that runs each once.

A *run* is one analysis with one parameter set (the heatmap runs four times: the week view of
bytes and the hour-of-day views of bytes and of events). Parameters start from each analysis's
defaults (the original study's values); `overrides` (from `ucn report --set NAME.FIELD=VALUE`,
`--all-events`, `--include-shared`) replace fields that the analysis declares.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ucnstudy.analyses import ANALYSES
from ucnstudy.errors import UcnError
from ucnstudy.store import Study


@dataclass(frozen=True)
class Run:
    key: str  # unique within the report: file names of its table and figures start with it
    analysis: str  # registry name
    title: str
    variant: dict[str, Any] = field(default_factory=dict)  # this run's own parameter values
    figures: bool = True  # False: a table only (e.g. a summary variant of an analysis)
    # Computed from another run's result instead of a second pass over the study:
    # (key of that run, function(its frame, study, this run's params) -> the same frame this
    # run's analysis returns). Used only when every parameter of that run, but those of this
    # run's variant, has the same value in this run's parameters.
    derive: tuple[str, Callable[[pd.DataFrame, Study, Any], pd.DataFrame]] | None = None


def _dns_http_summary(pairs: pd.DataFrame, study: Study, params: Any) -> pd.DataFrame:
    """dns-http --summary from the per-response pairs already computed (same function)."""
    from ucnstudy.analyses.dns_http import summarize

    devices = study.table("devices")
    return summarize(pairs, devices.select(devid=devices.id, login=devices.login).to_pandas())


def _qoe_effects(acts: pd.DataFrame, study: Study, params: Any) -> pd.DataFrame:
    """qoe-effects from the activity-qoe rows already computed (the rows it queries itself; its
    start and end as ISO strings, which sort as the timestamps do)."""
    from ucnstudy.analyses.qoe_effects import effects

    return effects(acts, params)


# The notebook's order. A registered analysis missing here is appended with default parameters.
PLANNED_RUNS: tuple[Run, ...] = (
    Run("user-summary", "user-summary", "Participants"),
    Run("select-users", "select-users", "Selected users"),
    Run("traffic-by-port", "traffic-by-port", "Traffic by port"),
    Run("user-agents", "user-agents", "User agents"),
    Run("dns-http", "dns-http", "DNS and HTTP"),
    Run("dns-http-summary", "dns-http", "DNS and HTTP: matched responses per device", {"summary": True},
        figures=False, derive=("dns-http", _dns_http_summary)),
    Run("timeline", "timeline", "Per-user timelines"),
    Run("inter-event", "inter-event", "Inter-event times"),
    Run("heatmap-week", "heatmap", "Weekly heatmap of bytes", {"by": "week", "bin": 120}),
    Run("heatmap-hour", "heatmap", "Hour-of-day heatmaps of bytes", {"by": "hour", "bin": 60}),
    Run("heatmap-hour-events", "heatmap", "Hour-of-day heatmaps of user events",
        {"by": "hour", "bin": 60, "of": "events"}),
    Run("activities", "activities", "Activities"),
    Run("activity-stats", "activities", "Activity statistics per user", {"stats": True}, figures=False),
    Run("activity-context", "activity-context", "Activity context"),
    Run("activity-qoe", "activity-qoe", "QoE factors: every activity in its context"),
    Run("qoe-effects", "qoe-effects", "QoE factors: effects of device, network and QoS",
        derive=("activity-qoe", _qoe_effects)),
)


def load_analyses() -> None:
    """Import every module of ucnstudy.analyses, so that each registers itself."""
    import ucnstudy.analyses as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def planned_runs() -> list[Run]:
    """The planned runs of the registered analyses, then any other registered analysis."""
    load_analyses()
    runs = [r for r in PLANNED_RUNS if r.analysis in ANALYSES]
    covered = {r.analysis for r in runs}
    runs += [Run(name, name, name.replace("-", " ").capitalize()) for name in ANALYSES if name not in covered]
    return runs


def convert(value: str, annotation: Any) -> Any:
    """A CLI string as the type of a dataclass field (bool, int, float or str)."""
    kind = annotation if isinstance(annotation, type) else _type_of(annotation)
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{value!r} is not a boolean (true/false)")
    return kind(value) if kind in (int, float) else value


def _type_of(annotation: Any) -> type:
    names = {"bool": bool, "int": int, "float": float, "str": str}
    if isinstance(annotation, str):
        return names.get(annotation.split("|")[0].strip(), str)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args and isinstance(args[0], type) else str


def make_params(run: Run, overrides: dict[str, dict[str, str]]) -> Any:
    """The run's Params: defaults, then the run's variant, then user overrides by analysis or key."""
    params_type = ANALYSES[run.analysis].params
    fields = {f.name: f for f in dataclasses.fields(params_type)}
    values: dict[str, Any] = {k: v for k, v in run.variant.items() if k in fields}
    for scope in ("*", run.analysis, run.key):
        for name, raw in overrides.get(scope, {}).items():
            if name in fields:
                values[name] = convert(raw, fields[name].type) if isinstance(raw, str) else raw
            elif scope != "*":
                raise UcnError(f"analysis {run.analysis} has no parameter {name!r}; "
                               f"its parameters are: {', '.join(fields)}")
    return params_type(**values)


def validate_overrides(runs: list[Run], overrides: dict[str, dict[str, str]]) -> None:
    """Fail before any work on an unknown analysis, field or value."""
    names = {r.analysis for r in runs} | {r.key for r in runs} | {"*"}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise UcnError(f"--set {unknown[0]}.…: no analysis or report run named {unknown[0]!r}; "
                       f"names are: {', '.join(sorted(names - {'*'}))}")
    for run in runs:
        try:
            make_params(run, overrides)
        except ValueError as exc:
            raise UcnError(f"--set for {run.analysis}: {exc}") from None


@dataclass
class RunResult:
    run: Run
    params: Any
    frame: pd.DataFrame | None
    seconds: float
    error: str | None = None


class RunCache:
    """Runs each (analysis, parameters) once; sections and figure contexts reuse the frames."""

    def __init__(self, study: Study, overrides: dict[str, dict[str, str]]) -> None:
        self.study, self.overrides = study, overrides
        self._results: dict[str, RunResult] = {}
        self._by_params: dict[tuple[str, str], RunResult] = {}

    def get(self, run: Run) -> RunResult:
        if run.key not in self._results:
            params = make_params(run, self.overrides)
            same = self._by_params.get((run.analysis, repr(params)))
            result = dataclasses.replace(same, run=run) if same else self._compute(run, params)
            self._results[run.key] = result
            self._by_params[(run.analysis, repr(params))] = result
        return self._results[run.key]

    def _compute(self, run: Run, params: Any) -> RunResult:
        started = time.perf_counter()
        if run.derive is not None:
            source = self.get(next(r for r in planned_runs() if r.key == run.derive[0]))
            # only when the two runs differ by this run's variant alone (e.g. summary=True) or by
            # parameters that the source analysis does not have (e.g. qoe-effects' test sizes)
            same_input = source.frame is not None and all(
                hasattr(params, f.name) and getattr(params, f.name) == getattr(source.params, f.name)
                for f in dataclasses.fields(source.params) if f.name not in run.variant)
            if same_input:
                frame = run.derive[1](source.frame, self.study, params)
                return RunResult(run, params, frame, time.perf_counter() - started)
        try:
            frame = ANALYSES[run.analysis].run(self.study, params)
        except UcnError as exc:  # a study without the data this analysis needs
            return RunResult(run, params, None, time.perf_counter() - started, str(exc))
        return RunResult(run, params, frame, time.perf_counter() - started)

    def results(self) -> list[RunResult]:
        return list(self._results.values())
