"""From aggregated arrays and parsed events to Arrow tables in the canonical schema."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ucnstudy.enrich.services import service_names
from ucnstudy.schema import TABLES
from ucnstudy.sources.flowid import flowid
from ucnstudy.sources.pcap import tcpperf
from ucnstudy.sources.pcap.decode import address_text
from ucnstudy.sources.pcap.dns import Answer
from ucnstudy.sources.pcap.flows import KEYS, FlowRows, key_hash
from ucnstudy.sources.pcap.payloads import DnsEvent, Five, HttpEvent

_FLOWIDS: dict[Five, tuple[str, str, str]] = {}
_SCHEMAS = {name: TABLES[name].arrow_schema() for name in ("dnsreqs", "httpreqs")}


def timestamps(us: np.ndarray | list[int | None]) -> pa.Array:
    if isinstance(us, np.ndarray):
        return pa.array(us.astype(np.int64).view("datetime64[us]"))
    return pa.array(us, pa.int64()).cast(pa.timestamp("us"))


def texts(hi: np.ndarray, lo: np.ndarray) -> pa.Array:
    """Text addresses, converting each distinct address once."""
    if not len(hi):
        return pa.array([], pa.string())
    hi, lo = hi.astype(np.uint64), lo.astype(np.uint64)
    if not hi.any():  # IPv4 only: the low word identifies the address
        values, inverse = np.unique(lo, return_inverse=True)
        names = np.array([address_text(0, low) for low in values.tolist()], dtype=object)
    else:
        pairs, inverse = np.unique(np.stack([hi, lo], axis=1), axis=0, return_inverse=True)
        names = np.array([address_text(h, low) for h, low in pairs.tolist()], dtype=object)
    return pa.array(names[inverse.ravel()], pa.string())


def five_text(five: Five) -> tuple[str, str, int, int, int]:
    """(srcip, dstip, proto, srcport, dstport) of a device-oriented tuple."""
    return address_text(five[0], five[1]), address_text(five[2], five[3]), five[4], five[5], five[6]


def _texts_and_id(five: Five) -> tuple[str, str, str]:
    """(srcip, dstip, flowid) of a tuple, cached: events and flows repeat their tuples."""
    found = _FLOWIDS.get(five)
    if found is None:
        src, dst, proto, sport, dport = five_text(five)
        found = (src, dst, flowid(src, dst, proto, sport, dport))
        if len(_FLOWIDS) >= 20_000:  # bounded: flows far apart in time rarely share a tuple
            _FLOWIDS.clear()
        _FLOWIDS[five] = found
    return found


def flow_id(five: Five) -> str:
    return _texts_and_id(five)[2]


def tuple_columns(cols: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    """srcip, dstip, proto, srcport, dstport, flowid and service of oriented tuple columns."""
    h = key_hash(cols)
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    fives = list(zip(*(cols[k][first].tolist() for k in KEYS), strict=True))
    ids = np.array([flow_id(f) for f in fives], dtype=object)[inverse.ravel()]
    proto = pa.array(cols["proto"].astype(np.int32))
    dstport = pa.array(cols["remote_port"].astype(np.int32))
    return {
        "srcip": texts(cols["local_hi"], cols["local_lo"]),
        "dstip": texts(cols["remote_hi"], cols["remote_lo"]),
        "proto": proto, "srcport": pa.array(cols["local_port"].astype(np.int32)), "dstport": dstport,
        "flowid": pa.array(ids, pa.string()), "service": service_names(dstport, proto),
    }


def counter_columns(table: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    return {c: pa.array(np.asarray(table[c], np.int64))
            for c in ("packets_in", "bytes_in", "packets_out", "bytes_out")}


def _const(value: object, n: int, type_: pa.DataType) -> pa.Array:
    return pa.array([value] * n, type_)


def devicetraffic(devid: int, table: dict[str, np.ndarray]) -> pa.Table:
    n = len(table["win"])
    cols = {"devid": _const(devid, n, pa.int64()), "ts": timestamps(table["win"]),
            **counter_columns(table)}
    return pa.table(cols)


def apptraffic(devid: int, table: dict[str, np.ndarray]) -> pa.Table:
    cols = {"devid": _const(devid, len(table["win"]), pa.int64()), "ts": timestamps(table["win"]),
            **tuple_columns(table), **counter_columns(table)}
    return pa.table(cols)


def flows(devid: int, rows: FlowRows, names: list[str | None],
          tcp: list[np.ndarray | None]) -> pa.Table:
    c = rows.cols
    cols = {"devid": _const(devid, len(rows), pa.int64()), "startts": timestamps(c["start"]),
            "endts": timestamps(c["end"]), **tuple_columns(c), **counter_columns(c),
            "server_name": pa.array(names, pa.string()), **tcpperf.columns(tcp)}
    return pa.table(cols)


def _tuple_lists(fives: list[Five]) -> dict[str, list[object]]:
    texts_ = [_texts_and_id(f) for f in fives]
    return {"srcip": [t[0] for t in texts_], "dstip": [t[1] for t in texts_],
            "proto": [f[4] for f in fives], "srcport": [f[5] for f in fives],
            "dstport": [f[6] for f in fives], "flowid": [t[2] for t in texts_]}


def dnsreqs(devid: int, events: list[DnsEvent]) -> pa.Table:
    messages = [ev.message for ev in events]
    cols: dict[str, list[object]] = {
        "devid": [devid] * len(events), "ts": [ev.ts_us for ev in events],
        "query_ts": [ev.query_us for ev in events], **_tuple_lists([ev.five for ev in events]),
        "query": [m.query for m in messages], "query_type": [m.query_type for m in messages],
    }
    table = _typed("dnsreqs", cols, ("ts", "query_ts"))
    return _with_answers(table, [m.answers for m in messages])


def _with_answers(table: pa.Table, answers: list[list[Answer]]) -> pa.Table:
    """The four aligned answer list columns, built from one flat list of records (nested Python
    lists are several times slower to convert)."""
    offsets = np.zeros(len(answers) + 1, np.int32)
    np.cumsum([len(a) for a in answers], out=offsets[1:])
    flat = [record for records in answers for record in records]
    columns = {"ans_type": [a.rtype for a in flat], "ans_name": [a.name for a in flat],
               "ans_addr": [a.addr for a in flat], "ans_ttl": [a.ttl for a in flat]}
    schema = _SCHEMAS["dnsreqs"]
    for column, values in columns.items():
        type_ = schema.field(column).type
        table = table.append_column(column, pa.ListArray.from_arrays(
            pa.array(offsets), pa.array(values, type_.value_type), type=type_))
    return table


def httpreqs(devid: int, events: list[HttpEvent]) -> pa.Table:
    reqs = [ev.request for ev in events]
    cols: dict[str, list[object]] = {
        "devid": [devid] * len(events), "source": ["pcap"] * len(events), "ts": [r.ts_us for r in reqs],
        "req_method": [r.method for r in reqs], "req_url": [r.url for r in reqs],
        "req_url_host": [r.host for r in reqs], "req_url_path": [r.path for r in reqs],
        "req_ua": [r.user_agent for r in reqs], "req_referer": [r.referer for r in reqs],
        "res_status_code": [r.status for r in reqs], "res_size": [r.size for r in reqs],
        "res_mimetype": [r.mimetype for r in reqs], **_tuple_lists([ev.five for ev in events]),
    }
    return _typed("httpreqs", cols, ("ts",))


def _typed(name: str, cols: dict[str, list[object]], time_columns: tuple[str, ...]) -> pa.Table:
    """Columns as an Arrow table with the canonical types."""
    schema = _SCHEMAS[name]
    return pa.table({column: timestamps(values) if column in time_columns  # type: ignore[arg-type]
                     else pa.array(values, schema.field(column).type) for column, values in cols.items()})
