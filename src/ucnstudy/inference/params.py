"""The evaluation's parameters: ground truth, ucnstudy's detectors, the run and its sweeps.

Plain dataclasses that import nothing heavy: `ucn evaluate` generates its options from them
(`ucnstudy.cli.options`) and `study.evaluate(**params)` checks its keywords against them, so the
command line and the Python API take the same names. Nested groups (`ground_truth`, `ucn`) are
flattened: their field names are unique across the whole tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


def _help(text: str, **more: object) -> dict[str, object]:
    return {"help": text, **more}


@dataclass(frozen=True)
class GroundTruthParams:
    io_window: int = field(default=150, metadata=_help("seconds each IO event stands for", min=1))
    io_mode: Literal["extend", "bridge"] = field(
        default="extend", metadata=_help("extend: [t, t+io_window); bridge: the original's gap fill"))
    foreground: Literal["focused", "fullscreen", "none"] = field(
        default="focused", metadata=_help("which gt_foreground intervals count as active"))
    include_idle: bool = field(default=False, metadata=_help("keep intervals flagged idle"))
    merge_tolerance: int = field(default=1, metadata=_help("merge blocks whose gap is <= this (s)", min=0))
    intersect_traffic: bool = field(
        default=False, metadata=_help("keep only seconds with a devicetraffic row"))


@dataclass(frozen=True)
class UcnParams:
    gap: int = field(default=600, metadata=_help(
        "activity gap threshold (s): the analyses' (and the original's) inactivity limit", min=0))
    min_events: int = field(default=3, metadata=_help("events per activity", min=1))
    tail: int = field(default=60, metadata=_help("seconds added after an activity's last event", min=0))
    beacon_threshold: float = field(default=0.8, metadata=_help("beacon score cut"))
    learned_threshold: float = field(default=0.5, metadata=_help("learned detector's probability cut"))
    learned_folds: int | None = field(default=None, metadata=_help(
        "device folds of the learned detector (default: leave-one-device-out)", min=2))
    learned_max_train: int = field(default=300_000, metadata=_help("training rows sampled per fold"))
    learned_max_iter: int = field(default=200, metadata=_help("boosting iterations"))


@dataclass(frozen=True)
class EvaluationParams:
    tolerance: int = field(default=60, metadata=_help("seconds of tolerance per second", min=0))
    windows: tuple[int, ...] = field(default=(0, 5, 10), metadata=_help(
        "window rule W of the original's configurations"))
    ground_truth: GroundTruthParams = field(default_factory=GroundTruthParams)
    ucn: UcnParams = field(default_factory=UcnParams)
    blocklists: tuple[str, ...] = field(default=(), metadata=_help(
        "extra host or Adblock list file (repeatable)", option="--blocklist"))
    learned: bool = field(default=True, metadata=_help("run the learned detector"))
    truth_devices_only: bool = field(default=False, metadata=_help(
        "load only the events of devices with ground truth (cheaper)"))
    day_tolerances: tuple[int, ...] = field(default=(60, 900, 3600), metadata=_help(
        "tolerances (s) of the begin/end-of-day accuracy"))
    sweeps: bool = field(default=False, metadata=_help(
        "also sweep gap, W, thresholds and filters", option="--sweep"))
    sweep_gaps: tuple[int, ...] = field(default=(30, 60, 120, 300, 600, 1200),
                                        metadata=_help("activity gaps (s) of the sweep"))
    sweep_windows: tuple[int, ...] = field(default=(0, 1, 5, 10, 30, 60, 120),
                                           metadata=_help("windows W (s) of the sweep"))
    sweep_beacon: tuple[float, ...] = field(default=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
                                            metadata=_help("beacon thresholds of the sweep"))
    sweep_learned: tuple[float, ...] = field(default=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                                             metadata=_help("learned thresholds of the sweep"))
