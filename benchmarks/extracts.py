"""Demo studies of a given number of DNS+HTTP events, and their Parquet extracts.

The pandas and polars baselines of `bench_baselines` read these extracts from disk (one file per
table, the columns the analyses use, as `ucn export` would write them); ucnstudy reads the
study file itself. Studies are shaped like the default demo study (21 days, about 2,200 DNS and
HTTP events per user and day: the default 25 users give 1.15M events), generated once into
$UCN_BENCH_DIR (default /tmp/ucn-bench) and reused.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.runner import in_subprocess

CACHE = Path(os.environ.get("UCN_BENCH_DIR", "/tmp/ucn-bench"))
DAYS = 21
EVENTS_PER_USER = 1_154_000 / 25  # DNS+HTTP events of one user over 21 days (default demo)

COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "username", "country", "timezone"),
    "devices": ("id", "login", "platform", "devtype", "shared"),
    "user_devices": ("user_id", "device_id"),
    "dnsreqs": ("devid", "ts", "query", "query_domain", "ans_ttl", "user_req"),
    "httpreqs": ("devid", "ts", "req_url_host", "req_url_domain", "user_url", "req_ua"),
    "devicetraffic": ("devid", "ts", "packets_in", "packets_out", "bytes_in", "bytes_out"),
    "deviceapptraffic": ("devid", "ts", "dstport", "service", "packets_in", "packets_out",
                         "bytes_in", "bytes_out"),
    "locations": ("devid", "entertime", "exittime", "name", "loc_name", "net_asname",
                  "net_public_ip", "kind", "lat", "lon"),
    # activity-qoe and qoe-effects: declared networks and the flows' TCP performance
    "networks": ("devid", "valid_from", "valid_to", "network_type", "access_type", "name"),
    "flows": ("devid", "startts", "packets_in", "packets_out", "bytes_in", "bytes_out",
              "retrans_pkts_in", "retrans_pkts_out", "rtt_access_mean_ms", "hs_rtt_access_ms",
              "rtt_internet_mean_ms", "hs_rtt_internet_ms", "bulk_bytes_in", "bulk_secs_in",
              "bulk_bytes_out", "bulk_secs_out"),
}


def users_for(events: int) -> int:
    return max(1, round(events / EVENTS_PER_USER))


def study_folder(events: int) -> Path:
    """The folder of a study of about `events` DNS+HTTP events: study.duckdb and TABLE.parquet
    (generated on first use, in a fresh process)."""
    users = users_for(events)
    folder = CACHE / f"baselines-{users}u-{DAYS}d"
    if not (folder / "generated").exists():
        folder.mkdir(parents=True, exist_ok=True)
        in_subprocess(_generate, str(folder), users)
        (folder / "generated").write_text("")
    if not (folder / "extracted").exists() or not extracts_complete(folder):
        in_subprocess(_extract, str(folder))
        (folder / "extracted").write_text("")
    return folder


def extracts_complete(folder: Path) -> bool:
    """Every table of COLUMNS has its Parquet file with every listed column: a cache extracted
    before a table or column was added to COLUMNS is extracted again (the marker alone would
    keep it)."""
    import pyarrow.parquet as pq

    for name, columns in COLUMNS.items():
        path = folder / f"{name}.parquet"
        if not path.exists() or not set(columns) <= set(pq.read_schema(path).names):
            return False
    return True


def events_of(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(folder / f"{t}.parquet").metadata.num_rows
               for t in ("dnsreqs", "httpreqs"))


def _generate(folder: str, users: int) -> None:
    from ucnstudy import open_study
    from ucnstudy.demo import DemoParams, generate_demo

    path = Path(folder) / "study.duckdb"
    path.unlink(missing_ok=True)
    with open_study(str(path)) as study:
        generate_demo(study, DemoParams(users=users, days=DAYS, seed=1))


def _extract(folder: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ucnstudy import open_study

    with open_study(str(Path(folder) / "study.duckdb"), read_only=True) as study:
        for name, columns in COLUMNS.items():
            expr = study.table(name).select(*columns)
            schema = expr.schema().to_pyarrow()
            with pq.ParquetWriter(Path(folder) / f"{name}.parquet", schema) as writer:
                for batch in expr.to_pyarrow_batches(chunk_size=1_000_000):
                    writer.write_table(pa.Table.from_batches([batch]).cast(schema))
