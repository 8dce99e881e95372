"""squid importer: the real sample's reference counts, a generated custom-format log, leases, bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ucnstudy import Study
from ucnstudy.cli import main
from ucnstudy.errors import InputError
from ucnstudy.schema import TABLES
from ucnstudy.sources.base import IngestContext, ingest
from ucnstudy.sources.leases import Leases
from ucnstudy.sources.squid import parse_line, parse_squid
from ucnstudy.store.conform import conform

CLIENT = "192.168.0.35"


def add_devices(study: Study, leases: list[tuple[int, str, dt.datetime | None, dt.datetime | None]]) -> None:
    ids = sorted({d for d, *_ in leases})
    study.import_rows("test", "devices", [
        ("devices", pa.table({"id": ids, "login": [f"user.dev{i}" for i in ids]})),
        ("device_addresses", pa.table({
            "devid": [d for d, *_ in leases], "address": [a for _, a, _, _ in leases],
            "valid_from": pa.array([f for *_, f, _ in leases], pa.timestamp("us")),
            "valid_to": pa.array([t for *_, t in leases], pa.timestamp("us")),
        })),
    ], sha256=f"devices-{leases!r}")


def import_squid(study: Study, path: Path, strict: bool = False):
    return ingest(study, "squid", [path], parse_squid, strict=strict)[0]


def test_real_access_log_reference_counts(duck: Study, real_data: Path) -> None:
    add_devices(duck, [(1, CLIENT, None, None)])
    result = import_squid(duck, real_data / "squid" / "access3.log")
    assert result.rows == {"httpreqs": 100} and result.warnings == []
    t = duck.table("httpreqs").to_pyarrow()
    assert Counter(t.column("req_method").to_pylist()) == {"GET": 57, "CONNECT": 43}
    statuses = Counter(t.column("res_status_code").to_pylist())
    assert statuses[503] == 13 and statuses[None] == 13 and statuses[404] == 3  # squid's 000: no response
    assert sum(t.column("res_size").to_pylist()) == 2_381_656
    ts = t.column("ts").to_pylist()
    assert min(ts) == dt.datetime(2012, 9, 28, 22, 11, 35, 249000)  # the epoch, read as UTC
    assert max(ts) == dt.datetime(2012, 10, 1, 2, 15, 19, 228000)
    connect = [r for r in t.to_pylist() if r["req_method"] == "CONNECT"]
    assert {(r["req_url_host"], r["dstport"]) for r in connect} >= {("safebrowsing.google.com", 443)}
    assert all(r["source"] == "squid" and r["srcip"] == CLIENT and r["devid"] == 1 for r in t.to_pylist())


def custom_line(rng: random.Random, epoch: float, client: str) -> tuple[str, dict]:
    """One line of the UCN study's logformat and the values it encodes."""
    host = rng.choice(["www.lemonde.fr", "static.bbci.co.uk", "ad.doubleclick.net"])
    path = rng.choice(["/", "/a/b.js", "/img/x.png", "/news?id=3"])
    status, size = rng.choice([200, 304, 404]), rng.randrange(0, 10**6)
    ua = rng.choice(['Mozilla/5.0 (X11; Linux) "quoted"', "-"])
    referer = rng.choice(["-", "http://www.lemonde.fr/"])
    local = dt.datetime.fromtimestamp(epoch, dt.timezone(dt.timedelta(hours=2)))
    escaped = ua.replace('"', '\\"')
    line = (f"{local:%d/%b/%Y:%H:%M:%S %z} {epoch:.3f} {rng.randrange(1, 999)} {client} "
            f"TCP_MISS/{status:03d} {size} GET http://{host}{path} - HTTP/1.1 DIRECT/93.184.216.34 "
            f'text/html;charset=utf-8 "{referer}" "{escaped}"')
    return line, {"ts": dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=round(epoch * 1000)),
                  "req_url_host": host, "req_url_path": path.partition("?")[0], "res_status_code": status,
                  "res_size": size, "req_ua": None if ua == "-" else ua,
                  "req_referer": None if referer == "-" else referer, "res_mimetype": "text/html",
                  "dstip": "93.184.216.34", "dstport": 80}


def test_generated_custom_format_gzip_and_time_bounded_leases(duck: Study, tmp_path: Path) -> None:
    rng = random.Random(7)
    switch = dt.datetime(2015, 1, 2)
    add_devices(duck, [(1, "10.8.0.2", None, switch), (2, "10.8.0.2", switch, None)])
    base = (switch - dt.datetime(1970, 1, 1)).total_seconds()
    lines, expected = [], []
    for i in range(300):
        epoch = base + rng.uniform(-86400, 86400)
        client = "10.8.0.2" if i % 10 else "10.8.0.99"  # every tenth client has no lease
        line, values = custom_line(rng, epoch, client)
        lines.append(line)
        if client == "10.8.0.2":
            expected.append({**values, "devid": 1 if values["ts"] < switch else 2})
    path = tmp_path / "access.log.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    result = import_squid(duck, path)
    assert result.rows == {"httpreqs": 270}
    assert any("30 lines of 1 client address(es)" in w and "10.8.0.99 (30)" in w for w in result.warnings)
    columns = list(expected[0])
    got = duck.table("httpreqs").select(*columns).to_pyarrow().to_pylist()
    key = lambda r: (r["ts"], r["req_url_host"], r["res_size"])  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)


