"""traffic-by-port: bytes and packets per (destination port, service), with shares in %.

From deviceapptraffic (every device): per (dstport, service) the bytes and packets in and out
and their totals; shares are of all bytes and packets (including the rows dropped next); rows
with <= `min_packets` packets are dropped; sorted by bytes (then port); `top` keeps the first
N rows (the original's `tdf.loc[:100]` sliced by label after sorting, so it did not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.analyses.common import query_frame
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import ibis, pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

COLUMNS = ["dstport", "service", "bytes_in", "bytes_out", "packets_in", "packets_out", "bytes",
           "packets", "bytes_pct", "packets_pct"]


@dataclass(frozen=True)
class TrafficByPortParams:
    min_packets: int = field(default=10, metadata={
        "help": "drop (port, service) rows with at most this many packets"})
    top: int = field(default=0, metadata={"help": "keep the N rows with most bytes (0: all)"})


def traffic_by_port_expr(study: Study, p: TrafficByPortParams | None = None) -> ir.Table:
    p = p or TrafficByPortParams()
    t = study.table("deviceapptraffic")
    g = t.group_by("dstport", "service").agg(
        bytes_in=t.bytes_in.sum().fill_null(0), bytes_out=t.bytes_out.sum().fill_null(0),
        packets_in=t.packets_in.sum().fill_null(0), packets_out=t.packets_out.sum().fill_null(0))
    g = g.mutate(bytes=g.bytes_in + g.bytes_out, packets=g.packets_in + g.packets_out)
    everything = ibis.window()
    g = g.mutate(
        bytes_pct=g.bytes.cast("float64") * 100.0 / g.bytes.sum().over(everything).cast("float64"),
        packets_pct=g.packets.cast("float64") * 100.0
        / g.packets.sum().over(everything).cast("float64"))
    kept = g.filter(g.packets > p.min_packets).select(*COLUMNS)
    ordered = kept.order_by([ibis.desc("bytes"), "dstport", ibis.asc("service", nulls_first=False)])
    return ordered.limit(p.top) if p.top > 0 else ordered


@analysis("traffic-by-port", TrafficByPortParams, expr=traffic_by_port_expr)
def traffic_by_port(study: Study, params: TrafficByPortParams) -> pd.DataFrame:
    """Bytes and packets per destination port and service, with shares of the total."""
    return query_frame(study, traffic_by_port_expr, params)[COLUMNS]
