"""activities and dns-http at 10M events: ucnstudy (Ibis on DuckDB) vs pandas vs the original.

The study is synthetic (numpy, seeded): devices of two per user, event times with bursts
(95% of gaps Exp(15 s), 5% Exp(3 h)), one HTTP request after each DNS response (80% to the
same host after Exp(2 s)), 5,000 hosts with a Zipf-like popularity, 70% of events flagged
user-initiated, TTLs of 30 s to 1 h (10% without answers). Half the events are DNS responses,
half HTTP requests.

Each step runs in a fresh process (peak RSS of that process). ucnstudy is timed end to end,
from the study file to the DataFrame. The pandas and original-notebook baselines are timed on
data already in memory (loading and sorting are reported apart and not counted), which
favours them. Ratios are baseline time / ucnstudy time, measured in the same run.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.runner import Result, in_subprocess

T0 = np.datetime64("2015-11-01T00:00:00", "us")
SEED = 11


def synthesize(n_events: int, folder: Path) -> dict[str, int]:
    """Write dns.parquet, http.parquet and the study (study.duckdb) with n_events events."""
    rng = np.random.default_rng(SEED)
    n_dns = n_events // 2
    n_dev = max(4, n_events // 20_000)
    per_dev = -(-n_dns // n_dev)
    burst = rng.random((n_dev, per_dev)) < 0.05
    gaps = np.where(burst, rng.exponential(3 * 3600, (n_dev, per_dev)),
                    rng.exponential(15, (n_dev, per_dev)))
    offsets_us = (np.cumsum(gaps, axis=1) * 1e6).astype(np.int64).ravel()[:n_dns]
    devid = np.repeat(np.arange(1, n_dev + 1), per_dev)[:n_dns]
    dns_ts = T0 + offsets_us.astype("timedelta64[us]")
    hosts = np.array([f"h{i}.example.com" for i in range(5000)], dtype=object)
    host_idx = np.minimum(rng.zipf(1.3, n_dns) - 1, 4999)
    same = rng.random(n_dns) < 0.8
    http_host = np.where(same, host_idx, rng.integers(0, 5000, n_dns))
    http_ts = dns_ts + (rng.exponential(2, n_dns) * 1e6).astype("timedelta64[us]")
    ttl_choice = rng.choice([30, 60, 300, 3600], n_dns)
    no_answer = rng.random(n_dns) < 0.1
    offsets = np.concatenate([[0], np.cumsum(~no_answer)]).astype(np.int32)
    ttl = pa.ListArray.from_arrays(pa.array(offsets), pa.array(ttl_choice[~no_answer],
                                                               type=pa.int32()))
    dns = pa.table({"devid": devid, "ts": dns_ts, "query": hosts[host_idx], "ans_ttl": ttl,
                    "user_req": rng.random(n_dns) < 0.7})
    http = pa.table({"devid": devid, "ts": http_ts, "req_url_host": hosts[http_host],
                     "user_url": rng.random(n_dns) < 0.7})
    pq.write_table(dns, folder / "dns.parquet")
    pq.write_table(http, folder / "http.parquet")
    ids = np.arange(1, n_dev + 1)
    pq.write_table(pa.table({"devid": ids, "user": (ids + 1) // 2}), folder / "owners.parquet")
    _load_study(folder, dns, http, n_dev)
    return {"devices": n_dev, "dns": n_dns, "http": n_dns}


def demo_study(n_events: int, folder: Path) -> dict[str, int]:
    """The demo generator's study, with about n_events DNS+HTTP events (~10k per user-week),
    and the same Parquet extracts as `synthesize` for the baselines."""
    import ucnstudy
    from ucnstudy.analyses.events import user_devices
    from ucnstudy.demo import DemoParams, generate_demo

    users = max(2, round(n_events / 10_000 / 3))
    study = ucnstudy.open(str(folder / "study.duckdb"))
    generate_demo(study, DemoParams(users=users, days=21, seed=SEED))
    dns, http = study.table("dnsreqs"), study.table("httpreqs")
    pq.write_table(dns.select("devid", "ts", "query", "ans_ttl",
                              user_req=dns.user_req.fill_null(False)).to_pyarrow(),
                   folder / "dns.parquet")
    pq.write_table(http.select("devid", "ts", "req_url_host",
                               user_url=http.user_url.fill_null(False)).to_pyarrow(),
                   folder / "http.parquet")
    owners = user_devices(study).select("devid", user="user_id").to_pyarrow()
    pq.write_table(owners, folder / "owners.parquet")
    shape = {"devices": owners.num_rows, "dns": int(dns.count().execute()),
             "http": int(http.count().execute())}
    study.close()
    return shape


def _load_study(folder: Path, dns: pa.Table, http: pa.Table, n_dev: int) -> None:
    import ucnstudy

    ids = np.arange(1, n_dev + 1)
    users = pa.table({"id": np.arange(1, n_dev // 2 + 2), "country": ["fr"] * (n_dev // 2 + 1),
                      "username": [f"u{i}" for i in range(1, n_dev // 2 + 2)]})
    devices = pa.table({"id": ids, "login": [f"u{(i + 1) // 2}.d{i}" for i in ids],
                        "shared": np.zeros(n_dev, dtype=bool)})
    links = pa.table({"user_id": (ids + 1) // 2, "device_id": ids})
    study = ucnstudy.open(str(folder / "study.duckdb"))
    with study.load("bench", "synthetic", sha256="0" * 64) as load:
        for name, table in (("users", users), ("devices", devices), ("user_devices", links)):
            load.append(name, table)
        for name, table in (("dnsreqs", dns), ("httpreqs", http)):
            for batch in table.to_batches(max_chunksize=1_000_000):
                load.append(name, batch)
    study.close()


Stamp = tuple[float, float]  # (wall, cpu) seconds; cpu counts every thread of the process


def stamp() -> Stamp:
    return time.perf_counter(), time.process_time()


def since(start: Stamp) -> Stamp:
    wall, cpu = stamp()
    return wall - start[0], cpu - start[1]


# -- ucnstudy --------------------------------------------------------------------------------

def quiet(study: object) -> None:
    """No DuckDB progress bar in the benchmark's output."""
    study.con.raw_sql("SET enable_progress_bar = false")  # type: ignore[attr-defined]


