"""Packets whose capture time is outside the plausible window (ts 0, 2038, 2106, an all-ones
pcapng timestamp) are reported with their packet number and left out, like corrupt records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from ucnstudy.sources.pcap.decode import Packets
from ucnstudy.sources.timewindow import TimeWindow

_SHARED = ("buf", "view")  # the block's bytes: kept whole, offsets stay valid


def keep_plausible(p: Packets, window: TimeWindow, problem: Callable[[str, int], None]) -> Packets:
    """The packets inside `window`; the others are reported once per block (first one named)."""
    lo, hi = window.micros()
    bad = (p.ts_us < lo) | (p.ts_us > hi)
    if not bad.any():
        return p
    first = int(np.argmax(bad))
    count = int(np.count_nonzero(bad))
    what = window.outside_epoch(int(p.ts_us[first]) / 1e6)
    problem(f"{what}; {count:,} packet(s) of this block with such times were not counted",
            int(p.number[first]))
    keep = ~bad
    return dataclasses.replace(p, **{f.name: getattr(p, f.name)[keep]
                                     for f in dataclasses.fields(p) if f.name not in _SHARED})
