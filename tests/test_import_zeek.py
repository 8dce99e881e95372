"""Zeek importer: the CTU sample's reference counts, TSV = JSON, generated logs, bad input."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ucnstudy import Study, open_study
from ucnstudy.cli import main
from ucnstudy.errors import InputError
from ucnstudy.schema import TABLES
from ucnstudy.sources.base import IngestContext
from ucnstudy.sources.leases import Leases
from ucnstudy.sources.zeek import import_zeek, parse_zeek
from ucnstudy.sources.zeek.reader import ZeekReader
from ucnstudy.store.conform import conform

DEVICE = "147.32.83.161"
RESOLVER = "147.32.82.28"  # the one DNS exchange the PC did not answer itself


def sample(real_data: Path) -> Path:
    return real_data / "zeek" / "ctu-normal-012"


def tsv_rows(path: Path) -> list[dict[str, str]]:
    """An independent reading of a Zeek TSV log: csv on the lines after the #fields header."""
    lines = path.read_text().splitlines()
    fields = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
    return [dict(zip(fields, row, strict=True)) for row in
            csv.reader((line for line in lines if not line.startswith("#")), delimiter="\t",
                       quoting=csv.QUOTE_NONE)]


def add_devices(study: Study, addresses: list[str]) -> None:
    study.import_rows("test", "devices", [
        ("devices", pa.table({"id": list(range(1, len(addresses) + 1)),
                              "login": [f"ctu.dev{i}" for i in range(len(addresses))]})),
        ("device_addresses", pa.table({"devid": list(range(1, len(addresses) + 1)), "address": addresses})),
    ], sha256=f"devices-{addresses}")


def records(path: Path) -> tuple[list[dict], list[str]]:
    problems: list[str] = []
    reader = ZeekReader(str(path), lambda msg, line=None: problems.append(f"{line}: {msg}"))
    return [r for _, r in reader.records()], problems


def test_reader_reproduces_reference_counts(real_data: Path) -> None:
    d = sample(real_data)
    conn, p1 = records(d / "conn.log.labeled")
    dns, p2 = records(d / "dns.log.labeled")
    http, p3 = records(d / "http.log.labeled")
    ssl, p4 = records(d / "ssl.log.labeled")
    assert p1 == p2 == p3 == p4 == []  # the two extra label columns are tolerated
    assert len(conn) == 4740
    assert len(dns) == 12 and len({r["query"] for r in dns}) == 5
    assert len(http) == 119 and len({r["host"] for r in http} - {None}) == 6
    assert len({r["user_agent"] for r in http} - {None}) == 3
    assert len(ssl) == 812 and len({r["id.resp_h"] for r in ssl}) == 194


def test_real_sample_import(any_study: Study, real_data: Path) -> None:
    duck = any_study  # DuckDB and PostgreSQL: server names and enrichment run as SQL in each engine
    d = sample(real_data)
    add_devices(duck, [DEVICE, RESOLVER])
    results = import_zeek(duck, [d])
    assert {Path(r.path).name: r.rows for r in results} == {
        "ssl.log.labeled": {}, "http.log.labeled": {"httpreqs": 119}, "dns.log.labeled": {"dnsreqs": 12},
        "conn.log.labeled": {"flows": 4740}}
    flows = duck.table("flows").to_pyarrow().to_pylist()
    assert {f["srcip"] for f in flows} <= {DEVICE, RESOLVER}  # src is always the device
    conn = tsv_rows(d / "conn.log.labeled")
    assert sum(f["bytes_in"] + f["bytes_out"] for f in flows) == sum(
        int(r["orig_ip_bytes"]) + int(r["resp_ip_bytes"]) for r in conn)
    outbound = sum(int(r["orig_pkts"]) for r in conn if r["id.orig_h"] in (DEVICE, RESOLVER))
    inbound_sent = sum(int(r["resp_pkts"]) for r in conn if r["id.orig_h"] not in (DEVICE, RESOLVER))
    assert sum(f["packets_out"] for f in flows) == outbound + inbound_sent
    # server names: SNI of the ssl record with the same uid, else the HTTP Host (reference by uid)
    names = {r["uid"]: r["host"] for r in tsv_rows(d / "http.log.labeled") if r["host"] != "-"}
    names.update({r["uid"]: r["server_name"] for r in tsv_rows(d / "ssl.log.labeled")
                  if r["server_name"] != "-"})
    assert Counter(f["server_name"] for f in flows if f["server_name"]) == Counter(
        names[r["uid"]] for r in conn if r["uid"] in names)
    dns = duck.table("dnsreqs").to_pyarrow()
    assert len(set(dns.column("query").to_pylist())) == 5
    http = duck.table("httpreqs").to_pyarrow()
    assert len({u for u in http.column("req_ua").to_pylist() if u}) == 3
    assert set(http.column("source").to_pylist()) == {"zeek"}


