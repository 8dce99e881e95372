"""The demo generator: determinism, every table populated, and its planted structure, computed."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ucnstudy import open_study
from ucnstudy.cli import main
from ucnstudy.demo import COMPONENTS, SERVICES, DemoParams, generate_demo, iter_chunks
from ucnstudy.demo.rhythms import LocalDays
from ucnstudy.demo.world import SERVICE_BASE
from ucnstudy.schema import BOOKKEEPING, TABLES

# Nine days around the end of summer time (Sunday 25 October 2015 in France and the UK).
DST = DemoParams(users=6, days=9, seed=3, start=date(2015, 10, 21))
TZ = {"fr": "Europe/Paris", "uk": "Europe/London"}


@pytest.fixture(scope="module")
def chunks() -> list:
    return list(iter_chunks(DST))


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with open_study(path) as s:
        result = generate_demo(s, DST)
        s.demo_result = result  # type: ignore[attr-defined]
        yield s


def _concat(chunks: list, name: str) -> pa.Table:
    return pa.concat_tables([c.tables[name] for c in chunks if name in c.tables], promote_options="default")


def _user_events(chunks: list) -> pd.DataFrame:
    """Timestamps of user-initiated DNS and HTTP rows (planted truth), with the device's zone."""
    frames = []
    pop = {r["id"]: r for r in chunks[0].tables["devices"].to_pylist()}
    users = chunks[0].tables["users"].to_pandas().set_index("id")
    links = chunks[0].tables["user_devices"].to_pandas().groupby("device_id")["user_id"].min()
    for c in chunks[1:]:
        for name in ("dnsreqs", "httpreqs"):
            t = c.tables[name]
            if not t.num_rows:
                continue
            user = c.truth[name]["origin"] == 0
            devid = t["devid"][0].as_py()
            tz = users.loc[links[devid], "timezone"]
            ts = t["ts"].to_pandas()[user]
            frames.append(pd.DataFrame({"ts": ts.values, "tz": tz, "devid": devid}))
    assert pop
    return pd.concat(frames, ignore_index=True)


def _local_hours(events: pd.DataFrame) -> pd.Series:
    parts = [
        pd.Series(pd.DatetimeIndex(g["ts"]).tz_localize("UTC").tz_convert(tz).hour, index=g.index)
        for tz, g in events.groupby("tz")
    ]
    return pd.concat(parts).sort_index()


def test_same_seed_same_study_other_seed_other_study() -> None:
    small = DemoParams(users=3, days=2, seed=5)
    a, b = list(iter_chunks(small)), list(iter_chunks(small))
    assert [c.key for c in a] == [c.key for c in b]
    for x, y in zip(a, b, strict=True):
        assert x.tables.keys() == y.tables.keys()
        for name in x.tables:
            assert x.tables[name].equals(y.tables[name]), (x.key, name)
    other = list(iter_chunks(DemoParams(users=3, days=2, seed=6)))
    assert not all(
        x.tables.get("dnsreqs", pa.table({})).equals(y.tables.get("dnsreqs", pa.table({})))
        for x, y in zip(a[1:], other[1:], strict=False)
    )


def test_every_table_is_populated(study) -> None:
    counts = study.counts()
    assert set(counts) == set(TABLES)
    assert counts.pop("study_tasks") == 0  # nothing left pending
    # networks holds the networks a study declares in its manifest; the demo declares none
    assert counts.pop("networks") == 0
    assert all(n > 0 for n in counts.values()), counts
    assert study.demo_result.events == sum(
        counts[n]
        for n in counts
        if n not in ("users", "devices", "user_devices", "device_addresses", *BOOKKEEPING)
    )


def test_loading_the_demo_twice_adds_nothing(study) -> None:
    before = study.counts()
    again = generate_demo(study, DST, reset=False, enrich=False)
    assert again.skipped == again.chunks > 0 and not again.rows
    assert study.counts() == before


