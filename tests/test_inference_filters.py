"""Every filter against plain-Python references on small hand-made cases."""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ucnstudy.errors import InputError
from ucnstudy.inference.beacon import BeaconFilter, beacon_scores
from ucnstudy.inference.data import normalise_events
from ucnstudy.inference.filters import (
    BlocklistFilter,
    RepeatFilter,
    UserFlagFilter,
    apply_filters,
    bundled_hosts,
    parse_host_list,
)
from ucnstudy.inference.periodicity import ORIGINAL_GRID, PeriodicityFilter, ecdf_gap, round_iats


def events(rows: list[tuple]) -> pd.DataFrame:
    return normalise_events(pd.DataFrame(rows, columns=["devid", "ts", "host"]))


# -- block lists ------------------------------------------------------------------------------

def test_parse_host_list_reads_plain_hosts_files_and_adblock_host_rules():
    text = ["! comment", "[Adblock Plus 2.0]", "||ads.example.com^", "||track.net^$third-party",
            "@@||good.com^", "example.org##.banner", "||cdn.x.com/path/ad.js", "0.0.0.0 bad.host.com",
            "plain.example.net", "# note", ""]
    assert parse_host_list(text) == {"ads.example.com", "track.net", "bad.host.com", "plain.example.net"}
    with pytest.raises(InputError, match="line 1"):
        parse_host_list(["notahost"], "list.txt")


def test_blocklist_matches_subdomains_unless_exact_and_drops_empty_and_home():
    ev = events([(1, 1.0, "a.track.net"), (1, 2.0, "track.net"), (1, 3.0, "nottrack.net"),
                 (1, 4.0, ""), (1, 5.0, "router.home"), (1, 6.0, "www.bbc.co.uk")])
    f = BlocklistFilter(hosts={"track.net"}, bundled=False)
    assert f.keep(ev).tolist() == [False, False, True, False, False, True]
    exact = BlocklistFilter(hosts={"track.net"}, bundled=False, exact=True)
    assert exact.keep(ev).tolist() == [True, False, True, False, False, True]


def test_blocklist_uses_the_bundled_list_and_the_enrichment_flags():
    assert "doubleclick.net" in bundled_hosts()
    ev = normalise_events(pd.DataFrame({"devid": [1, 1, 1], "ts": [1.0, 2.0, 3.0],
                                        "host": ["ad.doubleclick.net", "x.org", "y.org"],
                                        "listed": [None, True, False]}))
    assert BlocklistFilter().keep(ev).tolist() == [False, False, True]
    assert BlocklistFilter(use_flags=False).keep(ev).tolist() == [False, True, True]


def test_user_flag_filter_na_semantics():
    ev = normalise_events(pd.DataFrame({"devid": [1, 1, 1], "ts": [1.0, 2.0, 3.0],
                                        "user_flag": [True, False, None]}))
    assert UserFlagFilter().keep(ev).tolist() == [True, False, True]
    assert UserFlagFilter(missing="drop").keep(ev).tolist() == [True, False, False]


# -- repeat filter ----------------------------------------------------------------------------

def reference_repeat(rows: list[tuple], gap: float, which: str) -> list[bool]:
    keep = []
    for i, (d, t, h) in enumerate(rows):
        same = sorted(t2 for j, (d2, t2, h2) in enumerate(rows) if d2 == d and h2 == h and j != i)
        if which == "first":
            prev = [t2 for t2 in same if t2 <= t]
            keep.append(not prev or t - max(prev) > gap)
        else:
            nxt = [t2 for t2 in same if t2 >= t]
            keep.append(not nxt or min(nxt) - t > gap)
    return keep


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2), st.integers(0, 4000).map(lambda v: v / 100),
                          st.sampled_from(["a", "b", "c"])), max_size=30, unique_by=lambda r: r[1]),
       st.sampled_from(["first", "last"]))
def test_repeat_filter_matches_reference(rows, which):
    ev = events(rows)
    got = RepeatFilter(1.0, which).keep(ev)
    ordered = list(ev[["devid", "ts", "host"]].itertuples(index=False, name=None))
    assert got.tolist() == reference_repeat(ordered, 1.0, which)


def test_repeat_filter_keeps_a_single_event_host():
    ev = events([(1, 10.0, "solo"), (1, 10.5, "pair"), (1, 11.0, "pair")])
    assert RepeatFilter(keep_which="last").keep(ev).tolist() == [True, False, True]


# -- periodicity filter -----------------------------------------------------------------------

def reference_round(x: float) -> float:
    if x <= 5:
        return float(int(x + 0.5))
    grid = list(ORIGINAL_GRID)
    for lo, hi in itertools.pairwise(grid):
        if x <= (lo + hi) / 2:
            return float(lo)
    return float(grid[-1])