def test_malformed_lines_reported_and_strict_is_fatal(duck: Study, tmp_path: Path, real_data: Path) -> None:
    add_devices(duck, [(1, CLIENT, None, None)])
    good = (real_data / "squid" / "access3.log").read_text().splitlines()[:5]
    path = tmp_path / "bad.log"
    error = f"1348870295.300 0 {CLIENT} NONE/400 3900 NONE error:invalid-request - HIER_NONE/- text/html"
    path.write_text("\n".join([good[0], "garbage here", good[1], "99999999999999.1 5 x TCP/200 1 GET u - D -",
                               error, *good[2:]]) + "\n")
    result = import_squid(duck, path)
    assert result.rows == {"httpreqs": 5}
    assert [w.split(": ")[0] for w in result.warnings] == [f"{path}, line 2", f"{path}, line 4", str(path)]
    assert "1 squid error entries" in result.warnings[2]
    duck.reset()
    add_devices(duck, [(1, CLIENT, None, None)])
    with pytest.raises(InputError, match=r"bad.log, line 2"):
        import_squid(duck, path, strict=True)
    assert duck.table("httpreqs").count().execute() == 0  # nothing of a failed import stays


def test_truncated_gzip_keeps_the_lines_before(duck: Study, tmp_path: Path, real_data: Path) -> None:
    add_devices(duck, [(1, CLIENT, None, None)])
    data = gzip.compress((real_data / "squid" / "access3.log").read_bytes())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    result = import_squid(duck, path)
    assert 0 < result.rows["httpreqs"] < 100
    assert any("truncated" in w for w in result.warnings)


REAL_LINES = [
    "1348870295.249  59723 192.168.0.35 TCP_MISS/503 0 CONNECT safebrowsing.google.com:443 - DIRECT/- -",
    "1348870325.850      9 192.168.0.35 TCP_MISS/000 0 GET http://www.google.com/complete/search? - "
    "DIRECT/www.google.com -",
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200),
                 st.tuples(st.sampled_from(REAL_LINES), st.integers(0, 120), st.text(max_size=5)).map(
                     lambda t: t[0][: t[1]] + t[2] + t[0][t[1]:])))
def test_parse_line_never_raises(line: str) -> None:
    fields = parse_line(line)
    assert fields is None or (len(fields) == 11 and fields[0] is not None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=120), st.sampled_from([s.encode() for s in REAL_LINES])),
                max_size=12), st.booleans())
def test_random_bytes_never_crash_the_parser(tmp_path: Path, lines: list[bytes], compress: bool) -> None:
    """Parse and shape rows exactly as an import does (conform = the load's type check), no database."""
    path = tmp_path / "random.log"
    data = b"\n".join(lines)
    path.write_bytes(gzip.compress(data)[: max(10, len(data))] if compress else data)
    leases = Leases(pa.table({"devid": [1], "address": [CLIENT],
                              "valid_from": pa.nulls(1, pa.timestamp("us")),
                              "valid_to": pa.nulls(1, pa.timestamp("us"))}))
    ctx = IngestContext(None, str(path), options={"leases": leases})  # type: ignore[arg-type]
    rows = sum(conform(TABLES[t], d).num_rows for t, d in parse_squid(str(path), ctx))
    assert rows <= len(lines)


def test_cli_import_squid_is_idempotent(tmp_path: Path, real_data: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    db = str(tmp_path / "cli.duckdb")
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("users:\n  - username: alice\n    country: fr\n"
                        "devices:\n  - login: alice.laptop\n    platform: macbook\n"
                        f"    addresses: [{CLIENT}]\nlinks:\n  - username: alice\n    login: alice.laptop\n")
    assert main(["--db", db, "import", "manifest", str(manifest)]) == 0
    log = str(real_data / "squid" / "access3.log")
    assert main(["--db", db, "import", "squid", log]) == 0
    assert "added 100 httpreqs" in capsys.readouterr().out
    assert main(["--db", db, "import", "squid", log]) == 0
    assert "already imported" in capsys.readouterr().out
    from ucnstudy import open_study

    with open_study(db, read_only=True) as study:
        t = study.table("httpreqs")
        assert t.count().execute() == 100
        assert t.filter(t.user_url.isnull()).count().execute() == 0  # enriched after the import


def test_ts_at_end_subtracts_the_response_time(duck: Study, tmp_path: Path) -> None:
    add_devices(duck, [(1, CLIENT, None, None)])
    path = tmp_path / "old-squid.log"
    path.write_text(f"1348870295.249  59723 {CLIENT} TCP_MISS/503 0 CONNECT a.example.com:443 - DIRECT/- -\n")
    ingest(duck, "squid", [path], parse_squid, options={"ts_at_end": True})
    ts = duck.table("httpreqs").ts.execute().iloc[0]
    assert ts.to_pydatetime() == dt.datetime(2012, 9, 28, 22, 10, 35, 526000)  # 59.723 s earlier
