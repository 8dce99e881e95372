"""Named configurations: a chain of filters and a detector.

The original's four (final_algorithm, reference 4.4 phase C), all on events the importer-level
lists did not flag (its traces were `matches_blacklist = 'f'` / `matches_urlblacklist = 'f'`),
turned into seconds by the window rule with W = `window`:

| name | host block list | 1-s repeat filter (keep last) | periodicity filter (5-min blocks) |
|---|---|---|---|
| original/not_filtered | - | - | - |
| original/blist_filtered | yes | - | - |
| original/interval_filtered | - | yes | yes |
| original/filtered | yes | yes | yes |

Its block list was an exact-host match of blacklist.txt (lost; the bundled list and any
Adblock files stand in for it). ucnstudy's configurations use subdomain-aware lists, the
corrected filters on whole series, the beacon score, and activities instead of the window rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ucnstudy.inference.beacon import BeaconFilter
from ucnstudy.inference.detectors import ActivityDetector, Detector, WindowDetector
from ucnstudy.inference.filters import BlocklistFilter, EventFilter, RepeatFilter, UserFlagFilter
from ucnstudy.inference.learned import LearnedDetector
from ucnstudy.inference.params import UcnParams
from ucnstudy.inference.periodicity import PeriodicityFilter


@dataclass(frozen=True)
class ListedFlagFilter:
    """Drops events the enrichment flagged as listed (the original's importer-level lists)."""

    name: str = "listed-flag"

    def keep(self, events: pd.DataFrame) -> np.ndarray:
        return ~events["listed"].fillna(False).to_numpy(bool)


@dataclass
class Config:
    name: str
    family: str  # "original" or "ucnstudy"
    filters: Sequence[EventFilter]
    detector: Detector | LearnedDetector
    description: str = ""
    tags: dict[str, object] = field(default_factory=dict)

    @property
    def learned(self) -> bool:
        return isinstance(self.detector, LearnedDetector)


def original_configs(window: int = 0, extra_hosts: set[str] | None = None) -> list[Config]:
    """The original's four configurations with the window rule W = window."""
    blist = BlocklistFilter(hosts=extra_hosts or set(), exact=True, use_flags=False, drop_home=True)
    seconds = RepeatFilter(min_gap=1.0, keep_which="last")
    spikes = PeriodicityFilter(block=300)
    base: list[EventFilter] = [ListedFlagFilter()]
    chains = {
        "not_filtered": (base, "importer-level lists only"),
        "blist_filtered": ([*base, blist], "plus the host block list"),
        "interval_filtered": ([*base, seconds, spikes], "plus the 1-s and periodicity filters"),
        "filtered": ([*base, blist, seconds, spikes], "all filters"),
    }
    return [
        Config(f"original/{name}/W={window}", "original", chain, WindowDetector(window), text,
               {"window": window})
        for name, (chain, text) in chains.items()
    ]


def ucnstudy_configs(p: UcnParams | None = None, extra_hosts: set[str] | None = None,
                     learned: bool = True) -> list[Config]:
    p = p or UcnParams()
    activities = ActivityDetector(gap=p.gap, min_events=p.min_events, tail=p.tail)
    blist = BlocklistFilter(hosts=extra_hosts or set())
    repeat = RepeatFilter(min_gap=1.0, keep_which="first")
    beacon = BeaconFilter(threshold=p.beacon_threshold)
    configs = [
        Config("ucn/activities", "ucnstudy", [ListedFlagFilter()], activities,
               "activities on unfiltered events (baseline)"),
        Config("ucn/filters", "ucnstudy", [blist, repeat, beacon, PeriodicityFilter()], activities,
               "block list, repeat, beacon and periodicity filters, then activities"),
        Config("ucn/user-flags", "ucnstudy", [UserFlagFilter(), blist, repeat, beacon], activities,
               "enrichment's user flags, block list, repeat and beacon filters, then activities"),
    ]
    if learned:
        configs.append(Config(
            "ucn/learned", "ucnstudy", [],
            LearnedDetector(threshold=p.learned_threshold, folds=p.learned_folds,
                            max_train=p.learned_max_train, max_iter=p.learned_max_iter,
                            activity=ActivityDetector(gap=p.gap, min_events=p.min_events, tail=p.tail)),
            "gradient boosting on per-event features (leave-one-device-out), then activities"))
    return configs