def ucn_activities(folder: str) -> tuple[Stamp, int]:
    import ucnstudy
    from ucnstudy.analyses.activities import ActivitiesParams, activities

    t0 = stamp()
    with ucnstudy.open(os.path.join(folder, "study.duckdb")) as study:
        quiet(study)
        n = len(activities(study, ActivitiesParams()))
    return since(t0), n


def ucn_dns_http(folder: str) -> tuple[Stamp, int]:
    import ucnstudy
    from ucnstudy.analyses.dns_http import DnsHttpParams, dns_http

    t0 = stamp()
    with ucnstudy.open(os.path.join(folder, "study.duckdb")) as study:
        quiet(study)
        df = dns_http(study, DnsHttpParams())
    return since(t0), int(df["http_ts"].notna().sum())


# -- pandas ----------------------------------------------------------------------------------

def _user_events(folder: str) -> pd.DataFrame:
    dns = pd.read_parquet(os.path.join(folder, "dns.parquet"), columns=["devid", "ts", "user_req"])
    http = pd.read_parquet(os.path.join(folder, "http.parquet"),
                           columns=["devid", "ts", "user_url"])
    ev = pd.concat([dns[dns.user_req][["devid", "ts"]], http[http.user_url][["devid", "ts"]]])
    owners = pd.read_parquet(os.path.join(folder, "owners.parquet"))  # personal devices
    return ev.merge(owners, on="devid")


def pandas_activities(folder: str, gap_s: float = 600) -> tuple[Stamp, int, Stamp]:
    t0 = stamp()
    ev = _user_events(folder)
    t1 = stamp()
    loading = since(t0)
    ev = ev.sort_values(["user", "ts"], kind="stable")
    gap = ev["ts"].diff()
    new = (ev["user"] != ev["user"].shift()) | (gap > pd.Timedelta(seconds=gap_s))
    ev["act"] = new.cumsum()
    acts = ev.groupby("act").agg(user=("user", "first"), start=("ts", "min"), end=("ts", "max"),
                                 events=("ts", "size"))
    acts["duration"] = (acts["end"] - acts["start"]).dt.total_seconds()
    kept = acts[(acts["duration"] >= 1) & (acts["events"] >= 3)]
    devs = ev[ev["act"].isin(kept.index)].drop_duplicates(["act", "devid"]).sort_values("devid")
    names = devs.groupby("act")["devid"].agg(lambda d: "+".join(map(str, d)))
    kept = kept.join(names.rename("devices"))
    return since(t1), len(kept), loading


def pandas_dns_http(folder: str) -> tuple[Stamp, int, Stamp]:
    t0 = stamp()
    dns = pd.read_parquet(os.path.join(folder, "dns.parquet"), columns=["devid", "ts", "query",
                                                                        "ans_ttl"])
    http = pd.read_parquet(os.path.join(folder, "http.parquet"),
                           columns=["devid", "ts", "req_url_host"])
    t1 = stamp()
    loading = since(t0)
    dns["ttl"] = dns["ans_ttl"].str[0]
    inst = dns[["devid", "query", "ts"]].drop_duplicates().sort_values("ts")
    inst = inst.rename(columns={"query": "host", "ts": "dns_ts"})
    reqs = http.rename(columns={"req_url_host": "host"}).sort_values("ts")
    att = pd.merge_asof(reqs, inst, left_on="ts", right_on="dns_ts", by=["devid", "host"],
                        direction="backward", allow_exact_matches=True)
    first = att.dropna(subset=["dns_ts"]).groupby(["devid", "host", "dns_ts"])["ts"].min()
    first = first.rename("http_ts").reset_index().rename(columns={"host": "query",
                                                                  "dns_ts": "ts"})
    pairs = dns.merge(first, on=["devid", "query", "ts"], how="left")
    delay = (pairs["http_ts"] - pairs["ts"]).dt.total_seconds()
    ok = pairs["http_ts"].notna() & (pairs["ttl"].isna() | (delay <= pairs["ttl"]))
    return since(t1), int(ok.sum()), loading


