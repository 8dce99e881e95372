"""Per-second device traffic, per-window 5-tuple traffic and flows, consistent with the requests.

Every request and DNS lookup becomes packets and bytes at the IP level, spread over the seconds
its transfer lasts. The three tables are aggregations of the same pieces: devicetraffic per
second, deviceapptraffic per 5-tuple per aligned window (floor(ts / W) * W), and flows per
5-tuple split at idle gaps longer than the flow timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ucnstudy.demo.network import Network
from ucnstudy.demo.requests import Requests
from ucnstudy.demo.sessions import to_timestamp

WINDOW_SECONDS = 10
FLOW_TIMEOUT = 300.0
MSS, HEADER = 1448, 52  # payload per full packet, TCP/IP header bytes
HTTP_HEADERS = 380


@dataclass
class Pieces:
    """Traffic of one tuple within one second."""

    tup: np.ndarray
    second: np.ndarray  # integer epoch second
    first: np.ndarray  # exact time of the piece's first packet
    last: np.ndarray  # exact time of its last packet
    pk_in: np.ndarray
    b_in: np.ndarray
    pk_out: np.ndarray
    b_out: np.ndarray


def transfer_pieces(rng: np.random.Generator, req: Requests, net: Network) -> Pieces:
    live = net.conn_of_request >= 0
    body = req.size[live] + np.where(req.port[live] == 80, HTTP_HEADERS, 0)
    pk_in = 1 + body // MSS
    b_in = body + HEADER * pk_in
    pk_out = 1 + pk_in // 2
    b_out = req.upload[live] + HEADER * pk_out
    duration = 0.03 + body / (1.5e6 * rng.lognormal(0, 0.5, body.size))
    parts = [_spread(net.conn_of_request[live], req.ts[live], duration, pk_in, b_in, pk_out, b_out)]
    # Connection set-up: TCP handshake, plus the TLS handshake (certificates) on port 443.
    tcp = np.nonzero(np.isin(req.proto[live], [6]))[0]
    conns = np.unique(net.conn_of_request[live][tcp])
    tls = net.conn_https[conns]
    hs_t = net.conn_start[conns] - 0.02
    parts.append(
        _spread(
            conns,
            hs_t,
            np.full(conns.size, 0.01),
            1 + 3 * tls,
            60 + 4_400 * tls,
            2 + 2 * tls,
            112 + 520 * tls,
        )
    )
    # DNS: one query packet out, one response packet in.
    n = net.lookup_ts.size
    parts.append(
        _spread(
            net.lookup_tuple,
            net.lookup_ts - 0.01,
            np.full(n, 0.009),
            np.ones(n, np.int64),
            90 + 28 * net.lookup_answers,
            np.ones(n, np.int64),
            np.full(n, 72),
        )
    )
    return Pieces(*(np.concatenate([getattr(p, f) for p in parts]) for f in Pieces.__dataclass_fields__))


def _spread(
    tup: np.ndarray,
    ts: np.ndarray,
    duration: np.ndarray,
    pk_in: np.ndarray,
    b_in: np.ndarray,
    pk_out: np.ndarray,
    b_out: np.ndarray,
) -> Pieces:
    """Split each transfer evenly over the whole seconds it touches."""
    s0 = np.floor(ts).astype(np.int64)
    end = ts + duration
    k = np.floor(end).astype(np.int64) - s0 + 1
    k = np.minimum(k, np.maximum(1, pk_in))  # never more seconds than packets
    row = np.repeat(np.arange(ts.size), k)
    j = np.arange(row.size) - np.repeat(np.cumsum(k) - k, k)
    second = s0[row] + j

    def share(total: np.ndarray) -> np.ndarray:
        base = total[row] // k[row]
        return base + np.where(j == 0, total[row] - base * k[row], 0)

    first = np.where(j == 0, ts[row], second)
    last = np.minimum(second + 0.999, end[row])
    return Pieces(
        tup[row],
        second,
        first,
        np.maximum(first, last),
        share(pk_in),
        share(b_in),
        share(pk_out),
        share(b_out),
    )


def _group(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Sort order and group starts for rows sharing all keys."""
    order = np.lexsort(keys[::-1])
    change = np.zeros(order.size, bool)
    change[:1] = True
    for k in keys:
        ks = k[order]
        change[1:] |= ks[1:] != ks[:-1]
    return order, np.nonzero(change)[0]


def _sums(p: Pieces, order: np.ndarray, starts: np.ndarray) -> dict[str, pa.Array]:
    return {
        name: pa.array(np.add.reduceat(getattr(p, attr)[order], starts).astype(np.int64))
        for name, attr in (
            ("packets_in", "pk_in"),
            ("bytes_in", "b_in"),
            ("packets_out", "pk_out"),
            ("bytes_out", "b_out"),
        )
    }


def devicetraffic(devid: int, p: Pieces) -> pa.Table:
    order, starts = _group([p.second])
    return pa.table(
        {
            "devid": pa.array(np.full(starts.size, devid, np.int64)),
            "ts": to_timestamp(p.second[order][starts].astype(float)),
            **_sums(p, order, starts),
        }
    )


def tuple_columns(net: Network, tup: np.ndarray) -> dict[str, pa.Array]:
    """The device-oriented 5-tuple and flowid columns of connections `tup`."""
    t = net.tuples
    return {
        "srcip": pa.array(t.srcip[tup], pa.string()),
        "dstip": pa.array(t.dstip[tup], pa.string()),
        "proto": pa.array(t.proto[tup], pa.int32()),
        "srcport": pa.array(t.srcport[tup], pa.int32()),
        "dstport": pa.array(t.dstport[tup], pa.int32()),
        "flowid": pa.array(t.flowid[tup], pa.string()),
    }


def deviceapptraffic(devid: int, p: Pieces, net: Network) -> pa.Table:
    window = p.second // WINDOW_SECONDS * WINDOW_SECONDS
    order, starts = _group([window, p.tup])
    tup = p.tup[order][starts]
    return pa.table(
        {
            "devid": pa.array(np.full(starts.size, devid, np.int64)),
            "ts": to_timestamp(window[order][starts].astype(float)),
            **tuple_columns(net, tup),
            **_sums(p, order, starts),
            "appname": pa.array(net.tuples.app[tup], pa.string()),
        }
    )


def flows(devid: int, p: Pieces, net: Network) -> pa.Table:
    order = np.lexsort((p.first, p.tup))
    tup, first, last = p.tup[order], p.first[order], p.last[order]
    # Pieces last at most one second, so the previous piece's end is where the idle gap starts.
    new = np.append(True, (tup[1:] != tup[:-1]) | (first[1:] - last[:-1] > FLOW_TIMEOUT))[: tup.size]
    starts = np.nonzero(new)[0]
    end = np.maximum.reduceat(last, starts)
    ftup = tup[starts]
    table = {
        "devid": pa.array(np.full(starts.size, devid, np.int64)),
        "startts": to_timestamp(first[starts]),
        "endts": to_timestamp(end),
        **tuple_columns(net, ftup),
        **_sums(p, order, starts),
        "server_name": pa.array(net.tuples.server_name[ftup], pa.string()),
        "appname": pa.array(net.tuples.app[ftup], pa.string()),
    }
    return pa.table(table).sort_by("startts")
