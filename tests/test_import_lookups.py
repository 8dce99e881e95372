"""The lookups an import makes before it parses (device id, leases, earliest user start, earlier
imports, Arrow schemas) take a path without Ibis on DuckDB, so that `ucn import` does not pay for
importing Ibis; each must give what the portable Ibis definition gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any

import pyarrow as pa
import pytest

from pcap_helpers import add_device
from ucnstudy import Study
from ucnstudy.errors import StudyError
from ucnstudy.schema import TABLES
from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.pcap import device_leases
from ucnstudy.sources.timewindow import earliest_start


@contextmanager
def ibis_path(study: Study) -> Iterator[None]:
    """The engine answers as one without the DuckDB shortcut: the portable Ibis expressions."""
    study.engine.name = "portable"  # type: ignore[misc]
    try:
        yield
    finally:
        del study.engine.name  # type: ignore[misc]


def both(study: Study, lookup: Callable[[], Any]) -> tuple[Any, Any]:
    fast = lookup()
    with ibis_path(study):
        portable = lookup()
    return fast, portable


def test_arrow_schemas_are_those_ibis_gives() -> None:
    for table in TABLES.values():
        assert table.arrow_schema().equals(table.ibis_schema().to_pyarrow(), check_metadata=True)


def test_device_id_and_leases_match_the_ibis_lookups(duck: Study) -> None:
    add_device(duck, "alice.laptop", 3, leases=[
        ("10.0.0.2", datetime(2015, 3, 1), datetime(2015, 4, 1, 12, 30, 0, 5)),
        ("10.0.0.9", None, None), ("2001:db8::1", datetime(2015, 4, 1), None)])
    add_device(duck, "bob.phone", 4)
    ctx = IngestContext(duck)
    fast, portable = both(duck, lambda: ctx.device_id("alice.laptop"))
    assert fast == portable == 3
    for devid in (3, 4):
        fast, portable = both(duck, partial(device_leases, duck, devid))
        assert fast.leases == portable.leases
    assert len(device_leases(duck, 3).leases) == 3
    with pytest.raises(StudyError, match="unknown device 'nobody'"):
        ctx.device_id("nobody")
    with ibis_path(duck), pytest.raises(StudyError, match="unknown device 'nobody'"):
        ctx.device_id("nobody")


@pytest.mark.parametrize("starts", [[], [None], [datetime(2015, 3, 2, 8, 0, 0, 123456), None,
                                                 datetime(2015, 2, 27)]])
def test_earliest_start_matches_the_ibis_minimum(duck: Study, starts: list[datetime | None]) -> None:
    if starts:
        duck.import_rows("table", "users", [("users", pa.table({
            "id": list(range(len(starts))), "username": [f"u{i}" for i in range(len(starts))],
            "starttime": pa.array(starts, pa.timestamp("us"))}))], sha256="users")
    fast, portable = both(duck, lambda: earliest_start(duck))
    assert fast == portable
    assert fast == min((s for s in starts if s is not None), default=None)


def test_earlier_imports_match_the_ibis_filters(duck: Study) -> None:
    add_device(duck, "alice.laptop", 1)
    duck.import_rows("pcap", "/x/a.pcap", [], sha256="aaa")
    duck.import_rows("pcap", "/x/b.pcap", [], sha256="bbb")
    duck.import_rows("squid", "/x/a.pcap", [], sha256="ccc")
    for kind, path, sha in [("pcap", "/x/a.pcap", "bbb"), ("pcap", "/x/c.pcap", "ccc"),
                            ("squid", "/x/a.pcap", "zzz"), ("zeek", "/x/a.pcap", "aaa")]:
        for lookup in (partial(duck.is_imported, kind, sha), partial(duck.imported_path, kind, path),
                       partial(duck.imports_of_file, kind, path, sha)):
            fast, portable = both(duck, lookup)
            assert fast == portable
    assert duck.imports_of_file("pcap", "/x/a.pcap", "bbb") == [2, 3]
