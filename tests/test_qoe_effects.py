"""qoe-effects: a planted effect of loss on durations is recovered for the users it was planted
in and not found in the others; cells, classes and tests checked against plain Python + scipy."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analyses_builders import Builder, at
from ucnstudy import open_study
from ucnstudy.analyses.qoe_effects import (
    ALL,
    COLUMNS,
    MANN_WHITNEY,
    WILCOXON,
    QoeEffectsParams,
    classify,
    effects,
    qoe_effects,
)
from ucnstudy.params import ParameterError

FACTOR = 0.4  # planted: high-loss activities of sensitive users keep this share of their length
TERCILES = QoeEffectsParams(qos_classes="terciles")
T0 = datetime(2015, 3, 2)


def planted(users: dict[str, bool], n: int = 90, seed: int = 1) -> pd.DataFrame:
    """activity-qoe-like rows: loss uniform; the top third of a sensitive user's losses shortened."""
    rng = np.random.default_rng(seed)
    rows = []
    for user, sensitive in users.items():
        loss = rng.uniform(0, 0.05, n)
        high = loss > np.quantile(loss, 2 / 3)
        duration = np.exp(rng.normal(6, 0.6, n)) * np.where(high & sensitive, FACTOR, 1.0)
        for i in range(n):
            rows.append({"username": user, "start": T0 + timedelta(hours=i), "duration_s": duration[i],
                         "bytes": duration[i] * 1000, "device_type": "phone", "network_type": "home",
                         "net_tcp_packets": 500, "net_rtt_access_ms": rng.uniform(5, 50),
                         "net_retrans_rate": loss[i]})
    return pd.DataFrame(rows)


def row(df: pd.DataFrame, user: str, factor: str = "loss_class", level: str = "high",
        measure: str = "duration_rel") -> pd.Series:
    hit = df[(df.username == user) & (df.factor == factor) & (df.level == level) & (df.measure == measure)]
    assert len(hit) == 1
    return hit.iloc[0]


USERS = {"s1": True, "s2": True, "s3": True, "n1": False, "n2": False, "n3": False}


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    return effects(planted(USERS), TERCILES)


def test_recovers_the_planted_effect_only_where_planted(result: pd.DataFrame) -> None:
    assert list(result.columns) == COLUMNS
    for user, sensitive in USERS.items():
        r = row(result, user)
        assert r.test == MANN_WHITNEY and r.n == r.n_ref == 30
        if sensitive:
            assert r.p_value < 0.01 and 0.25 < r.ratio < 0.65 and r.effect < -0.4, r.to_dict()
        else:
            assert r.p_value > 0.01 and 0.7 < r.ratio < 1.45, r.to_dict()


def test_cells_and_p_values_equal_plain_python(result: pd.DataFrame) -> None:
    acts = planted(USERS)
    for user in USERS:
        mine = acts[acts.username == user].sort_values("start")
        loss = mine.net_retrans_rate.tolist()
        order = sorted(range(len(loss)), key=lambda i: (loss[i], i))  # ties in time order
        typical = float(np.median(mine.duration_s))  # one stratum: the user's median
        low = [mine.duration_s.iloc[i] / typical for i in order[:30]]
        high = [mine.duration_s.iloc[i] / typical for i in order[60:]]
        r = row(result, user)
        assert r["median"] == pytest.approx(float(np.median(high)))
        assert r.median_ref == pytest.approx(float(np.median(low)))
        want = stats.mannwhitneyu(high, low, alternative="two-sided")
        assert r.p_value == pytest.approx(want.pvalue)
        assert r.effect == pytest.approx(2 * want.statistic / (30 * 30) - 1)


def test_over_all_users_a_paired_test_of_the_per_user_ratios(result: pd.DataFrame) -> None:
    mixed = row(result, "(all users)")
    assert mixed.test == WILCOXON and mixed.users == 6 and mixed.n == mixed.n_ref == 180
    ratios = [row(result, u).ratio for u in USERS]
    assert mixed.p_value == pytest.approx(stats.wilcoxon(np.log(ratios)).pvalue)
    everyone = effects(planted(dict.fromkeys(USERS, True)), TERCILES)
    assert row(everyone, "(all users)").p_value < 0.05  # all six ratios below 1: 2/64
    assert row(everyone, "(all users)").ratio < 0.65


def test_refuses_a_test_on_too_few() -> None:
    df = effects(planted({"a": True, "b": False}, n=12),
                 QoeEffectsParams(min_activities=5, qos_classes="terciles"))
    r = row(df, "a")
    assert r.n == 4 and np.isnan(r.p_value) and r.test == "" and "too few activities" in r.note
    overall = row(df, "(all users)")
    assert np.isnan(overall.p_value) and "too few users" in overall.note


def test_no_class_without_enough_packets() -> None:
    acts = planted({"a": True}, n=30)
    acts.loc[acts.index[:10], "net_tcp_packets"] = 10
    df = effects(acts, QoeEffectsParams(min_activities=3, min_packets=50, qos_classes="terciles"))
    assert row(df, "a").n + row(df, "a", level="mid").n + row(df, "a").n_ref == 20
    assert row(df, "a", factor="rtt_class").n_ref == 10  # RTT needs no packet count


