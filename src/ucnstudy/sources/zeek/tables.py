"""Zeek records -> canonical rows, oriented so that src is always the device.

Each record is attributed through the leases: to the device holding id.orig_h at ts, else to the
device holding id.resp_h (then the tuple and the counters are swapped). Records whose two
addresses no lease covers are counted, not loaded.

  conn -> flows        startts = ts, endts = ts + duration; counters from *_pkts and *_ip_bytes
                       (IP total length, as the pcap importer counts). No deviceapptraffic: a conn
                       record holds totals only, and per-window rows would be invented. TCP
                       performance: retrans_pkts_* and zerowin_* from the history letters t/T, w/W
                       (logarithmic: a lower bound); the other measures stay NULL.
  dns  -> dnsreqs      query_ts = ts, ts = ts + rtt when Zeek measured it (else the query time);
                       answers and TTLs stay aligned, answer types are inferred (see docs).
  http -> httpreqs     req_url = http://host + uri; status, size, first response MIME type.
  ssl  -> server names (devid, flowid, ts, SNI) applied to flows by enrich of sources.zeek.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ucnstudy.sources.flowid import flowid
from ucnstudy.sources.leases import Leases
from ucnstudy.sources.logfiles import epoch_to_timestamp
from ucnstudy.sources.urls import clean_mimetype, split_url
from ucnstudy.sources.zeek.reader import Record

PROTOS = {"tcp": 6, "udp": 17, "icmp": 1}
RESOLVED_SCHEMA = pa.schema([("devid", pa.int64()), ("address", pa.string()), ("ts", pa.timestamp("us")),
                             ("name", pa.string())])
NAME_SCHEMA = pa.schema([("devid", pa.int64()), ("flowid", pa.string()), ("ts", pa.timestamp("us")),
                         ("name", pa.string()), ("priority", pa.int32())])


@dataclass
class Oriented:
    """The attributed records of a batch, with the device-oriented 5-tuple."""

    records: list[Record]
    devid: list[int]
    ts: pa.Array
    srcip: list[str]
    dstip: list[str]
    srcport: list[int | None]
    dstport: list[int | None]
    is_orig: list[bool]


def orient(records: list[Record], leases: Leases, unknown: Counter[str]) -> Oriented:
    ts = epoch_to_timestamp([r["ts"] for r in records])
    orig = pa.array([r["id.orig_h"] for r in records], pa.string())
    resp = pa.array([r["id.resp_h"] for r in records], pa.string())
    by_orig = leases.attribute(orig, ts)
    devids = pc.coalesce(by_orig, leases.attribute(resp, ts))
    keep = pc.is_valid(devids).to_numpy(zero_copy_only=False)
    for r in (records[i] for i in np.flatnonzero(~keep)):
        unknown[f"{r['id.orig_h']} <-> {r['id.resp_h']}"] += 1
    index = np.flatnonzero(keep)
    kept = [records[i] for i in index]
    is_orig = pc.is_valid(by_orig).to_numpy(zero_copy_only=False)[index].tolist()
    pick = lambda o, q: [r[o] if d else r[q] for r, d in zip(kept, is_orig, strict=True)]  # noqa: E731
    return Oriented(kept, pc.take(devids, pa.array(index)).to_pylist(), pc.take(ts, pa.array(index)),
                    pick("id.orig_h", "id.resp_h"), pick("id.resp_h", "id.orig_h"),
                    pick("id.orig_p", "id.resp_p"), pick("id.resp_p", "id.orig_p"), is_orig)


def _proto(name: str | None, address: str) -> int | None:
    number = PROTOS.get((name or "").lower())
    return 58 if number == 1 and ":" in address else number


def _flowids(o: Oriented, protos: list[int | None]) -> list[str | None]:
    return [flowid(s, d, p, sp, dp) if None not in (p, sp, dp) else None
            for s, d, p, sp, dp in zip(o.srcip, o.dstip, protos, o.srcport, o.dstport, strict=True)]


def _tuple_columns(o: Oriented, protos: list[int | None]) -> dict[str, pa.Array]:
    return {
        "devid": pa.array(o.devid, pa.int64()), "ts": o.ts,
        "srcip": pa.array(o.srcip, pa.string()), "dstip": pa.array(o.dstip, pa.string()),
        "proto": pa.array(protos, pa.int32()), "srcport": pa.array(o.srcport, pa.int32()),
        "dstport": pa.array(o.dstport, pa.int32()), "flowid": pa.array(_flowids(o, protos), pa.string()),
    }


def _side(o: Oriented, field_orig: str, field_resp: str, out: bool) -> pa.Array:
    """A counter of the device's side (out) or of the remote side (in)."""
    values = [r[field_orig] if d == out else r[field_resp] for r, d in zip(o.records, o.is_orig, strict=True)]
    return pa.array(values, pa.int64())


