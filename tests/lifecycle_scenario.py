"""A small study built through the real importers, for the lifecycle tests (imports, leases, users).

Three users: alice (two personal devices), the smith household bob and carol sharing a tablet
(bob also has a phone). A squid log names clients by address; a lease of 10.8.0.10 moves from
alice.phone to bob.phone at SWITCH, which a second manifest corrects after the fact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ucnstudy import Study
from ucnstudy.schema import BOOKKEEPING, TABLES
from ucnstudy.sources.base import ingest
from ucnstudy.sources.manifest import import_manifest
from ucnstudy.sources.squid import parse_squid

START = dt.datetime(2015, 10, 1)
SWITCH = dt.datetime(2015, 10, 1, 12)
MANIFEST = """
users:
  - {username: alice, familyname: martin, country: fr}
  - {username: bob, familyname: smith, country: uk}
  - {username: carol, familyname: smith, country: uk}
devices:
  - {login: alice.phone, name: phone, platform: iphone, addresses: [10.8.0.10]}
  - {login: alice.laptop, name: laptop, platform: macbook, addresses: [10.8.0.11]}
  - {login: bob.phone, name: phone, platform: android-phone, addresses: [10.8.0.20]}
  - {login: smith.tablet, name: tablet, platform: ipad, users: [bob, carol], addresses: [10.8.0.21]}
"""
# the correction: from SWITCH, 10.8.0.10 was bob's phone, not alice's
CORRECTED = MANIFEST.replace(
    "addresses: [10.8.0.10]}",
    "addresses: [{address: 10.8.0.10, valid_to: 2015-10-01T12:00:00Z}]}").replace(
    "addresses: [10.8.0.20]}",
    "addresses: [10.8.0.20, {address: 10.8.0.10, valid_from: 2015-10-01T12:00:00Z}]}")
CLIENTS = ("10.8.0.10", "10.8.0.11", "10.8.0.20", "10.8.0.21")
HOSTS = ("www.lemonde.fr", "www.bbc.co.uk", "ad.doubleclick.net")


def squid_lines(n: int = 96, offset_s: float = 0.0) -> list[str]:
    """Native squid lines, every 15 minutes from START, clients in turn."""
    lines = []
    for i in range(n):
        epoch = (START - dt.datetime(1970, 1, 1)).total_seconds() + i * 900 + offset_s
        client, host = CLIENTS[i % len(CLIENTS)], HOSTS[i % len(HOSTS)]
        lines.append(f"{epoch:.3f}    120 {client} TCP_MISS/200 {1000 + i} GET http://{host}/p{i} - "
                     "DIRECT/93.184.216.34 text/html")
    return lines


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def build(study: Study, folder: Path) -> dict[str, Path]:
    """The manifest and two squid logs imported; the files by name."""
    files = {"manifest": write(folder / "manifest.yaml", MANIFEST),
             "day1": write(folder / "access1.log", "\n".join(squid_lines()) + "\n"),
             "day2": write(folder / "access2.log", "\n".join(squid_lines(48, 86400)) + "\n")}
    import_manifest(study, files["manifest"])
    ingest(study, "squid", [files["day1"], files["day2"]], parse_squid)
    return files


def snapshot(study: Study, exclude: tuple[str, ...] = BOOKKEEPING) -> dict[str, list]:
    """Every table's rows, sorted, for before/after comparisons."""
    out = {}
    for name in TABLES:
        if name in exclude:
            continue
        rows = study.table(name).to_pyarrow().to_pylist()
        out[name] = sorted(rows, key=lambda r: repr(sorted(r.items())))
    return out


class FailingWriter:
    """A writer whose `fail_at`-th statement (execute) raises: a fault half-way."""

    def __init__(self, writer: Any, fail_at: int) -> None:
        self._writer, self._left = writer, fail_at

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        self._left -= 1
        if self._left <= 0:
            raise RuntimeError("injected fault")
        return self._writer.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


@contextmanager
def fault_after(study: Study, monkeypatch: pytest.MonkeyPatch, statements: int) -> Iterator[None]:
    """Within the block, the study's transactions fail at their `statements`+1-th statement."""
    real = study.engine.transaction

    @contextmanager
    def failing() -> Iterator[FailingWriter]:
        with real() as writer:
            yield FailingWriter(writer, statements + 1)

    monkeypatch.setattr(study.engine, "transaction", failing)
    with pytest.raises(RuntimeError, match="injected fault"):
        yield
    monkeypatch.setattr(study.engine, "transaction", real)


def lease_reference(leases: list[dict], address: str, ts: dt.datetime) -> int | None:
    """The device holding `address` at `ts` (plain Python): latest valid_from, then lowest id."""
    covering = [r for r in leases if r["address"] == address
                and (r["valid_from"] is None or ts >= r["valid_from"])
                and (r["valid_to"] is None or ts < r["valid_to"])]
    covering.sort(key=lambda r: (r["valid_from"] is None, -(r["valid_from"] or START).timestamp(),
                                 r["devid"]))
    return covering[0]["devid"] if covering else None


def arrow(rows: list[dict], name: str) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=TABLES[name].arrow_schema())
