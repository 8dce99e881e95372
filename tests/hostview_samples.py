"""A builder of HostView SQLite databases with the agent's own schema (hostview-win, src/store/Store.cpp).

`build_hostview_db(path, rows)` creates the tables exactly as HostView does and inserts the
given rows; the docs (docs/inputs/hostview.md) show the schema it writes.
"""

from __future__ import annotations

import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = {
    "activity": "CREATE TABLE activity(user VARCHAR(260), pid INTEGER, name VARCHAR(260), "
                "description VARCHAR(260), fullscreen TINYINT, idle TINYINT, timestamp INT8)",
    "io": "CREATE TABLE io(device INTEGER, pid INTEGER, name VARCHAR(260), timestamp INT8)",
    "procs": "CREATE TABLE procs(pid INTEGER, name VARCHAR(260), memory INTEGER, cpu DOUBLE, timestamp INT8)",
    "ports": "CREATE TABLE ports(pid INTEGER, name VARCHAR(260), protocol INTEGER, srcip VARCHAR(42), "
             "destip VARCHAR(42), srcport INTEGER, destport INTEGER, state INTEGER, timestamp INT8)",
    "http": "CREATE TABLE http(httpverb VARCHAR(64), httpverbparam VARCHAR(300), "
            "httpstatuscode VARCHAR(64), httphost VARCHAR(300), referer VARCHAR(300), "
            "contenttype VARCHAR(300), contentlength VARCHAR(300), protocol INTEGER, srcip VARCHAR(42), "
            "destip VARCHAR(42), srcport INTEGER, destport INTEGER, timestamp INT8)",
    "session": "CREATE TABLE session(timestamp INT8, event VARCHAR(32))",
}


def ms(ts: datetime) -> int:
    """HostView time: UTC epoch milliseconds."""
    return int(ts.replace(tzinfo=UTC).timestamp() * 1000)


def build_hostview_db(path: Path, rows: dict[str, list[dict]]) -> Path:
    """A stats_*.db with every HostView table, holding `rows` (table -> column dicts)."""
    con = sqlite3.connect(path)
    for table, ddl in SCHEMA.items():
        con.execute(ddl)
        for row in rows.get(table, []):
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            con.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))
    con.commit()
    con.close()
    return path


def zip_db(db: Path, zip_path: Path) -> Path:
    """The upload form: stats_<epoch>.db inside a .zip, as the study's data folders held it."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(db, f"1431500000000/{db.name}")
    return zip_path
