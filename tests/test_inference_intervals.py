"""Interval arithmetic against sets of seconds (plain Python)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ucnstudy.inference.intervals import Intervals, intersect, subtract, sweep, union, window_rule

raw = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 40)), max_size=25)


def as_set(pairs: list[tuple[int, int]]) -> set[int]:
    return {s for a, n in pairs for s in range(a, a + n)}


def build(pairs: list[tuple[int, int]], tolerance: int = 0) -> Intervals:
    return union(np.array([a for a, _ in pairs], np.int64), np.array([a + n for a, n in pairs], np.int64),
                 tolerance)


@settings(max_examples=200, deadline=None)
@given(raw, st.integers(0, 5))
def test_union_covers_exactly_the_seconds_and_merges_small_gaps(pairs, tolerance):
    iv = build(pairs, tolerance)
    covered = as_set(pairs)
    expected = set(covered)
    for s in sorted(covered):  # reference: fill every gap of <= tolerance seconds between blocks
        nxt = min((c for c in covered if c > s), default=None)
        if nxt is not None and 1 < nxt - s <= tolerance + 1:
            expected |= set(range(s, nxt))
    assert set(iv.seconds().tolist()) == expected
    assert iv.total == len(expected)
    assert np.all(iv.starts[1:] > iv.ends[:-1] + tolerance)  # disjoint, non-touching


@settings(max_examples=200, deadline=None)
@given(raw, raw)
def test_intersect_subtract_and_sweep_match_set_algebra(a, b):
    ia, ib = build(a), build(b)
    sa, sb = as_set(a), as_set(b)
    assert set(intersect(ia, ib).seconds().tolist()) == sa & sb
    assert set(subtract(ia, ib).seconds().tolist()) == sa - sb
    lengths, mask = sweep(ia, ib)
    assert lengths[mask == 3].sum() == len(sa & sb)
    assert lengths[mask == 1].sum() == len(sa - sb)
    assert lengths[mask == 2].sum() == len(sb - sa)


@settings(max_examples=100, deadline=None)
@given(raw, st.integers(0, 10))
def test_dilate_and_complement(a, tol):
    ia = build(a)
    sa = as_set(a)
    expected = {s + d for s in sa for d in range(-tol, tol + 1)}
    assert set(ia.dilate(tol).seconds().tolist()) == expected
    assert set(ia.complement(0, 250).seconds().tolist()) == set(range(250)) - sa
    probe = np.arange(-5, 260)
    assert ia.contains(probe).tolist() == [int(p) in sa for p in probe]


def reference_window_rule(seconds: list[int], w: int) -> set[int]:
    """The original's get_interval_list_predefined_gap, without its bugs (bug 27)."""
    s = sorted(set(seconds))
    out: set[int] = set()
    for i, t in enumerate(s):
        out.add(t)
        if i + 1 < len(s) and s[i + 1] - t <= w:
            out |= set(range(t, s[i + 1]))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300), max_size=40), st.integers(0, 20))
def test_window_rule_matches_reference(seconds, w):
    assert set(window_rule(np.array(seconds, np.int64), w).seconds().tolist()) == \
        reference_window_rule(seconds, w)


def test_window_rule_single_event_yields_its_second():
    assert window_rule(np.array([42]), 10).seconds().tolist() == [42]  # the original gave nothing
