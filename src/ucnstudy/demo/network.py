"""From requests to what a capture sees: connections, DNS responses and HTTP request rows.

Requests sharing a connection key share one 5-tuple (ephemeral source ports are handed out in
time order, as an OS does). A connection needs its host resolved: the device asks the resolver
when its cached answer has expired (at most one lookup per host per TTL window), and Apple
devices ask for AAAA alongside A. Answer arrays are aligned, with TTLs counted down when the
resolver answers from its cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ucnstudy.demo.hosts import AAAA, A
from ucnstudy.demo.population import Device
from ucnstudy.demo.requests import Requests
from ucnstudy.demo.sessions import to_timestamp
from ucnstudy.demo.world import World

EPHEMERAL_FIRST, EPHEMERAL_COUNT = 49152, 16384
RESOLVERS = {"fr": "10.8.0.1", "uk": "10.9.0.1"}


@dataclass
class Tuples:
    """Device-oriented 5-tuples (connections first, then DNS lookups) and their owners."""

    srcip: np.ndarray  # object arrays of strings
    dstip: np.ndarray
    proto: np.ndarray
    srcport: np.ndarray
    dstport: np.ndarray
    flowid: np.ndarray
    server_name: np.ndarray  # object (None for DNS)
    app: np.ndarray


@dataclass
class Network:
    conn_of_request: np.ndarray  # tuple index of each request (-1 for bare lookups)
    conn_start: np.ndarray
    conn_host: np.ndarray
    conn_https: np.ndarray
    lookup_ts: np.ndarray  # response times of DNS lookups
    lookup_tuple: np.ndarray  # tuple index of each lookup
    lookup_answers: np.ndarray  # answer records count (for response sizes)
    tuples: Tuples
    dnsreqs: pa.Table
    lookup_origin: np.ndarray  # planted truth of each DNS row
    lookup_component: np.ndarray


def source_address(device: Device, ts: np.ndarray) -> np.ndarray:
    """The VPN address the device held at each time (address leases)."""
    changes = np.array([lease[1] for lease in device.leases[1:]], dtype=float)
    addresses = np.array([lease[0] for lease in device.leases], dtype=object)
    return addresses[np.searchsorted(changes, ts, side="right")]


def flowids(
    srcip: np.ndarray, dstip: np.ndarray, proto: np.ndarray, sport: np.ndarray, dport: np.ndarray
) -> np.ndarray:
    """ucnstudy.sources.flowid for each tuple: one hash per connection, not per event."""
    keys = zip(srcip.tolist(), dstip.tolist(), proto.tolist(), sport.tolist(), dport.tolist(), strict=True)
    return np.array(
        [hashlib.sha224(f"{s}|{d}|{p}|{a}|{b}".encode()).hexdigest() for s, d, p, a, b in keys], dtype=object
    )


@dataclass
class _Conns:
    """Connections: one per connection key, in key order, with their first request."""

    of_request: np.ndarray  # connection index of each request (-1 for bare lookups)
    first_request: np.ndarray
    start: np.ndarray
    host: np.ndarray


@dataclass
class _Lookups:
    ts: np.ndarray
    host: np.ndarray
    qtype: np.ndarray
    origin: np.ndarray
    component: np.ndarray


def build_network(rng: np.random.Generator, device: Device, country: str, requests: Requests, world: World,
                  port_base: int) -> Network:
    conns = _connections(requests)
    look = _lookups(rng, device, requests, conns, world)
    first = conns.first_request
    tuples = _tuples(device, country, world, conns.start, conns.host, requests.port[first],
                     requests.proto[first], requests.app[first], look.ts, port_base)
    lookup_tuple = conns.start.size + np.arange(look.ts.size)
    dns, n_answers = _dns_table(rng, device, world, look.ts, look.host, look.qtype, tuples, lookup_tuple)
    return Network(conns.of_request, conns.start, conns.host, requests.port[first] == 443, look.ts,
                   lookup_tuple, n_answers, tuples, dns, look.origin, look.component)


def _connections(requests: Requests) -> _Conns:
    """Requests (in time order) grouped by connection key; bare lookups have none."""
    live = ~requests.dns_only
    keys, first, cid = np.unique(np.where(live, requests.conn, -1), return_index=True, return_inverse=True)
    start = np.full(keys.size, np.inf)
    np.minimum.at(start, cid, requests.ts)
    drop = keys == -1  # the bare lookups' pseudo-connection
    keep = ~drop
    of_request = np.where(live, cid - drop.cumsum()[cid], -1)
    return _Conns(of_request, first[keep], start[keep], requests.host[first[keep]])


def _lookups(rng: np.random.Generator, device: Device, requests: Requests, conns: _Conns, world: World
             ) -> _Lookups:
    """The first connection to a host in each TTL window triggers a lookup, as does a bare one."""
    cat = world.catalog
    host, start = conns.host, conns.start
    ttl = np.maximum(cat.ttl[host], 1)
    bucket = np.floor((start + (host * 7919) % ttl) / ttl).astype(np.int64)
    order = np.lexsort((start, bucket, host))
    first_in_window = np.ones(order.size, bool)
    first_in_window[1:] = (np.diff(host[order]) != 0) | (np.diff(bucket[order]) != 0)
    trig = np.sort(order[first_in_window])
    nx = cat.first_address.is_null().to_numpy(zero_copy_only=False)
    trig = trig[~nx[host[trig]]]
    bare = np.nonzero(requests.dns_only)[0]
    cause = np.concatenate([conns.first_request[trig], bare])
    ts = np.concatenate([start[trig], requests.ts[bare]]) - rng.uniform(0.004, 0.06, cause.size)
    qtype = np.full(cause.size, A)
    if device.os in ("ios", "darwin"):  # A and AAAA asked together
        cause, ts = np.tile(cause, 2), np.concatenate([ts, ts + 0.0003])
        qtype = np.concatenate([qtype, np.full(qtype.size, AAAA)])
    order = np.argsort(ts, kind="stable")  # DNS rows (and their truth) in time order
    cause = cause[order]
    return _Lookups(ts[order], requests.host[cause], qtype[order], requests.origin[cause],
                    requests.component[cause])


def _tuples(
    device: Device,
    country: str,
    world: World,
    start: np.ndarray,
    host: np.ndarray,
    port: np.ndarray,
    proto: np.ndarray,
    app: np.ndarray,
    l_ts: np.ndarray,
    port_base: int,
) -> Tuples:
    cat = world.catalog
    n, m = start.size, l_ts.size
    times = np.concatenate([start, l_ts])
    rank = np.empty(n + m, np.int64)
    rank[np.argsort(times, kind="stable")] = np.arange(n + m)
    srcport = EPHEMERAL_FIRST + (port_base + rank) % EPHEMERAL_COUNT
    alt = (np.arange(n) % 2).astype(bool)
    first = cat.first_address.to_numpy(zero_copy_only=False)
    second = cat.second_address.to_numpy(zero_copy_only=False)
    dstip = np.concatenate([np.where(alt, second[host], first[host]), np.full(m, RESOLVERS[country], object)])
    srcip = source_address(device, times)
    proto_all = np.concatenate([proto, np.full(m, 17)])
    dport = np.concatenate([port, np.full(m, 53)])
    names = np.array(cat.names, dtype=object)
    return Tuples(
        srcip,
        dstip,
        proto_all,
        srcport,
        dport,
        flowids(srcip, dstip, proto_all, srcport, dport),
        np.concatenate([names[host], np.full(m, None, object)]),
        np.concatenate([app, np.full(m, None if not device.has_hostview else _resolver_app(device), object)]),
    )


def _resolver_app(device: Device) -> str:
    return "svchost.exe" if device.os == "windows" else "mDNSResponder"


def _dns_table(
    rng: np.random.Generator,
    device: Device,
    world: World,
    ts: np.ndarray,
    host: np.ndarray,
    qtype: np.ndarray,
    tuples: Tuples,
    tup: np.ndarray,
) -> tuple[pa.Table, np.ndarray]:
    cat = world.catalog
    is_a = qtype == A
    idx = pa.array(host)
    answers = {
        k: pc_if_else(is_a, cat.answers_a[k].take(idx), cat.answers_aaaa[k].take(idx)) for k in cat.answers_a
    }
    answers["ans_ttl"] = _count_down(rng, answers["ans_ttl"])
    lengths = answers["ans_type"].value_lengths().to_numpy(zero_copy_only=False)
    table = pa.table(
        {
            "devid": pa.array(np.full(ts.size, device.id, np.int64)),
            "ts": to_timestamp(ts),
            "query_ts": to_timestamp(ts - rng.uniform(0.004, 0.04, ts.size)),
            "srcip": pa.array(tuples.srcip[tup], pa.string()),
            "dstip": pa.array(tuples.dstip[tup], pa.string()),
            "proto": pa.array(tuples.proto[tup], pa.int32()),
            "srcport": pa.array(tuples.srcport[tup], pa.int32()),
            "dstport": pa.array(tuples.dstport[tup], pa.int32()),
            "flowid": pa.array(tuples.flowid[tup], pa.string()),
            "query": pa.array(np.array(cat.names, dtype=object)[host], pa.string()),
            "query_type": pa.array(qtype, pa.int32()),
            **answers,
        }
    )
    return table, lengths.astype(np.int64)


def pc_if_else(mask: np.ndarray, a: pa.Array, b: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    return pc.if_else(pa.array(mask), a, b)


def _count_down(rng: np.random.Generator, ttl: pa.ListArray) -> pa.ListArray:
    """A resolver answering from its cache returns the remaining TTL of each record."""
    values = ttl.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    lengths = ttl.value_lengths().to_numpy(zero_copy_only=False)
    elapsed = np.where(rng.random(lengths.size) < 0.6, rng.integers(0, 86400, lengths.size), 0)
    remaining = values - np.repeat(elapsed, lengths) % np.maximum(values, 1)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(remaining.astype(np.int32)))