def test_cli_demo_recreates_the_same_study(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    args = ["--db", db, "demo", "--users", "2", "--days", "2", "--seed", "4", "--start", "2015-11-02"]
    assert main(args) == 0
    with open_study(db, read_only=True) as s:
        first = s.counts()
    assert main(args) == 0
    with open_study(db, read_only=True) as s:
        assert s.counts() == first
    assert main(["--db", db, "demo", "--start", "02/11/2015"]) == 2


def test_user_events_peak_in_the_evening_and_fall_at_night(chunks) -> None:
    hours = _local_hours(_user_events(chunks))
    share = hours.value_counts(normalize=True).reindex(range(24), fill_value=0)
    assert share.idxmax() in range(18, 24)
    assert share[19:23].sum() > 4 * share[2:6].sum()
    assert share[2:6].sum() < 0.04


def test_rhythm_stays_in_local_time_across_the_dst_change(chunks) -> None:
    events = _user_events(chunks)
    change = pd.Timestamp("2015-10-25 01:00")  # 01:00 UTC: both zones fall back
    hours = _local_hours(events)
    for half in (events["ts"] < change, events["ts"] >= change):
        share = hours[half].value_counts(normalize=True).reindex(range(24), fill_value=0)
        assert share[18:24].sum() > 0.3 and share[2:6].sum() < 0.08
    paris = LocalDays.build("Europe/Paris", date(2015, 10, 24), 3)
    utc = paris.to_utc(np.array([0, 1, 2]), np.array([20 * 3600.0] * 3))
    expected = [pd.Timestamp(f"2015-10-{d} 20:00", tz="Europe/Paris").timestamp() for d in (24, 25, 26)]
    assert list(utc) == expected
    start, end = paris.day_bounds_utc()
    assert list((end - start) / 3600) == [24, 25, 24]


def test_background_share_and_planted_hosts(chunks) -> None:
    origin = np.concatenate([c.truth["dnsreqs"]["origin"] for c in chunks[1:]])
    assert 0.45 < origin.mean() < 0.9
    http_origin = np.concatenate([c.truth["httpreqs"]["origin"] for c in chunks[1:]])
    assert 0.2 < http_origin.mean() < 0.7
    dns = _concat(chunks, "dnsreqs")
    comp = np.concatenate([c.truth["dnsreqs"]["component"] for c in chunks[1:]])
    query = np.array(dns["query"].to_pylist(), dtype=object)
    bg = comp >= SERVICE_BASE
    hosts = np.array([SERVICES[i - SERVICE_BASE].host for i in comp[bg]], dtype=object)
    assert (query[bg] == hosts).all()  # a background row queries its service's host
    listed = {s.host for s in SERVICES if s.on_blocklist}
    unlisted = {s.host for s in SERVICES if not s.on_blocklist}
    seen = set(query[bg])
    assert seen & listed and len(seen & unlisted) > len(seen & listed)
    # Users reach tracker hosts too: some user DNS rows query a block-listed name.
    assert any(h in listed or "doubleclick" in h for h in query[~bg & (origin == 0)])
    assert COMPONENTS[SERVICE_BASE] == SERVICES[0].name


def test_https_and_http_shares_of_bytes() -> None:
    bytes_by_port: dict[int, int] = {}
    for c in iter_chunks(DemoParams(users=25, days=7, seed=1)):
        t = c.tables.get("deviceapptraffic")
        if t is None or not t.num_rows:
            continue
        sums = t.group_by("dstport").aggregate([("bytes_in", "sum"), ("bytes_out", "sum")]).to_pylist()
        for r in sums:
            bytes_by_port[r["dstport"]] = (
                bytes_by_port.get(r["dstport"], 0) + r["bytes_in_sum"] + r["bytes_out_sum"]
            )
    total = sum(bytes_by_port.values())
    assert abs(bytes_by_port[443] / total - 0.68) < 0.09
    assert abs(bytes_by_port[80] / total - 0.28) < 0.09
    assert (bytes_by_port[443] + bytes_by_port[80]) / total > 0.9


def test_devicetraffic_matches_deviceapptraffic(study) -> None:
    con = study.engine.raw
    per_second = con.execute(
        "SELECT devid, time_bucket(INTERVAL 10 SECOND, ts) w, sum(bytes_in), sum(bytes_out), "
        "sum(packets_in), sum(packets_out) FROM devicetraffic GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    per_tuple = con.execute(
        "SELECT devid, ts, sum(bytes_in), sum(bytes_out), sum(packets_in), sum(packets_out) "
        "FROM deviceapptraffic GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert per_second == per_tuple
    dup = con.execute(
        "SELECT count(*) FROM (SELECT devid, ts FROM devicetraffic GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()
    assert dup == (0,)
    misaligned = con.execute("SELECT count(*) FROM deviceapptraffic WHERE epoch(ts) % 10 <> 0").fetchone()
    assert misaligned == (0,)


def test_flows_split_at_the_idle_timeout(study) -> None:
    flows = study.table("flows").select("flowid", "startts", "endts").to_pyarrow().to_pandas()
    flows = flows.sort_values(["flowid", "startts"])
    gap = (flows["startts"] - flows.groupby("flowid")["endts"].shift()).dt.total_seconds().dropna()
    assert (gap > 300).all()
    assert (flows["endts"] >= flows["startts"]).all()
    totals = study.engine.raw.execute(
        "SELECT (SELECT sum(bytes_in) FROM flows), (SELECT sum(bytes_in) FROM devicetraffic)"
    ).fetchone()
    assert totals[0] == totals[1]


def test_dns_answer_arrays_are_aligned_chains(study) -> None:
    rows = study.table("dnsreqs").select("query", "ans_type", "ans_name", "ans_addr", "ans_ttl").to_pyarrow()
    lengths = {c: pc.list_value_length(rows[c]) for c in ("ans_type", "ans_name", "ans_addr", "ans_ttl")}
    for c in ("ans_name", "ans_addr", "ans_ttl"):
        assert pc.all(pc.equal(lengths["ans_type"], lengths[c])).as_py()
    for r in rows.slice(0, 3000).to_pylist():
        owner = r["query"]
        for typ, name, addr, ttl in zip(
            r["ans_type"], r["ans_name"], r["ans_addr"], r["ans_ttl"], strict=True
        ):
            assert name == owner and ttl >= 0 and addr
            if typ == 5:
                owner = addr  # the next record belongs to the CNAME target
    assert any(5 in r for r in rows["ans_type"].to_pylist())


def test_shared_devices_belong_to_every_household_member(study) -> None:
    con = study.engine.raw
    rows = con.execute(
        "SELECT d.shared, count(*) FROM devices d JOIN user_devices u ON u.device_id = d.id "
        "GROUP BY d.id, d.shared"
    ).fetchall()
    assert rows and all((n > 1) == shared for shared, n in rows)
    assert any(shared for shared, _ in rows)
    same_family = con.execute(
        "SELECT count(DISTINCT us.familyname) FROM devices d JOIN user_devices ud ON ud.device_id = d.id "
        "JOIN users us ON us.id = ud.user_id WHERE d.shared GROUP BY d.id"
    ).fetchall()
    assert all(n == 1 for (n,) in same_family)


def test_http_rows_use_the_tuple_of_a_flow(study) -> None:
    missing = study.engine.raw.execute(
        "SELECT count(*) FROM httpreqs h WHERE NOT EXISTS (SELECT 1 FROM flows f WHERE f.flowid = h.flowid "
        "AND h.ts BETWEEN f.startts - INTERVAL 1 SECOND AND f.endts)"
    ).fetchone()
    assert missing == (0,)


def test_the_same_demo_loads_into_postgresql(pg, tmp_path: Path) -> None:
    tiny = DemoParams(users=2, days=2, seed=7)
    generate_demo(pg, tiny, enrich=False)
    with open_study(tmp_path / "tiny.duckdb") as duck:
        generate_demo(duck, tiny, enrich=False)
        assert pg.counts() == duck.counts()
        query = "SELECT sum(bytes_in), count(DISTINCT flowid) FROM flows"
        assert duck.engine.raw.execute(query).fetchone() == pg.con.raw_sql(query).fetchone()


def test_referers_point_to_pages_the_device_loaded_before(study) -> None:
    missing, total = study.engine.raw.execute(
        "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM httpreqs p WHERE p.devid = r.devid "
        "AND p.req_url = r.req_referer AND p.ts <= r.ts AND p.res_mimetype LIKE 'text/html%')), count(*) "
        "FROM httpreqs r WHERE r.req_referer LIKE 'http://%'").fetchone()
    assert total > 100 and missing == 0


def test_laptops_and_pcs_poll_through_idle_hours(chunks) -> None:
    """As in the real study, most DNS/HTTP rows of devices with ground truth fall outside activity.

    Reference: a row is outside when its second is more than 60 s from every non-idle
    gt_foreground interval of its device (the demo's planted activity).
    """
    outside = total = 0
    for c in chunks[1:]:
        fg = c.tables.get("gt_foreground")
        if fg is None or not fg.num_rows:
            continue
        active = fg.filter(pc.invert(fg["idle"])).to_pandas()
        lo = active["starttime"].to_numpy("datetime64[s]").astype(np.int64) - 60
        hi = active["endtime"].to_numpy("datetime64[s]").astype(np.int64) + 60
        for name in ("dnsreqs", "httpreqs"):
            ts = c.tables[name]["ts"].to_numpy().astype("datetime64[s]").astype(np.int64)
            inside = ((ts[:, None] >= lo[None, :]) & (ts[:, None] < hi[None, :])).any(axis=1)
            outside += int((~inside).sum())
            total += ts.size
    assert total > 10_000
    assert 0.45 < outside / total < 0.75  # the 2015 demo before overnight idling: 0.27


def test_the_data_follows_who_comes_and_goes_and_the_withdrawal_removes_it(study, tmp_path: Path) -> None:
    from ucnstudy.analyses.observed import observed_days
    from ucnstudy.demo.population import build_population
    from ucnstudy.store.withdraw import remove_user

    pop = build_population(DST)
    [quitter] = [u for u in pop.users if u.withdrawn]
    seen = observed_days(study).to_pyarrow().to_pylist()
    for user in pop.users:  # observed local days: planted ones, give or take the night around them
        days = np.flatnonzero(user.observed(np.arange(DST.days)))
        plan = {DST.start + timedelta(days=int(d)) for d in days}
        near = plan | {d + timedelta(days=k) for d in plan for k in (-1, 1)}
        assert {r["day"] for r in seen if r["username"] == user.username} <= near, user.username
    last = max(r["day"] for r in seen if r["username"] == quitter.username)
    assert last <= DST.start + timedelta(days=quitter.last_day) < DST.start + timedelta(days=DST.days - 1)
    copy = tmp_path / "copy.duckdb"  # the module's study stays as it is
    raw = study.engine.raw
    name = raw.execute("SELECT current_database()").fetchone()[0]
    raw.execute(f"ATTACH '{copy}' AS withdrawal_copy")
    raw.execute(f'COPY FROM DATABASE "{name}" TO withdrawal_copy')
    raw.execute("DETACH withdrawal_copy")
    personal = [d.id for d in pop.devices if d.owners == [quitter.id]]
    with open_study(copy) as s:
        result = remove_user(s, quitter.username)
        assert sorted(result.devices) == sorted(d.login for d in pop.devices if d.id in personal)
        for table in TABLES:
            t = s.table(table)
            if "devid" in t.columns:
                assert t.filter(t.devid.isin(personal)).count().execute() == 0, table
        users = s.table("users")
        assert users.filter(users.username == quitter.username).count().execute() == 0