def conn_rows(o: Oriented) -> pa.Table:
    protos = [_proto(r["proto"], r["id.orig_h"]) for r in o.records]
    columns = _tuple_columns(o, protos)
    start = columns.pop("ts")
    duration = pa.array([round((r["duration"] or 0.0) * 1_000_000) for r in o.records], pa.int64())
    return pa.table({
        **columns, "startts": start, "endts": pc.add(start, duration.cast(pa.duration("us"))),
        "packets_out": _side(o, "orig_pkts", "resp_pkts", True),
        "bytes_out": _side(o, "orig_ip_bytes", "resp_ip_bytes", True),
        "packets_in": _side(o, "orig_pkts", "resp_pkts", False),
        "bytes_in": _side(o, "orig_ip_bytes", "resp_ip_bytes", False),
        **history_counts(o, protos),
    })


def logarithmic_count(history: str, letter: str) -> int:
    """Zeek writes t, w, c, g once when first seen, again at 10, 100, ... events: the count
    the repeats prove (a lower bound)."""
    n = history.count(letter)
    return 10 ** (n - 1) if n else 0


def history_counts(o: Oriented, protos: list[int | None]) -> dict[str, pa.Array]:
    """retrans_pkts and zerowin per direction from the history (upper case: the originator);
    NULL when not TCP or without a history."""
    cols: dict[str, list[int | None]] = {}
    for name, letter in (("retrans_pkts", "t"), ("zerowin", "w")):
        for suffix, device_side in (("out", True), ("in", False)):
            values: list[int | None] = []
            for r, is_orig, proto in zip(o.records, o.is_orig, protos, strict=True):
                history = r["history"]
                if proto != 6 or not history:
                    values.append(None)
                    continue
                upper = is_orig == device_side  # the originator's letters are upper case
                values.append(logarithmic_count(history, letter.upper() if upper else letter))
            cols[f"{name}_{suffix}"] = values
    return {k: pa.array(v, pa.int64()) for k, v in cols.items()}


def answer_types(answers: list[str], qtype: int | None) -> list[int]:
    """A/AAAA for addresses; other names are CNAME targets for address queries, else of qtype."""
    types = []
    for answer in answers:
        try:
            types.append(1 if ipaddress.ip_address(answer).version == 4 else 28)
        except ValueError:
            types.append(5 if qtype in (1, 28, 65, None) else qtype)
    return types


def answer_owners(query: str | None, answers: list[str], types: list[int]) -> list[str | None]:
    """Owner name of each record: the query, then the target of each CNAME along the chain."""
    owners, owner = [], query
    for answer, kind in zip(answers, types, strict=True):
        owners.append(owner)
        if kind == 5:
            owner = answer.rstrip(".").lower()
    return owners


def _ttls(record: Record) -> list[int | None]:
    ttls = [None if t is None or abs(t) >= 2**31 else round(t) for t in record["TTLs"] or []]
    n = len(record["answers"] or [])
    return (ttls + [None] * n)[:n]  # Zeek aligns them; a damaged record is padded, not shifted