def test_round_iats_follows_the_original_grid():
    xs = [0.4, 0.5, 4.6, 5.0, 5.1, 15.0, 15.1, 50.0, 51.0, 75.0, 76.0, 270.0, 271.0, 40000.0, 1e6]
    assert round_iats(np.array(xs)).tolist() == [reference_round(x) for x in xs]
    assert round_iats(np.array([15.0, 15.1, 1e6])).tolist() == [10.0, 20.0, 43200.0]


def test_ecdf_gap_is_the_first_value_above_the_quantile():
    r = np.array([1.0] * 9 + [60.0])
    assert ecdf_gap(r, 0.9) == 60.0  # y(1) = 0.9 is not > 0.9
    assert ecdf_gap(np.array([1.0] * 10), 0.9) == 1.0


def reference_periodicity(ts: list[float], f: PeriodicityFilter) -> list[bool]:
    return reference_periodicity_run(ts, f)[0]


def reference_periodicity_run(ts: list[float], f: PeriodicityFilter) -> tuple[list[bool], bool]:
    """The definition of reference 4.4 phase B, written with plain loops: the keep mask, and
    whether a whole interval was periodic."""
    alive = list(range(len(ts)))
    whole = False
    while len(alive) >= 3:
        t = [ts[i] for i in alive]
        r = [reference_round(b - a) for a, b in itertools.pairwise(t)]
        srt = sorted(r)
        gap = next(v for v in srt if sum(1 for x in r if x <= v) / len(r) > f.gap_quantile)
        groups, cur = [], [0]
        for k, v in enumerate(r):
            if v > gap:
                groups.append(cur)
                cur = [k + 1]
            else:
                cur.append(k + 1)
        groups.append(cur)
        dropped: set[int] = set()
        for g in groups:
            iats = [r[k] for k in g[:-1]]
            n = len(iats)
            if n < 2:
                continue
            share = f.share_small if n <= f.small_max else f.share_large
            cands = [(iats.count(v), v) for v in set(iats) if v != 0 and iats.count(v) / n > share]
            if not cands:
                continue
            real, v = max(cands, key=lambda c: (c[0], -c[1]))
            theo = int((t[g[-1]] - t[g[0]]) / v + 0.5)
            margin = 0.2 if theo <= 10 else 0.15 if theo <= 100 else 0.1
            if real >= theo * (1 - margin):
                dropped |= set(g)
                whole = True
            else:
                dropped |= {k for k in g[1:] if r[k - 1] == v}
        if not dropped:
            break
        alive = [i for j, i in enumerate(alive) if j not in dropped]
    return [i in set(alive) for i in range(len(ts))], whole


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([1.0, 2.0, 10.0, 60.0, 61.0, 300.0, 700.0, 3600.0]), min_size=2, max_size=25))
def test_periodicity_matches_reference(iats):
    ts = np.cumsum([0.0, *iats])
    f = PeriodicityFilter()
    got, _ = f.filter_series(ts)
    assert got.tolist() == reference_periodicity(ts.tolist(), f)


def reference_keep(ev: pd.DataFrame, f: PeriodicityFilter) -> list[bool]:
    """Each (device, host[, block]) series on its own through the loop reference, in time order
    (ties in row order); a series with a whole periodic interval drops its host everywhere when
    hosts are shared."""
    keep = [True] * len(ev)
    periodic: set[str] = set()
    rows = list(ev.itertuples(index=False))
    series: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        block = (int(row.ts // f.block),) if f.block else ()
        series.setdefault((row.devid, row.host, *block), []).append(i)
    for (_, host, *_), idx in series.items():
        if len(idx) < 3:
            continue
        idx = sorted(idx, key=lambda i: rows[i].ts)
        alive, whole = reference_periodicity_run([rows[i].ts for i in idx], f)
        for i, a in zip(idx, alive, strict=True):
            keep[i] = a
        if f.share_hosts and whole:
            periodic.add(host)
    return [k and (rows[i].host not in periodic) for i, k in enumerate(keep)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.sampled_from(["a.com", "b.net", "c.org"]),
                          st.sampled_from([0.0, 1.0, 2.0, 10.0, 60.0, 61.0, 300.0, 700.0])),
                min_size=0, max_size=80),
       st.sampled_from([None, 300]), st.booleans())