def to_json_lines(path: Path) -> str:
    """The same log as Zeek's JSON writer would give it: typed values, vectors as lists."""
    out = []
    for row in tsv_rows(path):
        obj: dict[str, object] = {"_path": path.name.split(".")[0]}
        for key, value in row.items():
            if value == "-":
                continue
            if key in ("answers", "TTLs", "resp_mime_types"):
                obj[key] = [float(v) if key == "TTLs" else v for v in value.split(",")]
            elif key in ("ts", "duration", "rtt"):
                obj[key] = float(value)
            elif key.endswith(("_p", "pkts", "bytes", "len", "code", "qtype")) and value.isdigit():
                obj[key] = int(value)
            else:
                obj[key] = value
        out.append(json.dumps(obj))
    return "\n".join(out) + "\n"


def test_json_and_tsv_give_the_same_rows(tmp_path: Path, real_data: Path) -> None:
    d = sample(real_data)
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    for name in ("conn", "dns", "http", "ssl"):
        data = to_json_lines(d / f"{name}.log.labeled").encode()
        (json_dir / f"{name}.log.gz").write_bytes(gzip.compress(data))
    tables = {}
    for label, source in (("tsv", d), ("json", json_dir)):
        with open_study(tmp_path / f"{label}.duckdb") as study:
            study.create_schema()
            add_devices(study, [DEVICE, RESOLVER])
            import_zeek(study, [source])
            tables[label] = {t: study.table(t).to_pyarrow() for t in ("flows", "dnsreqs", "httpreqs")}
    for name, tsv in tables["tsv"].items():
        columns = tsv.column_names
        key = [(c, "ascending") for c in ("devid", "flowid", "ts" if "ts" in columns else "startts")]
        assert tables["json"][name].sort_by(key).equals(tsv.sort_by(key)), name


def test_generated_dns_json_keeps_answers_aligned(duck: Study, tmp_path: Path) -> None:
    add_devices(duck, ["10.0.0.2", "2001:db8::2"])
    lines = [
        {"ts": 1700000000.25, "uid": "C1", "id.orig_h": "10.0.0.2", "id.orig_p": 5353, "id.resp_h": "9.9.9.9",
         "id.resp_p": 53, "proto": "udp", "query": "WWW.Example.com.", "qtype": 1, "rtt": 0.012,
         "answers": ["example.cdn.net", "93.184.216.34", "93.184.216.35"], "TTLs": [300.0, 60.0, 60.0],
         "label": "extra field"},
        {"ts": "2023-11-14T22:13:21.000000Z", "id": {"orig_h": "9.9.9.9", "orig_p": 53,
                                                     "resp_h": "2001:db8::2", "resp_p": 4444},
         "proto": "udp", "query": "v6.example.org", "qtype": 28, "answers": ["2001:db8::99"], "TTLs": [30.0]},
    ]
    path = tmp_path / "dns.log"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    import_zeek(duck, [path], enrich=False)
    rows = sorted(duck.table("dnsreqs").to_pyarrow().to_pylist(), key=lambda r: r["query"])
    v6, v4 = rows[0], rows[1]
    assert v4["query"] == "www.example.com" and v4["query_type"] == 1
    assert v4["ans_type"] == [5, 1, 1]
    assert v4["ans_name"] == ["www.example.com", "example.cdn.net", "example.cdn.net"]
    assert v4["ans_addr"] == ["example.cdn.net", "93.184.216.34", "93.184.216.35"]
    assert v4["ans_ttl"] == [300, 60, 60]
    assert (v4["ts"] - v4["query_ts"]).total_seconds() == pytest.approx(0.012)
    assert (v4["srcip"], v4["srcport"], v4["dstip"], v4["dstport"]) == ("10.0.0.2", 5353, "9.9.9.9", 53)
    assert (v6["srcip"], v6["srcport"], v6["dstport"], v6["devid"]) == ("2001:db8::2", 4444, 53, 2)
    assert v6["ans_type"] == [28] and v6["ts"] == v6["query_ts"]  # no rtt: the query time


