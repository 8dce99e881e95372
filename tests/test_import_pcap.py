"""ucn import pcap: real captures against their reference counts and tshark, hand-made captures
against independent computations (dpkt), and random or damaged bytes."""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import shutil
import subprocess
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import dpkt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcap_helpers import (
    DEVICE,
    DEVICE6,
    T0,
    add_device,
    dns_query,
    dns_response,
    parse_capture,
    rr_a,
    rr_aaaa,
    rr_cname,
    tcp,
    udp,
    write_pcap,
    write_pcapng,
)
from ucnstudy.cli import main
from ucnstudy.errors import InputError
from ucnstudy.sources.pcap import dns, import_pcap, tls
from ucnstudy.sources.pcap.http import HttpConnection

TSHARK = shutil.which("tshark")
SERVER, RESOLVER = "203.0.113.10", "10.8.0.1"
SYN, PSH_ACK, ACK, FIN_ACK = dpkt.tcp.TH_SYN, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, dpkt.tcp.TH_ACK, \
    dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK


def rows(study, table: str, order: str | None = None) -> list[dict]:
    t = study.table(table)
    return (t.order_by(order) if order else t).to_pyarrow().to_pylist()


# -- real captures ---------------------------------------------------------------------------

@pytest.fixture
def espn(duck, real_data):
    add_device(duck)
    import_pcap(duck, "alice.laptop", [real_data / "pcap" / "http_espn.pcapng"])
    return duck


def test_espn_reference_counts(espn) -> None:
    http = rows(espn, "httpreqs")
    assert len(http) == 61
    assert sum(r["res_status_code"] is not None for r in http) == 60
    hosts = Counter(r["req_url_host"] for r in http)
    assert len(hosts) == 14 and hosts["a.espncdn.com"] == 31 and hosts["espn.go.com"] == 5
    assert len({r["req_ua"] for r in http}) == 1
    assert {r["source"] for r in http} == {"pcap"} and {r["srcip"] for r in http} == {"172.16.0.122"}
    dnsr = rows(espn, "dnsreqs")
    assert len(dnsr) == 14 and all(r["query_ts"] is not None and r["query_ts"] <= r["ts"] for r in dnsr)
    flows = Counter(r["proto"] for r in rows(espn, "flows"))
    assert flows == {6: 25, 17: 14}


def test_wikipedia_reference_counts(duck, real_data) -> None:
    path = real_data / "pcap" / "wikipedia.pcap"
    add_device(duck)
    result = import_pcap(duck, "alice.laptop", [path])[0]
    assert any("141.142.220.118" in w for w in result.warnings)  # the guessed address, reported
    dnsr = rows(duck, "dnsreqs")
    assert len(dnsr) == 14 and sum(r["query_ts"] is not None for r in dnsr) == 14
    http = rows(duck, "httpreqs")
    assert len(http) == 15 and len({r["req_url_host"] for r in http}) == 4
    # conversations of the whole capture (dpkt, independent): 10 TCP / 24 UDP, of which the
    # device's are the flows (the others are neighbours' broadcasts and one stray TCP packet)
    convs = dpkt_conversations(path)
    assert Counter(p for p, _ in convs) == {6: 10, 17: 24}
    mine = Counter(p for p, ends in convs if any(a == "141.142.220.118" for a, _ in ends))
    assert Counter(r["proto"] for r in rows(duck, "flows")) == mine == {6: 9, 17: 14}


def dpkt_conversations(path: Path) -> set[tuple[int, frozenset]]:
    convs = set()
    with open(path, "rb") as f:
        for _, buf in dpkt.pcap.Reader(f):
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6) and isinstance(ip.data, dpkt.tcp.TCP | dpkt.udp.UDP):
                src, dst = _text(ip.src), _text(ip.dst)
                convs.add((6 if isinstance(ip.data, dpkt.tcp.TCP) else 17,
                           frozenset({(src, ip.data.sport), (dst, ip.data.dport)})))
    return convs


def _text(packed: bytes) -> str:
    import ipaddress

    return str(ipaddress.ip_address(packed))


