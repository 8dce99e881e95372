"""The demo's network quality: TCP performance per flow by network, heavy-loss days and the
planted shortening of the sensitive users' sessions, computed from the generated chunks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from ucnstudy.demo import DemoParams, iter_chunks, qos
from ucnstudy.demo import generate as generate_module
from ucnstudy.demo.population import HOME_ISPS, MOBILE_NETWORKS, WORK_NETWORKS, build_population
from ucnstudy.demo.rhythms import LocalDays
from ucnstudy.demo.sessions import Segments, Sessions
from ucnstudy.schema import _TCP_PERFORMANCE

PARAMS = DemoParams(users=4, days=7, seed=5)
TCP_COLUMNS = [c.name for c in _TCP_PERFORMANCE]
CELLULAR = {n[1] for nets in MOBILE_NETWORKS.values() for n in nets}
WORK = {n[1] for n in WORK_NETWORKS.values()}
HOME = {n[1] for isps in HOME_ISPS.values() for n in isps} - CELLULAR


@pytest.fixture(scope="module")
def spied() -> tuple[list[Any], list[tuple[str, np.ndarray]]]:
    calls: list[tuple[str, np.ndarray]] = []
    original = generate_module.shorten

    def spy(sessions: Sessions, factor: np.ndarray) -> Sessions:
        calls.append(("call", factor.copy()))
        return original(sessions, factor)

    mp = pytest.MonkeyPatch()
    mp.setattr(generate_module, "shorten", spy)
    chunks = list(iter_chunks(PARAMS))
    mp.undo()
    return chunks, calls


def _flows(chunks: list[Any]) -> pa.Table:
    return pa.concat_tables([c.tables["flows"] for c in chunks[1:]])


def test_tcp_flows_carry_performance_and_udp_flows_none(spied: tuple) -> None:
    flows = _flows(spied[0])
    tcp = flows.filter(pa.compute.equal(flows["proto"], 6))
    udp = flows.filter(pa.compute.equal(flows["proto"], 17))
    assert tcp.num_rows > 1000 and udp.num_rows > 100
    for name in TCP_COLUMNS:
        assert udp[name].null_count == udp.num_rows, name
    for name in ("retrans_pkts_in", "dupacks_out", "bulk_secs_in", "applimited_secs_in", "rtt_access_n"):
        assert tcp[name].null_count == 0, name
    first = tcp["hs_rtt_access_ms"].is_valid().to_numpy(zero_copy_only=False)
    assert 0.5 < first.mean() < 1.0  # the first flow of a connection saw the handshake
    retrans = tcp["retrans_pkts_in"].to_numpy()
    assert (retrans <= tcp["packets_in"].to_numpy()).all()
    assert (tcp["bulk_secs_in"].to_numpy() + tcp["applimited_secs_in"].to_numpy()
            >= 0.999 * (tcp["endts"].cast(pa.int64()).to_numpy()
                        - tcp["startts"].cast(pa.int64()).to_numpy()) / 1e6 - 1e-6).all()


def _network_kind(chunk: Any) -> tuple[np.ndarray, np.ndarray]:
    """(access RTT, network kind) of the TCP flows covered by a VPN location row."""
    loc = chunk.tables["locations"].filter(pa.compute.equal(chunk.tables["locations"]["source"], "vpn"))
    flows = chunk.tables["flows"].filter(pa.compute.equal(chunk.tables["flows"]["proto"], 6))
    t = flows["startts"].cast(pa.int64()).to_numpy()
    lo = loc["entertime"].cast(pa.int64()).to_numpy()
    hi = loc["exittime"].cast(pa.int64()).to_numpy()
    names = np.array(loc["net_asname"].to_pylist(), dtype=object)
    kind = np.full(t.size, "", dtype=object)
    for a, b, name in zip(lo, hi, names, strict=True):
        inside = (t >= a) & (t < b)
        kind[inside] = "cellular" if name in CELLULAR else "work" if name in WORK else "home"
    return flows["rtt_access_mean_ms"].to_numpy(zero_copy_only=False), kind


def test_cellular_is_slower_than_home_and_work_is_best(spied: tuple) -> None:
    parts = [_network_kind(c) for c in spied[0][1:]]
    rtt = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts])
    med = {k: np.nanmedian(rtt[kind == k]) for k in ("cellular", "home", "work")}
    assert med["cellular"] > 3 * med["home"] and med["home"] > med["work"], med


def test_network_profiles_evening_congestion_and_heavy_days() -> None:
    pop = build_population(PARAMS)
    phone = next(d for d in pop.devices if d.devtype == "phone")
    days = LocalDays.build(pop.timezone(phone), PARAMS.start, 2)
    lo, _ = days.day_bounds_utc()
    start = np.array([lo[0]])
    plan = (start, start + 86400 * 2, np.array(["home"], dtype=object))
    noon, evening = lo[0] + 12 * 3600, lo[0] + 20 * 3600
    calm = np.zeros(2, bool)
    rtt, loss, _ = qos.conditions(phone, plan, days, calm, np.array([noon, evening]))
    assert rtt[1] == pytest.approx(rtt[0] * qos.EVENING_RTT)
    assert loss[1] == pytest.approx(loss[0] * qos.EVENING_LOSS)
    _, heavy_loss, _ = qos.conditions(phone, plan, days, np.array([True, False]),
                                      np.array([noon, lo[1] + 3600]))
    assert heavy_loss.tolist() == [qos.HEAVY_LOSS, qos.PROFILES[qos.HOME][2]]
    away = (start, start + 1, np.array(["home"], dtype=object))  # no place: on the way, cellular
    rtt_away, _, cap = qos.conditions(phone, away, days, calm, np.array([noon]))
    assert rtt_away[0] == qos.PROFILES[qos.CELLULAR][0] and cap[0] == qos.PROFILES[qos.CELLULAR][3]


def test_heavy_days_are_lossy(spied: tuple) -> None:
    pop = build_population(PARAMS)
    by_id = {d.id: d for d in pop.devices}
    rates: dict[bool, list[float]] = {True: [], False: []}
    for chunk in spied[0][1:]:
        devid, block = (int(p.split("=")[1]) for p in chunk.key.split(","))
        device = by_id[devid]
        first = block * PARAMS.chunk_days
        days = LocalDays.build(pop.timezone(device), PARAMS.start + timedelta(days=first),
                               min(PARAMS.chunk_days, PARAMS.days - first))
        heavy = qos.heavy_days(PARAMS.seed, device, block, days)
        f = chunk.tables["flows"].filter(pa.compute.equal(chunk.tables["flows"]["proto"], 6))
        on = heavy[qos.day_of(days, f["startts"].cast(pa.int64()).to_numpy() / 1e6)]
        for flag in (True, False):
            pk = f["packets_in"].to_numpy()[on == flag].sum()
            if pk:
                rates[flag].append(f["retrans_pkts_in"].to_numpy()[on == flag].sum() / pk)
    assert np.median(rates[True]) == pytest.approx(qos.HEAVY_LOSS, rel=0.2)
    assert np.median(rates[False]) < qos.HEAVY_LOSS / 3


def test_only_sensitive_users_sessions_are_shortened_on_heavy_days(spied: tuple) -> None:
    _, calls = spied
    pop = build_population(PARAMS)
    sensitive = [d for d in pop.devices if qos.qos_sensitive(d.owners[0])]
    assert 0 < len(sensitive) < len(pop.devices)
    assert len(calls) == len(sensitive) * PARAMS.blocks
    factors = np.concatenate([f for _, f in calls])
    assert set(np.unique(factors)) <= {qos.EFFECT_FACTOR, 1.0}
    assert 0.1 < (factors == qos.EFFECT_FACTOR).mean() < 0.6


def test_shorten_keeps_the_share_and_cuts_segments() -> None:
    seg = Segments(np.array([0.0, 50.0, 100.0]), np.array([40.0, 90.0, 200.0]), np.zeros(3, int),
                   np.array([0, 0, 1]), np.array(["a", "b", "c"], dtype=object))
    s = Sessions(np.array([0.0, 100.0]), np.array([90.0, 200.0]), seg, np.array([0.0]), np.array([300.0]))
    out = qos.shorten(s, np.array([0.4, 1.0]))
    assert out.end.tolist() == [36.0, 200.0]
    assert out.segments.start.tolist() == [0.0, 100.0] and out.segments.end.tolist() == [36.0, 200.0]
    assert out.segments.app.tolist() == ["a", "c"]