def test_missing_optional_columns_and_bad_headers(duck: Study, tmp_path: Path) -> None:
    add_devices(duck, ["10.0.0.2"])
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\tts\tid.orig_h\tid.resp_h\tproto\n"
                    "1700000000.5\t10.0.0.2\t1.1.1.1\ttcp\n1700000001.5\t10.0.0.2\n")
    result = import_zeek(duck, [path], enrich=False)[0]
    assert result.rows == {"flows": 1}
    assert result.warnings == [f"{path}, line 4: malformed Zeek conn record: 2 fields where the #fields "
                               "header names 4"]
    flow = duck.table("flows").to_pyarrow().to_pylist()[0]
    assert flow["proto"] == 6 and flow["packets_out"] is None and flow["startts"] == flow["endts"]
    bad = tmp_path / "http.log"
    bad.write_text("#fields\tts\tuid\thost\n1700000000.5\tC1\tx\n")
    with pytest.raises(InputError, match=r"http.log, line 1: the #fields header lacks id.orig_h, id.resp_h"):
        import_zeek(duck, [bad])
    strict = tmp_path / "strict" / "conn.log"
    strict.parent.mkdir()
    strict.write_text(path.read_text().replace("1700000000.5", "1700000009.5"))  # new content, same flaw
    with pytest.raises(InputError, match=r"conn.log, line 4"):
        import_zeek(duck, [strict], strict=True)
    assert duck.table("flows").count().execute() == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no Zeek logs here"):
        import_zeek(duck, [empty])


HEADER = ("#separator \\x09\n#set_separator\t,\n"
          "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype\tanswers\tTTLs\n")
GOOD = "1700000000.5\tC1\t10.0.0.2\t5000\t9.9.9.9\t53\tudp\ta.com\t1\t1.2.3.4,5.6.7.8\t60.0,60.0"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.text(max_size=80),
    st.tuples(st.integers(0, len(GOOD)), st.integers(0, 10), st.text(max_size=6)).map(
        lambda t: GOOD[: t[0]] + t[2] + GOOD[t[0] + t[1]:]),
    st.dictionaries(st.sampled_from(["ts", "id.orig_h", "id.resp_h", "query", "answers", "TTLs", "qtype"]),
                    st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=8),
                              st.lists(st.text(max_size=5), max_size=3))).map(json.dumps),
), max_size=10))
def test_mutated_records_never_crash(tmp_path: Path, lines: list[str]) -> None:
    """Parse, attribute and shape rows exactly as an import does (conform = the load's type check),
    without a database, so that many examples run."""
    path = tmp_path / "dns.log"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    ctx = IngestContext(None, str(path), options={"leases": one_lease("10.0.0.2")})  # type: ignore[arg-type]
    rows = 0
    for table, data in parse_zeek(str(path), ctx):
        rows += conform(TABLES[table], data).num_rows
    assert rows <= len(lines)
    assert all(", line " in p for p in ctx.problems if "no device lease" not in p)


def one_lease(address: str) -> Leases:
    return Leases(pa.table({"devid": [1], "address": [address], "valid_from": pa.nulls(1, pa.timestamp("us")),
                            "valid_to": pa.nulls(1, pa.timestamp("us"))}))