def test_on_a_study_through_the_activity_qoe_query() -> None:
    """Three users with lossy activities that end sooner, three without, in a study."""
    b = Builder()
    rng = np.random.default_rng(4)
    for k, (user, sensitive) in enumerate(USERS.items()):
        b.user(user)
        login = f"{user}.phone"
        b.device(login, user, platform="iphone", devtype="phone")
        for i in range(30):
            start = k * 10**6 + i * 3600.0
            lossy = i % 3 == 0
            length = 600 * rng.uniform(0.8, 1.2) * (FACTOR if lossy and sensitive else 1.0)
            for j in range(4):  # a site per activity: no host recurs hour after hour
                b.dns(login, at(start + j * length / 3), f"www.site{i}.com")
            b.add("flows", devid=b.dev(login), startts=at(start + 1), endts=at(start + 9), proto=6,
                  packets_in=400, packets_out=200, retrans_pkts_in=40 if lossy else int(rng.integers(0, 3)),
                  retrans_pkts_out=0, rtt_access_mean_ms=10.0)
    with open_study(":memory:") as study:
        study.create_schema()
        df = qoe_effects(b.load(study), QoeEffectsParams(min_activities=8))
    for user, sensitive in USERS.items():
        r = row(df, user)
        assert r.n == 10 and r.n_ref == 20  # loss 40/600 is high, at most 2/600 low
        if sensitive:
            assert r.p_value < 0.001 and r.ratio == pytest.approx(FACTOR, rel=0.25)
        else:
            assert r.p_value > 0.05 and r.ratio == pytest.approx(1.0, rel=0.25)


def test_fixed_bounds_classes_equal_plain_python() -> None:
    acts = planted({"a": True}, n=60)
    acts.loc[acts.index[:6], "net_retrans_rate"] = [0.0, 0.0099, 0.01, 0.0299, 0.03, np.nan]
    acts.loc[acts.index[6], "net_tcp_packets"] = 49  # too few packets for a loss class
    got = classify(acts, QoeEffectsParams(loss_bounds="0.01,0.03"))
    for i, r in got.iterrows():
        loss = acts.loc[i, "net_retrans_rate"]
        want = (None if np.isnan(loss) or acts.loc[i, "net_tcp_packets"] < 50
                else "low" if loss < 0.01 else "mid" if loss < 0.03 else "high")
        assert r.loss_class == want, (i, loss)
        rtt = acts.loc[i, "net_rtt_access_ms"]
        assert r.rtt_class == ("low" if rtt < 20 else "mid" if rtt < 60 else "high")
    for bad in ("0.03", "0.03,0.01", "a,b", "-1,2"):
        with pytest.raises(ParameterError, match="loss-bounds"):
            QoeEffectsParams(loss_bounds=bad)


def test_qos_met_on_another_device_is_not_its_effect() -> None:
    """Poor QoS only on the laptop, whose activities are longer, and no effect planted: the raw
    durations would show one (laptop against phone); the stratum-relative measure does not."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(120):
        laptop = i % 2 == 0
        rows.append({"username": "u", "start": T0 + timedelta(hours=i), "device_type":
                     "laptop" if laptop else "phone", "network_type": "home",
                     "duration_s": np.exp(rng.normal(7 if laptop else 5, 0.5)), "bytes": 1e5,
                     "net_tcp_packets": 500, "net_rtt_access_ms": 10.0,
                     "net_retrans_rate": (0.05 if i % 4 == 0 else 0.0) if laptop else 0.0})
    df = effects(pd.DataFrame(rows), QoeEffectsParams())
    r = row(df, "u")
    assert r.n == 30 and r.n_ref == 90
    assert 0.6 < r.ratio < 1.6 and r.p_value > 0.05
    raw = pd.DataFrame(rows).assign(high=lambda d: d.net_retrans_rate >= 0.03)
    assert raw[raw.high].duration_s.median() / raw[~raw.high].duration_s.median() > 3


@pytest.fixture(scope="module")
def demo_study(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The default demo study (`make demo`): its QoS effect is planted in odd user ids."""
    from ucnstudy.demo import DemoParams, generate_demo

    db = str(tmp_path_factory.mktemp("qoe-demo") / "demo.duckdb")
    with open_study(db) as study:
        study.create_schema()
        generate_demo(study, DemoParams())
    return db


def test_the_demo_plants_it_and_qoe_effects_recovers_it(demo_study: str) -> None:
    """Sessions of sensitive users (odd ids) on heavy-loss days keep 0.4 of their length;
    nothing is planted for the others. Over the sensitive users the high-loss class is shorter
    (activities are cut from traffic, not sessions: the factor comes out diluted); over the
    others there is no significant difference."""
    from ucnstudy.demo.qos import EFFECT_FACTOR, qos_sensitive

    with open_study(demo_study, read_only=True) as study:
        users = study.sql("SELECT username, id FROM users")
        ids = dict(zip(users["username"], users["id"], strict=True))
        groups = {s: ",".join(sorted(u for u, i in ids.items() if qos_sensitive(i) == s))
                  for s in (True, False)}
        got = {s: qoe_effects(study, QoeEffectsParams(users=users)) for s, users in groups.items()}
    sensitive, others = row(got[True], ALL), row(got[False], ALL)
    assert sensitive.users >= 8 and others.users >= 8
    assert sensitive.test == others.test == WILCOXON
    assert sensitive.p_value < 0.05 and EFFECT_FACTOR < sensitive.ratio < 0.75, sensitive.to_dict()
    assert others.p_value > 0.05 and 0.75 < others.ratio < 1.35, others.to_dict()
    shorter = [r.ratio < 1 for _, r in got[True].iterrows()
               if r.scope == "user" and r.factor == "loss_class" and r.level == "high"
               and r.measure == "duration_rel" and r.test]
    assert sum(shorter) >= 0.7 * len(shorter)