def test_periodicity_keep_filters_every_series_as_the_reference(steps, block, share):
    """All series filtered at once (one round over every series) equal each series on its own."""
    clock: dict[tuple[int, str], float] = {}
    rows = []
    for dev, host, gap in steps:
        clock[dev, host] = clock.get((dev, host), 1000.0) + gap
        rows.append((dev, clock[dev, host], host))
    ev = events(rows)
    f = PeriodicityFilter(block=block, share_hosts=share)
    assert f.keep(ev).tolist() == reference_keep(ev, f)


def test_periodicity_drops_a_beacon_and_keeps_irregular_user_events():
    beacon = [(1, 1000.0 + 60 * k, "beacon.net") for k in range(30)]
    user = [(1, t, "site.com") for t in (1000.0, 1003.0, 1010.0, 1100.0, 1400.0, 1404.0, 2500.0)]
    ev = events(beacon + user)
    keep = PeriodicityFilter().keep(ev)
    assert not keep[(ev["host"] == "beacon.net").to_numpy()].any()
    assert keep[(ev["host"] == "site.com").to_numpy()].all()


def test_periodicity_shared_hosts_only_when_a_whole_interval_was_periodic():
    beacon = [(1, 60.0 * k, "b.net") for k in range(20)] + [(2, 5.0, "b.net"), (2, 900.0, "b.net")]
    ev = events(beacon)
    assert PeriodicityFilter().keep(ev)[ev["devid"].to_numpy() == 2].all()
    assert not PeriodicityFilter(share_hosts=True).keep(ev).any()


# -- beacon score -----------------------------------------------------------------------------

def reference_beacon(ts: list[float], sizes: list[float] | None, offline_factor: float | None) -> float:
    def robust(xs: list[float]) -> tuple[float, float, float]:
        q1, q2, q3 = (float(np.quantile(xs, q)) for q in (0.25, 0.5, 0.75))
        skew = 0.0 if q3 == q1 else (q1 + q3 - 2 * q2) / (q3 - q1)
        madm = statistics.median(abs(x - q2) for x in xs)
        disp = (madm / q2) if q2 > 0 else (1.0 if madm > 0 else 0.0)
        return 1 - min(abs(skew), 1), 1 - min(max(disp, 0), 1), q2

    iats = [b - a for a, b in itertools.pairwise(ts)]
    if offline_factor:
        usual = statistics.median(iats)
        iats = [x for x in iats if x <= usual * offline_factor]
    s1, s2, med = robust(iats)
    coverage = 1.0 if med <= 0 else min(len(iats) / (sum(iats) / med), 1.0)
    timing = (s1 + s2 + coverage) / 3
    if not sizes:
        return timing
    z1, z2, _ = robust(sizes)
    return (timing + (z1 + z2) / 2) / 2


def test_beacon_scores_match_reference():
    rng = np.random.default_rng(3)
    regular = np.arange(0, 6000, 60.0) + rng.normal(0, 2, 100)
    bursty = np.sort(rng.uniform(0, 6000, 40))
    sizes = rng.lognormal(8, 1, 40)
    ev = normalise_events(pd.DataFrame({
        "devid": [1] * 140, "ts": np.r_[regular, bursty], "host": ["b"] * 100 + ["u"] * 40,
        "size": np.r_[np.full(100, np.nan), sizes]}))
    u_sizes = ev[ev["host"] == "u"]["size"].tolist()
    for factor in (None, 3.0):
        scores = beacon_scores(ev, offline_factor=factor).set_index("host")["score"]
        assert scores["b"] == pytest.approx(reference_beacon(sorted(regular.tolist()), None, factor))
        assert scores["u"] == pytest.approx(reference_beacon(sorted(bursty.tolist()), u_sizes, factor))
        assert scores["b"] > 0.9 > scores["u"]
    keep = BeaconFilter(threshold=0.9).keep(ev)
    assert keep.tolist() == (ev["host"] == "u").tolist()


def test_beacon_score_ignores_offline_gaps():
    # a 60-s beacon that only runs while a laptop is awake: four 1-hour stretches a day apart
    ts = np.concatenate([d * 86400 + np.arange(0, 3600, 60.0) for d in range(4)])
    ev = normalise_events(pd.DataFrame({"devid": 1, "ts": ts, "host": "b"}))
    assert beacon_scores(ev, offline_factor=3.0)["score"].iloc[0] == pytest.approx(1.0)
    assert beacon_scores(ev, offline_factor=None)["score"].iloc[0] < 0.8


def test_filters_compose_in_order():
    ev = events([(1, 1.0, "a.com"), (1, 1.5, "a.com"), (1, 2.0, "ads.x.com"), (1, 9.0, "b.com")])
    kept = apply_filters(ev, [BlocklistFilter(hosts={"x.com"}, bundled=False), RepeatFilter()])
    assert kept["ts"].tolist() == [1.0, 9.0]