def _tshark(path: Path, *args: str) -> list[list[str]]:
    if TSHARK is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tshark is not installed (CI=true): make system-deps installs it")
        pytest.skip("tshark not installed")
    out = subprocess.run([TSHARK, "-n", "-r", str(path), *args], capture_output=True, text=True,
                         check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_espn_matches_tshark(espn, real_data) -> None:
    path = real_data / "pcap" / "http_espn.pcapng"
    fields = ["-e", "http.host", "-e", "http.request.uri", "-e", "http.user_agent", "-e", "http.referer"]
    expected = Counter(tuple(r) for r in _tshark(path, "-Y", "http.request", "-T", "fields", *fields))
    got = Counter((r["req_url_host"], r["req_url_path"] + _query(r["req_url"]), r["req_ua"],
                   r["req_referer"] or "") for r in rows(espn, "httpreqs"))
    assert got == expected
    # per-second device counters from tshark's ip fields
    device = "172.16.0.122"
    per_second: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for ts, src, dst, length in _tshark(path, "-Y", "ip", "-T", "fields", "-e", "frame.time_epoch",
                                        "-e", "ip.src", "-e", "ip.dst", "-e", "ip.len"):
        out = src == device
        if out or dst == device:
            c = per_second[math.floor(float(ts))]
            c[0 if out else 2] += 1
            c[1 if out else 3] += int(length)
    got_seconds = {_epoch(r["ts"]):
                   [r["packets_out"], r["bytes_out"], r["packets_in"], r["bytes_in"]]
                   for r in rows(espn, "devicetraffic")}
    assert got_seconds == dict(per_second)
    # DNS: query names, A answers and answer counts per response
    tshark_dns = Counter((q, a, n) for q, a, n in _tshark(
        path, "-Y", "dns.flags.response == 1", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
        "-e", "dns.qry.name", "-e", "dns.a", "-e", "dns.count.answers"))
    ours = Counter((r["query"], ",".join(a for a, t in zip(r["ans_addr"], r["ans_type"], strict=True)
                                         if t == 1), str(len(r["ans_type"]))) for r in rows(espn, "dnsreqs"))
    assert ours == tshark_dns


def _query(url: str) -> str:
    return "?" + url.split("?", 1)[1] if "?" in url else ""


def _epoch(naive: datetime) -> int:
    return int((naive - datetime(1970, 1, 1)).total_seconds())


def test_flow_server_names_from_host_and_dns(espn) -> None:
    flows = rows(espn, "flows")
    tcp_flows = [f for f in flows if f["proto"] == 6]
    assert all(f["server_name"] for f in tcp_flows)
    http = rows(espn, "httpreqs")
    by_flow = {r["flowid"]: r["req_url_host"] for r in http}
    assert all(f["server_name"] == by_flow[f["flowid"]] for f in tcp_flows if f["flowid"] in by_flow)


# -- hand-made captures against independent computations -----------------------------------

def mixed_capture(path: Path) -> list[tuple[float, bytes]]:
    """UDP and TCP traffic of the device over several windows, with idle gaps of 299 s (same
    flow) and 1 day + 10 s (a new flow), plus a neighbour's packets."""
    pk = []
    for k in range(40):
        ts = T0 + k * 0.75
        pk.append((ts, udp(DEVICE, SERVER, 5000, 443, b"q" * (100 + k))))
        pk.append((ts + 0.125, udp(SERVER, DEVICE, 443, 5000, b"r" * 300)))
        pk.append((ts + 0.25, tcp(DEVICE, SERVER, 40000, 80, 1000 + k, b"")))
    pk.append((T0 + 30 + 299, udp(DEVICE, SERVER, 5000, 443, b"late")))
    pk.append((T0 + 30 + 299 + 86_410, udp(DEVICE, SERVER, 5000, 443, b"next day")))
    pk.append((T0 + 5, udp("10.8.0.77", "10.8.0.1", 1234, 53, b"z" * 12)))
    pk.sort()
    write_pcap(path, pk)
    return pk


def reference(path: Path, window: int) -> tuple[dict, dict, list]:
    """Per-second and per-window counters and flows by a plain reading of the file with dpkt."""
    seconds: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    windows: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    packets: dict[tuple, list[float]] = defaultdict(list)
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            ip = dpkt.ethernet.Ethernet(buf).data
            src, dst = _text(ip.src), _text(ip.dst)
            if DEVICE not in (src, dst):
                continue
            out = src == DEVICE
            l4 = ip.data
            key = (6 if isinstance(l4, dpkt.tcp.TCP) else 17, l4.sport if out else l4.dport,
                   l4.dport if out else l4.sport, dst if out else src)
            for table, k in ((seconds, math.floor(ts)), (windows, (math.floor(ts / window) * window, key))):
                table[k][0 if out else 2] += 1
                table[k][1 if out else 3] += ip.len
            packets[key].append(ts)
    flows = []
    for key, times in packets.items():
        start = prev = times[0]
        for t in times[1:]:
            if t - prev > 300:
                flows.append((key, start, prev))
                start = t
            prev = t
        flows.append((key, start, prev))
    return dict(seconds), dict(windows), sorted(flows)


@pytest.mark.parametrize("window", [10, 60])
def test_counters_and_flows_match_an_independent_computation(duck, tmp_path, window) -> None:
    path = tmp_path / "mixed.pcap"
    mixed_capture(path)
    add_device(duck, leases=[(DEVICE, None, None)])
    import_pcap(duck, "alice.laptop", [path], window_s=window)
    seconds, windows, flows = reference(path, window)
    got = {_epoch(r["ts"]): [r["packets_out"], r["bytes_out"], r["packets_in"], r["bytes_in"]]
           for r in rows(duck, "devicetraffic")}
    assert got == seconds
    app = rows(duck, "deviceapptraffic")
    assert all(_epoch(r["ts"]) % window == 0 for r in app)  # aligned windows (bug 6)
    got_w = {(_epoch(r["ts"]), (r["proto"], r["srcport"], r["dstport"], r["dstip"])):
             [r["packets_out"], r["bytes_out"], r["packets_in"], r["bytes_in"]] for r in app}
    assert got_w == windows
    got_f = sorted(((r["proto"], r["srcport"], r["dstport"], r["dstip"]), _epoch_f(r["startts"]),
                    _epoch_f(r["endts"])) for r in rows(duck, "flows"))
    assert got_f == flows
    udp_flows = [f for f in flows if f[0][0] == 17]
    assert len(udp_flows) == 2  # 299 s idle keeps the flow, 1 day + 10 s splits it (bug 7)


def _epoch_f(naive: datetime) -> float:
    return (naive - datetime(1970, 1, 1)).total_seconds()


def test_flowid_is_the_device_oriented_tuple_in_every_table(duck, tmp_path) -> None:
    from ucnstudy.sources.flowid import flowid

    path = tmp_path / "mixed.pcap"
    mixed_capture(path)
    add_device(duck, leases=[(DEVICE, None, None)])
    import_pcap(duck, "alice.laptop", [path])
    for table in ("deviceapptraffic", "flows"):
        for r in rows(duck, table):
            assert r["srcip"] == DEVICE
            assert r["flowid"] == flowid(r["srcip"], r["dstip"], r["proto"], r["srcport"], r["dstport"])


def test_leases_bound_the_device_in_time(duck, tmp_path) -> None:
    path = tmp_path / "mixed.pcap"
    pk = mixed_capture(path)
    cut = datetime.utcfromtimestamp(T0 + 10)
    add_device(duck, leases=[(DEVICE, None, cut)])
    result = import_pcap(duck, "alice.laptop", [path])[0]
    before = sum(1 for ts, _ in pk if ts < T0 + 10 and not _is_neighbour(_))
    total = sum(r["packets_in"] + r["packets_out"] for r in rows(duck, "devicetraffic"))
    assert total == before
    assert any("not to or from the device" in w for w in result.warnings)


def _is_neighbour(frame: bytes) -> bool:
    return _text(dpkt.ethernet.Ethernet(frame).data.src) == "10.8.0.77"


def test_dns_rows_align_all_records_ipv4_ipv6_udp_tcp(duck, tmp_path) -> None:
    answers = [rr_cname("www.example.org", "edge.example.net", 300), rr_a("edge.example.net", SERVER, 60),
               rr_a("edge.example.net", "203.0.113.11", 60)]
    v6_answers = [rr_cname("v6.example.org", "e6.example.net", 30),
                  rr_aaaa("e6.example.net", "2001:db8::1", 20)]
    big = dns_response("tcp.example.org", 9, [rr_a("tcp.example.org", "198.51.100.1", 5)])
    small_q = dns_query("tcp.example.org", 9)
    stream = len(small_q).to_bytes(2, "big") + small_q
    reply = len(big).to_bytes(2, "big") + big
    pk = [
        (T0, udp(DEVICE, RESOLVER, 5353, 53, dns_query("www.example.org", 7))),
        (T0 + 0.5, udp(RESOLVER, DEVICE, 53, 5353, dns_response("www.example.org", 7, answers))),
        (T0 + 1, udp(DEVICE6, "fd00::53", 6000, 53, dns_query("v6.example.org", 8, 28))),
        (T0 + 1.25, udp("fd00::53", DEVICE6, 53, 6000, dns_response("v6.example.org", 8, v6_answers, 28))),
        (T0 + 2, tcp(DEVICE, RESOLVER, 7000, 53, 0, flags=SYN)),
        (T0 + 2.125, tcp(DEVICE, RESOLVER, 7000, 53, 1, stream, PSH_ACK)),
        (T0 + 2.25, tcp(RESOLVER, DEVICE, 53, 7000, 501, reply[:7], PSH_ACK)),  # split reply
        (T0 + 2.5, tcp(RESOLVER, DEVICE, 53, 7000, 508, reply[7:], PSH_ACK)),
        (T0 + 3, udp(RESOLVER, DEVICE, 53, 5353, b"\x00\x01garbage")),  # malformed: reported
    ]
    write_pcap(tmp_path / "dns.pcap", pk)
    add_device(duck, leases=[(DEVICE, None, None), (DEVICE6, None, None)])
    result = import_pcap(duck, "alice.laptop", [tmp_path / "dns.pcap"])[0]
    assert any("packet 9" in w and "DNS" in w for w in result.warnings)
    got = {r["query"]: r for r in rows(duck, "dnsreqs")}
    assert set(got) == {"www.example.org", "v6.example.org", "tcp.example.org"}
    www = got["www.example.org"]
    assert list(www["ans_type"]) == [5, 1, 1]
    assert list(www["ans_addr"]) == ["edge.example.net", SERVER, "203.0.113.11"]
    assert list(www["ans_name"]) == ["www.example.org", "edge.example.net", "edge.example.net"]
    assert list(www["ans_ttl"]) == [300, 60, 60]
    assert _epoch_f(www["query_ts"]) == T0 and _epoch_f(www["ts"]) == T0 + 0.5
    assert www["srcip"] == DEVICE and www["srcport"] == 5353 and www["dstport"] == 53
    v6 = got["v6.example.org"]
    assert list(v6["ans_addr"]) == ["e6.example.net", "2001:db8::1"] and v6["query_type"] == 28
    assert v6["srcip"] == DEVICE6
    t = got["tcp.example.org"]
    assert t["proto"] == 6 and list(t["ans_addr"]) == ["198.51.100.1"]
    assert _epoch_f(t["query_ts"]) == T0 + 2.125


def http_conversation() -> list[tuple[float, bytes]]:
    """A keep-alive connection: two pipelined GETs (a segment delivered out of order), a HEAD,
    responses with Content-Length, chunked encoding and no body; plus a connection without SYN."""
    r1 = (b"GET /a?x=1 HTTP/1.1\r\nHost: Example.ORG\r\nUser-Agent: UA/1\r\nReferer: http://r.example/\r\n\r\n")
    r2 = b"GET /b HTTP/1.1\r\nHost: example.org\r\nUser-Agent: UA/1\r\n\r\n"
    r3 = b"HEAD /c HTTP/1.1\r\nHost: example.org\r\n\r\n"
    s1 = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 10\r\n\r\n0123456789"
    s2 = (b"HTTP/1.1 404 Not Found\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n")
    s3 = b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\nContent-Type: video/mp4\r\n\r\n"
    c, s = DEVICE, SERVER
    cseq, sseq = 101, 5001
    return [
        (T0, tcp(c, s, 40000, 80, 100, flags=SYN)),
        (T0 + 0.01, tcp(s, c, 80, 40000, 5000, flags=SYN | ACK)),
        (T0 + 0.02, tcp(c, s, 40000, 80, cseq, r1 + r2[:10], PSH_ACK)),
        (T0 + 0.04, tcp(c, s, 40000, 80, cseq + len(r1) + 10 + len(r2) - 10, r3, PSH_ACK)),  # early
        (T0 + 0.03, tcp(c, s, 40000, 80, cseq + len(r1) + 10, r2[10:], PSH_ACK)),
        (T0 + 0.05, tcp(s, c, 80, 40000, sseq, s1 + s2[:30], PSH_ACK)),
        (T0 + 0.06, tcp(s, c, 80, 40000, sseq + len(s1) + 30, s2[30:] + s3, PSH_ACK)),
        (T0 + 0.07, tcp(s, c, 80, 40000, sseq + len(s1) + len(s2) + len(s3), flags=FIN_ACK)),
        # a connection whose SYN was not captured
        (T0 + 1, tcp(c, s, 40001, 8080, 777,
                     b"POST /up HTTP/1.1\r\nHost: up.example\r\nContent-Length: 3\r\n\r\nabc", PSH_ACK)),
        (T0 + 1.1, tcp(s, c, 8080, 40001, 9, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", PSH_ACK)),
    ]


def test_every_request_of_keep_alive_connections(duck, tmp_path) -> None:
    pk = sorted(http_conversation(), key=lambda p: p[0])
    write_pcap(tmp_path / "http.pcap", pk)
    add_device(duck, leases=[(DEVICE, None, None)])
    import_pcap(duck, "alice.laptop", [tmp_path / "http.pcap"])
    got = {r["req_url"]: r for r in rows(duck, "httpreqs")}
    assert set(got) == {"http://Example.ORG/a?x=1", "http://example.org/b", "http://example.org/c",
                        "http://up.example/up"}
    a = got["http://Example.ORG/a?x=1"]
    assert (a["req_method"], a["req_url_host"], a["req_url_path"], a["req_ua"], a["req_referer"]) == \
        ("GET", "example.org", "/a", "UA/1", "http://r.example/")
    assert (a["res_status_code"], a["res_size"], a["res_mimetype"]) == (200, 10, "text/html")
    b = got["http://example.org/b"]
    assert (b["res_status_code"], b["res_size"], b["res_mimetype"]) == (404, 7, "image/png")
    c = got["http://example.org/c"]
    assert (c["req_method"], c["res_status_code"], c["res_size"]) == ("HEAD", 200, 999)
    up = got["http://up.example/up"]
    assert (up["req_method"], up["res_status_code"], up["dstport"]) == ("POST", 201, 8080)
    assert {r["source"] for r in got.values()} == {"pcap"}
    flows = {r["dstport"]: r["server_name"] for r in rows(duck, "flows")}
    assert flows == {80: "example.org", 8080: "up.example"}


def client_hello(host: str) -> bytes:
    name = host.encode()
    sni = len(name).to_bytes(2, "big")
    entry = b"\x00" + sni + name
    ext = b"\x00\x00" + (len(entry) + 2).to_bytes(2, "big") + len(entry).to_bytes(2, "big") + entry
    ext = b"\x00\x0b\x00\x02\x01\x00" + ext  # another extension first
    body = b"\x03\x03" + b"r" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += len(ext).to_bytes(2, "big") + ext
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def test_server_name_from_sni_split_over_segments_and_from_dns(duck, tmp_path) -> None:
    hello = client_hello("secure.example.com")
    answers = [rr_a("named.example.com", "198.51.100.7", 60)]
    pk = [
        (T0, tcp(DEVICE, SERVER, 41000, 443, 0, flags=SYN)),
        (T0 + 0.1, tcp(DEVICE, SERVER, 41000, 443, 1, hello[:20], PSH_ACK)),
        (T0 + 0.2, tcp(DEVICE, SERVER, 41000, 443, 21, hello[20:], PSH_ACK)),
        (T0 + 1, udp(DEVICE, RESOLVER, 5353, 53, dns_query("named.example.com", 3))),
        (T0 + 1.1, udp(RESOLVER, DEVICE, 53, 5353, dns_response("named.example.com", 3, answers))),
        (T0 + 2, tcp(DEVICE, "198.51.100.7", 41001, 443, 0, flags=SYN)),
    ]
    write_pcap(tmp_path / "tls.pcap", pk)
    add_device(duck, leases=[(DEVICE, None, None)])
    import_pcap(duck, "alice.laptop", [tmp_path / "tls.pcap"])
    names = {r["dstip"]: r["server_name"] for r in rows(duck, "flows") if r["proto"] == 6}
    assert names == {SERVER: "secure.example.com", "198.51.100.7": "named.example.com"}


def test_pcapng_nanoseconds_gzip_and_pcap_agree(tmp_path) -> None:
    pk = mixed_capture(tmp_path / "plain.pcap")
    ticks = [(round(ts * 1e6) * 1000, frame) for ts, frame in pk]
    write_pcapng(tmp_path / "ns.pcapng", ticks, tsresol=9)
    with open(tmp_path / "plain.pcap", "rb") as src, gzip.open(tmp_path / "z.pcap.gz", "wb") as dst:
        dst.write(src.read())
    results = [parse_capture(tmp_path / name)[0] for name in ("plain.pcap", "ns.pcapng", "z.pcap.gz")]
    for table in ("devicetraffic", "deviceapptraffic", "flows"):
        first = results[0][table].sort_by([(c, "ascending") for c in results[0][table].column_names
                                           if c not in ("service",)][:3])
        for other in results[1:]:
            assert other[table].sort_by([(c, "ascending") for c in first.column_names[:3]]).equals(first)


def test_address_heuristic_uses_every_packet(tmp_path) -> None:
    """The device is the DNS client even when a neighbour's packets come first (bug 12)."""
    pk = [(T0 + k * 0.01, udp("10.0.0.9", "10.0.0.255", 137, 137)) for k in range(30)]
    pk += [(T0 + 1 + k, udp("192.168.1.20", "8.8.8.8", 3000 + k, 53, dns_query(f"h{k}.example", k)))
           for k in range(5)]
    pk += [(T0 + 1.5 + k, udp("8.8.8.8", "192.168.1.20", 53, 3000 + k,
                              dns_response(f"h{k}.example", k, []))) for k in range(5)]
    write_pcap(tmp_path / "lan.pcap", sorted(pk, key=lambda p: p[0]))
    tables, _ = parse_capture(tmp_path / "lan.pcap")
    assert set(tables["dnsreqs"]["srcip"].to_pylist()) == {"192.168.1.20"}
    assert tables["devicetraffic"]["packets_out"].to_pylist() != []


def test_import_is_idempotent_and_cli_reports_errors(duck, tmp_path, real_data, capsys) -> None:
    db = str(tmp_path / "cli.duckdb")
    from ucnstudy import open_study

    with open_study(db) as study:
        study.create_schema()
        add_device(study)
    wiki = str(real_data / "pcap" / "wikipedia.pcap")
    assert main(["--db", db, "import", "pcap", "--device", "alice.laptop", wiki]) == 0
    assert main(["--db", db, "import", "pcap", "--device", "alice.laptop", wiki]) == 0
    with open_study(db, read_only=True) as study:
        assert study.counts()["httpreqs"] == 15
    (tmp_path / "junk.pcap").write_bytes(b"this is not a capture at all")
    assert main(["--db", db, "import", "pcap", "--device", "alice.laptop", str(tmp_path / "junk.pcap")]) == 2
    err = "".join(capsys.readouterr().err.split())  # Rich wraps long lines
    assert "junk.pcap:notapcaporpcapngcapture" in err
    trunc = tmp_path / "trunc.pcap"
    trunc.write_bytes(Path(wiki).read_bytes()[:5000])
    assert main(["--db", db, "import", "pcap", "--device", "alice.laptop", "--strict", str(trunc)]) == 2
    with open_study(db, read_only=True) as study:
        assert study.counts()["httpreqs"] == 15  # the strict failure left nothing behind


# -- damaged and random bytes --------------------------------------------------------------

def test_truncated_and_corrupt_captures_keep_the_good_packets(tmp_path, real_data) -> None:
    data = (real_data / "pcap" / "wikipedia.pcap").read_bytes()
    full, _ = parse_capture(real_data / "pcap" / "wikipedia.pcap")
    full_packets = _device_packets(full)
    (tmp_path / "cut.pcap").write_bytes(data[:len(data) // 2 + 7])
    cut, problems = parse_capture(tmp_path / "cut.pcap")
    assert 0 < _device_packets(cut) < full_packets
    assert any("truncated capture" in p and "byte offset" in p for p in problems)
    damaged = bytearray(data)
    damaged[5000:5004] = b"\xff\xff\xff\x7f"  # inside a record header region: implausible lengths
    (tmp_path / "bad.pcap").write_bytes(bytes(damaged))
    bad, problems = parse_capture(tmp_path / "bad.pcap")
    assert problems and all("packet" in p for p in problems)
    assert _device_packets(bad) > full_packets // 2


def _device_packets(tables) -> int:
    t = tables.get("devicetraffic")
    return 0 if t is None else sum(t["packets_in"].to_pylist()) + sum(t["packets_out"].to_pylist())


def _parse_or_input_error(path: Path) -> None:
    try:
        parse_capture(path)
    except InputError as exc:
        assert str(path) in str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("rand") / "r.pcap"
    for prefix in (b"", bytes.fromhex("d4c3b2a102000400000000000000000000000400" "01000000"),
                   bytes.fromhex("0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000")):
        path.write_bytes(prefix + data)
        _parse_or_input_error(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_real_captures_never_crash(tmp_path_factory, real_data, data) -> None:
    name = data.draw(st.sampled_from(["wikipedia.pcap", "http_espn.pcapng"]))
    raw = bytearray((real_data / "pcap" / name).read_bytes())
    for _ in range(data.draw(st.integers(1, 20))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    raw = raw[:data.draw(st.integers(0, len(raw)))]
    path = tmp_path_factory.mktemp("mut") / name
    path.write_bytes(bytes(raw))
    _parse_or_input_error(path)


@given(st.binary(max_size=600))
def test_payload_parsers_on_random_bytes(data: bytes) -> None:
    with contextlib.suppress(dns.DnsError):
        dns.parse(data)
    name = tls.server_name(b"\x16\x03\x01" + data)
    assert name is None or isinstance(name, str)
    conn = HttpConnection((0,) * 7)
    for k in range(0, len(data), 50):
        conn.requests.feed(b"GET / HTTP/1.1\r\n" + data[k:k + 50], 0)
        conn.responses.feed(b"HTTP/1.1 200 OK\r\n" + data[k:k + 50], 0)
    conn.close()


def test_link_types_and_nanosecond_pcap_give_the_same_rows(tmp_path) -> None:
    """Ethernet, 802.1Q VLAN, raw IP (VPN tunnels), Linux cooked capture and a nanosecond pcap."""
    pk = mixed_capture(tmp_path / "eth.pcap")
    ip_of = [(ts, frame[14:]) for ts, frame in pk]  # the IP packets themselves

    def write(name: str, linktype: int, wrap, nano: bool = False) -> Path:
        with open(tmp_path / name, "wb") as f:
            writer = dpkt.pcap.Writer(f, linktype=linktype, nano=nano)
            for ts, ip in ip_of:
                writer.writepkt(wrap(ip), ts=ts)
        return tmp_path / name

    eth_hdr = b"\x02" * 12
    files = [
        tmp_path / "eth.pcap",
        write("vlan.pcap", 1, lambda ip: eth_hdr + b"\x81\x00\x00\x07\x08\x00" + ip),
        write("raw.pcap", 101, lambda ip: ip),
        write("sll.pcap", 113, lambda ip: b"\x00\x00\x00\x01\x00\x06" + b"\x02" * 8 + b"\x08\x00" + ip),
        write("nano.pcap", 1, lambda ip: eth_hdr + b"\x08\x00" + ip, nano=True),
    ]
    expected, _ = parse_capture(files[0])
    assert expected["devicetraffic"].num_rows > 0
    for path in files[1:]:
        got, problems = parse_capture(path)
        assert not problems, path
        for table in ("devicetraffic", "deviceapptraffic", "flows"):
            assert got[table].equals(expected[table]), (path.name, table)