def dns_rows(o: Oriented) -> pa.Table:
    protos = [_proto(r["proto"], r["id.orig_h"]) for r in o.records]
    columns = _tuple_columns(o, protos)
    rtt = pa.array([round((r["rtt"] or 0.0) * 1_000_000) for r in o.records], pa.int64())
    queries = [r["query"].rstrip(".").lower() if r["query"] else None for r in o.records]
    answers = [r["answers"] or [] for r in o.records]
    types = [answer_types(a, r["qtype"]) for a, r in zip(answers, o.records, strict=True)]
    owners = [answer_owners(q, a, t) for q, a, t in zip(queries, answers, types, strict=True)]
    return pa.table({
        **columns, "query_ts": columns["ts"], "ts": pc.add(columns["ts"], rtt.cast(pa.duration("us"))),
        "query": pa.array(queries, pa.string()),
        "query_type": pa.array([r["qtype"] for r in o.records], pa.int32()),
        "ans_type": pa.array(types, pa.list_(pa.int32())),
        "ans_name": pa.array(owners, pa.list_(pa.string())),
        "ans_addr": pa.array(answers, pa.list_(pa.string())),
        "ans_ttl": pa.array([_ttls(r) for r in o.records], pa.list_(pa.int32())),
    })


def http_rows(o: Oriented) -> pa.Table:
    columns = _tuple_columns(o, [6] * len(o.records))
    hosts = [(r["host"] or "").lower() or dst for r, dst in zip(o.records, o.dstip, strict=True)]
    urls = [f"http://{h}{r['uri'] or '/'}" for h, r in zip(hosts, o.records, strict=True)]
    return pa.table({
        **columns, "source": pa.array(["zeek"] * len(urls), pa.string()),
        "req_method": pa.array([r["method"] for r in o.records], pa.string()),
        "req_url": pa.array(urls, pa.string()),
        "req_url_host": pa.array([split_url(u)[0] for u in urls], pa.string()),
        "req_url_path": pa.array([split_url(u)[1] for u in urls], pa.string()),
        "req_ua": pa.array([r["user_agent"] for r in o.records], pa.string()),
        "req_referer": pa.array([r["referrer"] for r in o.records], pa.string()),
        "res_status_code": pa.array([r["status_code"] for r in o.records], pa.int32()),
        "res_size": pa.array([r["response_body_len"] for r in o.records], pa.int64()),
        "res_mimetype": pa.array([clean_mimetype((r["resp_mime_types"] or [None])[0]) for r in o.records],
                                 pa.string()),
    })


def server_names(o: Oriented, field: str, priority: int, protos: tuple[int, ...] = (6,)) -> pa.Table:
    """(devid, flowid, ts, name, priority) of the records that name their server.

    ssl.log has no protocol column and also logs DTLS over UDP, so its names are offered to the
    TCP and the UDP flow of the tuple (only one of them exists).
    """
    names = pa.array([(r[field] or "").rstrip(".").lower() or None for r in o.records], pa.string())
    parts = []
    for proto in protos:
        columns = _tuple_columns(o, [proto] * len(o.records))
        parts.append(pa.table({"devid": columns["devid"], "flowid": columns["flowid"], "ts": columns["ts"],
                               "name": names, "priority": pa.array([priority] * len(names), pa.int32())}))
    table = pa.concat_tables(parts)
    return table.filter(pc.is_valid(table.column("name")))


def resolved_names(o: Oriented, rows: pa.Table) -> pa.Table:
    """(devid, address, ts, query) of each A/AAAA answer the device itself asked for.

    Answers the device gave as a server (it was the responder) name nothing it connected to.
    """
    devids, addresses, times, names = [], [], [], []
    ts = rows.column("ts").to_pylist()
    for i, (record, asked) in enumerate(zip(o.records, o.is_orig, strict=True)):
        query = (record["query"] or "").rstrip(".").lower()
        if not asked or not query:
            continue
        answers = record["answers"] or []
        for answer, kind in zip(answers, answer_types(answers, record["qtype"]), strict=True):
            if kind in (1, 28):
                devids.append(o.devid[i])
                addresses.append(answer)
                times.append(ts[i])
                names.append(query)
    return pa.table([pa.array(devids, pa.int64()), pa.array(addresses, pa.string()),
                     pa.array(times, pa.timestamp("us")), pa.array(names, pa.string())],
                    schema=RESOLVED_SCHEMA)
