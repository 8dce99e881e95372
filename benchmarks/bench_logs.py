"""Log import throughput: squid (native and UCN custom format) and Zeek (conn TSV, conn JSON) lines/s.

Each import runs in a fresh process (peak memory of that process) into a fresh DuckDB study whose
one device holds the client address, without the enrichment pass (measured separately as
`enrich`). Logs are generated here, deterministically.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pyarrow as pa

from benchmarks.runner import Result, in_subprocess

CLIENT = "10.8.0.2"
T0 = 1_444_608_000.0  # 2015-10-12


def write_squid(path: Path, lines: int, custom: bool) -> None:
    rng = random.Random(1)
    with path.open("w") as f:
        for i in range(lines):
            epoch = T0 + i * 0.5
            host = f"www{rng.randrange(5000)}.example{rng.randrange(50)}.com"
            url = f"http://{host}/p/{rng.randrange(10**6)}.html"
            size = rng.randrange(10**6)
            common = f"{epoch:.3f} {rng.randrange(1, 5000)} {CLIENT} TCP_MISS/200 {size} GET {url} -"
            if custom:
                f.write(f"12/Oct/2015:02:00:00 +0200 {common} HTTP/1.1 DIRECT/93.184.216.34 text/html "
                        f'"http://{host}/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"\n')
            else:
                f.write(f"{common} DIRECT/93.184.216.34 text/html\n")


CONN_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
               "duration", "orig_bytes", "resp_bytes", "conn_state", "orig_pkts", "orig_ip_bytes",
               "resp_pkts",
               "resp_ip_bytes"]


def conn_values(rng: random.Random, i: int) -> list[str]:
    return [f"{T0 + i * 0.5:.6f}", f"C{i:017d}", CLIENT, str(rng.randrange(1024, 65535)),
            f"93.184.{rng.randrange(256)}.{rng.randrange(256)}", rng.choice(["443", "80", "53"]),
            rng.choice(["tcp", "udp"]), "-", f"{rng.random() * 10:.6f}", str(rng.randrange(10**5)),
            str(rng.randrange(10**6)), "SF", str(rng.randrange(1, 100)), str(rng.randrange(10**5)),
            str(rng.randrange(1, 100)), str(rng.randrange(10**6))]


def write_conn(path: Path, lines: int, as_json: bool) -> None:
    rng = random.Random(2)
    with path.open("w") as f:
        if not as_json:
            f.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
            f.write("#path\tconn\n")
            f.write("#fields\t" + "\t".join(CONN_FIELDS) + "\n")
        for i in range(lines):
            values = conn_values(rng, i)
            if as_json:
                obj = {k: v for k, v in zip(CONN_FIELDS, values, strict=True) if v != "-"}
                for k in ("ts", "duration"):
                    obj[k] = float(obj[k])
                f.write(json.dumps(obj) + "\n")
            else:
                f.write("\t".join(values) + "\n")


def _study(db: str):
    from ucnstudy import open_study

    study = open_study(db)
    study.create_schema()
    study.import_rows("bench", "devices", [
        ("devices", pa.table({"id": [1], "login": ["bench.pc"]})),
        ("device_addresses", pa.table({"devid": [1], "address": [CLIENT]})),
    ], sha256="bench-devices")
    return study


def import_squid(db: str, log: str) -> int:
    from ucnstudy.sources.base import ingest
    from ucnstudy.sources.squid import parse_squid

    with _study(db) as study:
        return ingest(study, "squid", [log], parse_squid)[0].total_rows


def import_zeek(db: str, log: str) -> int:
    from ucnstudy.sources.zeek import import_zeek as run

    with _study(db) as study:
        return run(study, [log], enrich=False)[0].total_rows


def enrich(db: str) -> dict[str, int]:
    from ucnstudy import open_study
    from ucnstudy.enrich import enrich_study

    with open_study(db) as study:
        return enrich_study(study).changed


def run(quick: bool) -> list[Result]:
    lines = 50_000 if quick else 1_000_000
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("squid native", "access.log", write_squid, False, import_squid),
                 ("squid UCN custom format", "custom.log", write_squid, True, import_squid),
                 ("zeek conn TSV", "conn.log", write_conn, False, import_zeek),
                 ("zeek conn JSON", "conn.json.log", write_conn, True, import_zeek)]
        for name, file, write, variant, importer in cases:
            path = Path(tmp) / file
            write(path, lines, variant)
            db = str(Path(tmp) / f"{file}.duckdb")
            seconds, peak, rows = in_subprocess(importer, db, str(path))
            size = path.stat().st_size / 2**20
            results.append(Result(f"import {name} ({lines:,} lines)", seconds, lines, "lines", peak,
                                  f"{rows:,} rows, {size:,.0f} MiB file"))
        seconds, peak, _changed = in_subprocess(enrich, str(Path(tmp) / "custom.log.duckdb"))
        results.append(Result(f"enrich after the squid import ({lines:,} httpreqs)", seconds, lines, "rows",
                              peak))
    return results
