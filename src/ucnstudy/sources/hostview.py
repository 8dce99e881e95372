"""HostView end-host agent databases (Windows, 2014-2016) into httpreqs, sockets, runningapps,
gt_foreground and gt_io. Formats and rules: docs/inputs/hostview.md.

Every HostView timestamp is a UTC epoch in milliseconds. One file (a stats_*.db, or the
uploaded .zip holding it) is one import.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa

from ucnstudy.sources.base import IngestContext, Parser, chunked
from ucnstudy.sources.flowid import flowid
from ucnstudy.sources.hostview_db import (
    SQLITE_ERRORS,
    RecordError,
    app,
    as_int,
    columns,
    databases,
    last_timestamp,
    ms_time,
    plausible_ms,
    read_rows,
)
from ucnstudy.sources.hostview_http import http_row

KIND = "hostview"
IO_DEVICES = {0: "camera", 1: "keyboard", 2: "microphone", 3: "mouse", 4: "speaker"}
LISTEN_STATE = 2  # MIB_TCP_STATE_LISTEN in the Windows TCP table
PROCS_INTERVAL = timedelta(seconds=60)  # HostView samples procs every 60 s (window of a first sample)
SESSION_ENDS = ("stop", "pause", "suspend", "autostop")
TABLE_COLUMNS = {
    "http": ("timestamp", "httpverb", "httpverbparam", "httpstatuscode", "httphost", "referer",
             "contenttype", "contentlength", "protocol", "srcip", "destip", "srcport", "destport"),
    "ports": ("timestamp", "pid", "name", "protocol", "srcip", "destip", "srcport", "destport", "state"),
    "procs": ("timestamp", "pid", "name", "memory", "cpu"),
    "activity": ("timestamp", "pid", "name", "description", "fullscreen", "idle"),
    "io": ("timestamp", "device", "pid", "name"),
    "session": ("timestamp", "event"),
}


@dataclass
class Database:
    """The rows of one HostView database that several output tables need, with problems reported."""

    ctx: IngestContext
    label: str
    con: sqlite3.Connection
    activity: list[dict[str, object]] = field(default_factory=list)
    activity_ts: list[datetime] = field(default_factory=list)
    io_events: list[dict[str, object]] = field(default_factory=list)
    io_by_pid: dict[int | None, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    session_ends: list[datetime] = field(default_factory=list)
    last_ts: datetime | None = None
    bounds: tuple[int, int] = field(default_factory=plausible_ms)

    def rows(self, table: str) -> Iterator[dict[str, object]]:
        """Rows with a valid `ts`; malformed ones reported as '<db>: table T rowid N: problem'."""
        try:
            present = columns(self.con, table)
            if present is None:
                return
            for row in read_rows(self.con, table, TABLE_COLUMNS[table], present):
                try:
                    row["ts"] = ms_time(row["timestamp"], self.bounds)
                except RecordError as exc:
                    self.problem(table, row, exc)
                    continue
                yield row
        except SQLITE_ERRORS as exc:
            self.ctx.problem(f"{self.where} {table} is damaged ({exc}); its earlier rows are kept")

    @property
    def where(self) -> str:
        return f"{self.label}: table" if self.label else "table"

    def problem(self, table: str, row: dict[str, object], exc: Exception) -> None:
        self.ctx.problem(f"{self.where} {table} rowid {row['rowid']}: {exc}")

    def load_context(self) -> None:
        """activity, io and session rows: needed by procs flags and foreground intervals."""
        for row in self.rows("activity"):
            self.activity.append(row)
            self.activity_ts.append(row["ts"])
        for row in self.rows("io"):
            try:
                code = as_int(row["device"])
                if code not in IO_DEVICES:
                    raise RecordError(f"unknown io device code {row['device']!r} (0-4 are known)")
                row["io_device"], row["pid"] = IO_DEVICES[code], as_int(row["pid"])
            except RecordError as exc:
                self.problem("io", row, exc)
                continue
            self.io_by_pid[row["pid"]].append(row["ts"])
            self.io_events.append(row)
        for row in self.rows("session"):
            if str(row["event"]).lower() in SESSION_ENDS:
                self.session_ends.append(row["ts"])
        self.last_ts = last_timestamp(self.con)


def foreground_rows(db: Database, devid: int) -> Iterator[dict[str, object]]:
    """Activity rows are state changes: each state lasts until the next change, a session end
    (stop, pause, suspend, autostop) or the last timestamp of the database. Consecutive rows
    with the same (pid, app, fullscreen, idle) are one interval."""
    changes = []
    for row in db.activity:
        try:
            state = (as_int(row["pid"]), app(row["name"]), bool(as_int(row["fullscreen"])),
                     bool(as_int(row["idle"])))
        except RecordError as exc:
            db.problem("activity", row, exc)
            continue
        if not changes or changes[-1][1] != state:
            changes.append((row["ts"], state))
    for i, (start, (_pid, name, fullscreen, idle)) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else db.last_ts or start
        cut = bisect.bisect_right(db.session_ends, start)
        if cut < len(db.session_ends):
            end = min(end, db.session_ends[cut])
        yield {"devid": devid, "starttime": start, "endtime": max(end, start), "appname": name,
               "fullscreen": fullscreen, "idle": idle}


def io_rows(db: Database, devid: int) -> Iterator[dict[str, object]]:
    for row in db.io_events:
        yield {"devid": devid, "ts": row["ts"], "io_device": row["io_device"], "appname": app(row["name"])}


def runningapps_rows(db: Database, devid: int) -> Iterator[dict[str, object]]:
    previous: dict[int | None, datetime] = {}
    for row in db.rows("procs"):
        try:
            pid, memory = as_int(row["pid"]), as_int(row["memory"])
            cpu = float(row["cpu"]) if row["cpu"] not in (None, "") else None  # type: ignore[arg-type]
        except (RecordError, TypeError, ValueError) as exc:
            db.problem("procs", row, exc)
            continue
        ts = row["ts"]
        foreground, fullscreen = _focus(db, pid, ts)
        since = previous.get(pid, ts - PROCS_INTERVAL)
        previous[pid] = ts
        io = db.io_by_pid.get(pid, []) if pid is not None else []
        has_io = bisect.bisect_right(io, ts) > bisect.bisect_right(io, since)  # an event in (since, ts]
        yield {"devid": devid, "ts": ts, "appname": app(row["name"]), "pid": pid, "memory": memory,
               "cpu": cpu, "is_foreground": foreground, "is_fullscreen": fullscreen, "has_io": has_io}


def _focus(db: Database, pid: int | None, ts: datetime) -> tuple[bool, bool]:
    """(foreground, fullscreen): the latest activity row at or before ts is this pid, not idle."""
    i = bisect.bisect_right(db.activity_ts, ts) - 1
    if i < 0:
        return False, False
    row = db.activity[i]
    try:
        same = pid is not None and as_int(row["pid"]) == pid
        return same and not as_int(row["idle"]), same and bool(as_int(row["fullscreen"]))
    except RecordError:
        return False, False


def socket_rows(db: Database, devid: int) -> Iterator[dict[str, object]]:
    """The ports table; listening sockets (state LISTEN, or no remote address) are skipped."""
    for row in db.rows("ports"):
        try:
            state, proto = as_int(row["state"]), as_int(row["protocol"], 32)
            sport, dport, pid = as_int(row["srcport"], 32), as_int(row["destport"], 32), as_int(row["pid"])
        except RecordError as exc:
            db.problem("ports", row, exc)
            continue
        src, dst = str(row["srcip"] or "").strip(), str(row["destip"] or "").strip()
        if state == LISTEN_STATE or dst in ("", "0.0.0.0", "::", "*"):
            continue
        fid = flowid(src, dst, proto, sport, dport) if None not in (proto, sport, dport) else None
        yield {"devid": devid, "ts": row["ts"], "appname": app(row["name"]), "pid": pid, "srcip": src,
               "dstip": dst, "proto": proto, "srcport": sport, "dstport": dport, "flowid": fid}


def http_rows(db: Database, devid: int, addresses: set[str]) -> Iterator[dict[str, object]]:
    for row in db.rows("http"):
        try:
            yield http_row(row, devid, addresses)
        except RecordError as exc:
            db.problem("http", row, exc)


def hostview_parser(login: str) -> Parser:
    """The ingest parser for HostView databases of device `login`."""

    def parse(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
        devid = ctx.device_id(login)
        addresses = _device_addresses(ctx, devid)
        with databases(path) as dbs:
            for label, con in dbs:
                db = Database(ctx, label, con)
                db.load_context()
                for table, rows in (("gt_foreground", foreground_rows(db, devid)),
                                    ("gt_io", io_rows(db, devid)),
                                    ("runningapps", runningapps_rows(db, devid)),
                                    ("sockets", socket_rows(db, devid)),
                                    ("httpreqs", http_rows(db, devid, addresses))):
                    for name, chunk in chunked(rows, table, size=50_000):
                        ctx.advance(chunk.num_rows)
                        yield name, chunk

    return parse


def _device_addresses(ctx: IngestContext, devid: int) -> set[str]:
    leases = ctx.study.table("device_addresses")
    found = leases.filter(leases.devid == devid).select("address").execute()
    return set(found["address"])


__all__ = ["IO_DEVICES", "KIND", "RecordError", "hostview_parser", "ms_time"]