# -- the original notebook -------------------------------------------------------------------

def original_activities(folder: str) -> tuple[Stamp, int, Stamp]:
    from benchmarks import original_notebook

    t0 = stamp()
    ev = _user_events(folder).sort_values(["user", "ts"], kind="stable")
    rows_by_user = {}
    for user, g in ev.groupby("user", sort=False):
        ts = list(g["ts"].dt.to_pydatetime())
        rows_by_user[user] = list(zip(ts, [None, *ts[:-1]], strict=True))
    del ev
    t1 = stamp()
    loading = since(t0)
    acts = original_notebook.activities(rows_by_user)
    return since(t1), sum(map(len, acts.values())), loading


def original_dns_http(folder: str) -> tuple[Stamp, int, Stamp]:
    from benchmarks import original_notebook

    t0 = stamp()
    dns = pd.read_parquet(os.path.join(folder, "dns.parquet"),
                          columns=["devid", "ts", "query", "ans_ttl"])
    http = pd.read_parquet(os.path.join(folder, "http.parquet"),
                           columns=["devid", "ts", "req_url_host"])
    dns["id"] = np.arange(len(dns))
    dns = dns.sort_values(["devid", "query", "ts"], kind="stable")
    http = http.sort_values(["devid", "req_url_host", "ts"], kind="stable")
    hgroups = dict(iter(http.groupby("devid", sort=False)))
    devices = []
    for devid, d in dns.groupby("devid", sort=False):
        h = hgroups.get(devid, http.iloc[:0])
        ttls = [None if t is None else list(t) for t in d["ans_ttl"]]
        devices.append((list(zip(d["id"], d["ts"].dt.to_pydatetime(), d["query"], ttls,
                                 strict=True)),
                        list(zip(h["ts"].dt.to_pydatetime(), h["req_url_host"], strict=True))))
    del dns, http, hgroups
    t1 = stamp()
    loading = since(t0)
    delays = original_notebook.dns_to_first_http(devices)
    return since(t1), sum(v >= 0 for v in delays.values()), loading


def _compare(analysis: str, n: int, folder: str) -> list[Result]:
    ucn_fn, pd_fn, orig_fn = {
        "activities": (ucn_activities, pandas_activities, original_activities),
        "dns-http": (ucn_dns_http, pandas_dns_http, original_dns_http)}[analysis]
    _, peak, ((ucn_wall, ucn_cpu), ucn_out) = in_subprocess(ucn_fn, folder)
    what = "activities" if analysis == "activities" else "matched"
    out = [Result(f"{analysis} ucnstudy (DuckDB)", ucn_wall, n, peak_mib=peak,
                  note=f"{ucn_out:,} {what}; cpu {ucn_cpu:.1f} s")]
    for label, fn in (("pandas", pd_fn), ("original notebook", orig_fn)):
        _, peak, ((wall, cpu), count, (load_wall, load_cpu)) = in_subprocess(fn, folder)
        out.append(Result(
            f"{analysis} {label}", wall, n, peak_mib=peak,
            note=f"{count:,}; cpu {cpu:.1f} s; vs ucnstudy: wall {wall / ucn_wall:.2f}x, "
                 f"cpu {cpu / ucn_cpu:.2f}x; with its loading ({load_wall:.1f} s) "
                 f"wall {(wall + load_wall) / ucn_wall:.2f}x, "
                 f"cpu {(cpu + load_cpu) / ucn_cpu:.2f}x"))
    return out


def run(quick: bool) -> list[Result]:
    """UCN_BENCH_SOURCE=demo takes the demo generator's study instead of the synthetic one."""
    n = 200_000 if quick else 10_000_000
    source = os.environ.get("UCN_BENCH_SOURCE", "synthetic")
    make = demo_study if source == "demo" else synthesize
    with tempfile.TemporaryDirectory(prefix="ucn-bench-") as tmp:
        folder = Path(tmp)
        # in a fresh process too: a spawned child inherits its parent's peak RSS on Linux, so
        # the parent must stay small for the steps' peaks to be their own
        secs, peak, shape = in_subprocess(make, n, folder)
        n = shape["dns"] + shape["http"]
        results = [Result(f"{source} study (generate + load)", secs, n, peak_mib=peak,
                          note=f"{shape['devices']} personal devices")]
        for analysis in ("activities", "dns-http"):
            results += _compare(analysis, n, str(folder))
        load = os.getloadavg()[0]
        results.append(Result("machine load average (1 min) at the end", 0.0,
                              note=f"{load:.1f} on {os.cpu_count()} cores"))
        return results
