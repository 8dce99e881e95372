"""Lifecycle operations on a DuckDB study of N squid rows (50 devices, 50 leased addresses):
re-attribution after 10 leases changed hands mid-study, its re-run (nothing moves), and removing
the import. Rows are generated inside DuckDB; each step is a fresh process (its peak memory).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.runner import Result, in_subprocess

_TS = "TIMESTAMP '2015-10-12' + to_microseconds(i * 60000000 // 50)"


def build(db: str, rows: int) -> None:
    import pyarrow as pa

    from ucnstudy import open_study

    with open_study(db) as study:
        study.reset()
        study.import_rows("manifest", "m", [
            ("devices", pa.table({"id": list(range(50)), "login": [f"u{i}.dev" for i in range(50)]})),
            ("device_addresses", pa.table({"devid": list(range(50)),
                                           "address": [f"10.8.0.{i}" for i in range(50)]}))], sha256="m")
        study.import_rows("squid", "access.log", [], sha256="squid")
        raw = study.engine.raw  # type: ignore[attr-defined]
        raw.execute(f"""
            INSERT INTO httpreqs (devid, source, ts, srcip, req_url_host, import_id)
            SELECT i % 50, 'squid', {_TS}, '10.8.0.' || (i % 50), 'h' || (i % 97) || '.com', 2
            FROM range({int(rows)}) AS t(i)""")
        # from mid-study, devices 0-9 hand their addresses to devices 40-49
        middle = f"TIMESTAMP '2015-10-12' + to_microseconds({rows // 2 * 60_000_000 // 50})"
        raw.execute(f"UPDATE device_addresses SET valid_to = {middle} WHERE devid < 10")
        raw.execute(f"""INSERT INTO device_addresses (devid, address, valid_from, import_id)
                        SELECT devid + 40, address, {middle}, 1 FROM device_addresses WHERE devid < 10""")


def reattribute(db: str) -> int:
    from ucnstudy import open_study
    from ucnstudy.store.lifecycle import reattribute as run

    with open_study(db) as study:
        return run(study).total_moved


def remove(db: str) -> int:
    from ucnstudy import open_study
    from ucnstudy.store.lifecycle import remove_imports

    with open_study(db) as study:
        return sum(remove_imports(study, [2]).values())


def run(quick: bool) -> list[Result]:
    rows = 100_000 if quick else 2_000_000
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "lifecycle.duckdb")
        in_subprocess(build, db, rows)
        for label, step in (("reattribute", reattribute), ("reattribute again (nothing moves)", reattribute),
                            ("imports remove", remove)):
            seconds, peak, n = in_subprocess(step, db)
            results.append(Result(f"{label}, {rows:,} squid rows", seconds, rows, "rows", peak,
                                  f"{n:,} rows {'moved' if 'attribute' in label else 'removed'}"))
    return results