def test_cli_import_zeek_directory(tmp_path: Path, real_data: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.duckdb")
    with open_study(db) as study:
        study.create_schema()
        add_devices(study, [DEVICE])
    assert main(["--db", db, "import", "zeek", str(sample(real_data))]) == 0
    captured = capsys.readouterr()
    assert "added 4,740 flows" in captured.out and "added 10 dnsreqs" in captured.out
    assert "2 dns records between addresses that no device lease covers" in " ".join(captured.err.split())


def test_flows_named_by_the_dns_answer_that_resolved_them(any_study: Study, tmp_path: Path) -> None:
    add_devices(any_study, ["10.0.0.2"])
    t = 1_700_000_000.0
    dns = {"ts": t, "id.orig_h": "10.0.0.2", "id.orig_p": 5000, "id.resp_h": "9.9.9.9", "id.resp_p": 53,
           "proto": "udp", "query": "www.example.com", "qtype": 1,
           "answers": ["cdn.example.net", "93.184.216.34"], "TTLs": [60.0, 60.0]}
    served = {**dns, "id.orig_h": "8.8.4.4", "id.resp_h": "10.0.0.2", "query": "other.org",
              "answers": ["203.0.113.9"], "ts": t + 5}  # answered by the device: names nothing it used
    conn = [{"ts": t + dt_, "id.orig_h": "10.0.0.2", "id.orig_p": 40000 + i, "id.resp_h": addr,
             "id.resp_p": 443, "proto": "tcp", "duration": 1.0}
            for i, (dt_, addr) in enumerate([(1, "93.184.216.34"), (7200, "93.184.216.34"),
                                             (9, "203.0.113.9")])]
    (tmp_path / "dns.log").write_text("\n".join(json.dumps(x) for x in (dns, served)) + "\n")
    (tmp_path / "conn.log").write_text("\n".join(json.dumps(x) for x in conn) + "\n")
    import_zeek(any_study, [tmp_path], enrich=False)
    flows = any_study.table("flows").order_by("startts").to_pyarrow().to_pylist()
    assert [(f["dstip"], f["server_name"]) for f in flows] == [
        ("93.184.216.34", "www.example.com"), ("203.0.113.9", None), ("93.184.216.34", None)]


def test_tcp_performance_from_the_history(duck: Study, tmp_path: Path) -> None:
    """t/T and w/W letters (logarithmic: 1, 10, 100... events) per side, upper case for the
    originator; UDP, a missing history and the measures a conn log lacks stay NULL."""
    add_devices(duck, ["10.0.0.2"])
    t = 1_700_000_000.0
    base = {"id.orig_p": 40000, "id.resp_p": 443, "proto": "tcp", "duration": 1.0}
    conn = [
        {**base, "ts": t, "id.orig_h": "10.0.0.2", "id.resp_h": "192.0.2.1", "history": "ShADadtTTwf"},
        {**base, "ts": t + 1, "id.orig_h": "198.51.100.7", "id.resp_h": "10.0.0.2",  # device serves
         "history": "ShADadttTW"},
        {**base, "ts": t + 2, "id.orig_h": "10.0.0.2", "id.resp_h": "192.0.2.2"},
        {**base, "ts": t + 3, "id.orig_h": "10.0.0.2", "id.resp_h": "192.0.2.3", "proto": "udp",
         "history": "Dd"},
    ]
    (tmp_path / "conn.log").write_text("\n".join(json.dumps(x) for x in conn) + "\n")
    import_zeek(duck, [tmp_path], enrich=False)
    rows = duck.table("flows").order_by("startts").to_pyarrow().to_pylist()
    got = [(r["retrans_pkts_out"], r["retrans_pkts_in"], r["zerowin_out"], r["zerowin_in"])
           for r in rows]
    assert got == [(10, 1, 0, 1), (10, 1, 0, 1), (None,) * 4, (None,) * 4]
    assert all(r["rtt_internet_n"] is None and r["hs_rtt_internet_ms"] is None
               and r["retrans_bytes_out"] is None and r["bulk_secs_in"] is None for r in rows)
