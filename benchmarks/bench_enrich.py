"""Enrichment throughput on a DuckDB study: N httpreqs + N dnsreqs + N flows, first run and re-run.

Rows are generated inside DuckDB (50 devices, one event per minute each, 5,000 x 7 hosts, every
fifth URL a script, every third response an image, DNS lookups 5 s before the request), so the
numbers measure enrichment, not the generator. Each run is a fresh process (its peak memory).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.runner import Result, in_subprocess

_HOST = "'h' || (hash(i) % 5000) || '.example' || (i % 7) || '.com'"
_TS = "TIMESTAMP '2015-10-12' + to_microseconds(i * 60000000 // 50)"


def build(db: str, rows: int) -> None:
    from ucnstudy import open_study

    with open_study(db) as study:
        study.reset()
        raw = study.engine.raw  # type: ignore[attr-defined]
        raw.execute(f"""
            INSERT INTO httpreqs (devid, source, ts, req_method, req_url, req_url_host, req_url_path,
                                  res_mimetype)
            SELECT i % 50, 'bench', {_TS}, 'GET',
                   'http://' || {_HOST} || '/p' || (i % 1000) || CASE WHEN i % 5 = 0 THEN '.js' ELSE '' END,
                   {_HOST}, '/p' || (i % 1000), CASE WHEN i % 3 = 0 THEN 'image/png' ELSE 'text/html' END
            FROM range({int(rows)}) AS t(i)""")
        raw.execute(f"""
            INSERT INTO dnsreqs (devid, ts, query)
            SELECT i % 50, {_TS} - INTERVAL 5 SECOND, {_HOST} FROM range({int(rows)}) AS t(i)""")
        raw.execute(f"""
            INSERT INTO flows (devid, startts, endts, dstport, proto)
            SELECT i % 50, {_TS}, {_TS}, i % 2000, 6 + 11 * (i % 2) FROM range({int(rows)}) AS t(i)""")


def enrich(db: str) -> int:
    from ucnstudy import open_study
    from ucnstudy.enrich import enrich_study

    with open_study(db) as study:
        return sum(enrich_study(study).changed.values())


def run(quick: bool) -> list[Result]:
    rows = 200_000 if quick else 10_000_000
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "enrich.duckdb")
        in_subprocess(build, db, rows)
        for label in ("first run", "re-run (nothing changes)"):
            seconds, peak, changed = in_subprocess(enrich, db)
            results.append(Result(f"enrich {label}, {rows:,} rows x 3 tables", seconds, 3 * rows, "rows",
                                  peak, f"{changed:,} column updates"))
    return results
