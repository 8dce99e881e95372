"""IANA service names of (port, IP protocol), from the bundled snapshot `data/iana_services.csv`.

The snapshot's header records its source (Debian netbase's /etc/services, derived from the IANA
registry) and date. Lookups never touch the machine's own /etc/services, so results do not
depend on where the study is enriched.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import pyarrow as pa
import pyarrow.compute as pc

SERVICES_RESOURCE = "iana_services.csv"
PROTO_NUMBERS = {"tcp": 6, "udp": 17, "sctp": 132}


@cache
def service_table() -> dict[tuple[int, int], str]:
    """{(port, proto number): service name} of the bundled snapshot."""
    text = resources.files("ucnstudy.data").joinpath(SERVICES_RESOURCE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {(int(r["port"]), int(r["proto"])): r["service"] for r in csv.DictReader(lines)}


def service_name(port: int | None, proto: int | str | None) -> str | None:
    """The IANA name of a port ('https' for 443/tcp), or None when unassigned or unknown.

    `proto` is an IP protocol number (6, 17, 132) or its name ('tcp', 'udp', 'sctp').
    """
    if port is None or proto is None:
        return None
    if isinstance(proto, str):
        number = PROTO_NUMBERS.get(proto.lower())
        if number is None:
            return None
        proto = number
    return service_table().get((int(port), int(proto)))


@cache
def service_arrow() -> pa.Table:
    """The snapshot as an Arrow table (port int32, proto int32, service string) for joins."""
    items = sorted(service_table().items())
    return pa.table({
        "port": pa.array([k[0] for k, _ in items], pa.int32()),
        "proto": pa.array([k[1] for k, _ in items], pa.int32()),
        "service": pa.array([v for _, v in items], pa.string()),
    })


@cache
def _lookup() -> tuple[pa.Array, pa.Array]:
    """(packed (port, proto) keys, service names) of the snapshot, built once per process."""
    keys = service_arrow()
    return _pack(keys["port"], keys["proto"]).combine_chunks(), keys["service"].combine_chunks()


def _int64(values: pa.Array | pa.ChunkedArray | list[int | None]) -> pa.Array | pa.ChunkedArray:
    array = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    return array.cast(pa.int64())


def _pack(ports: pa.Array | pa.ChunkedArray, protos: pa.Array | pa.ChunkedArray) -> pa.Array:
    # proto < 256 and 0 <= port < 2**31, so proto * 2**32 + port is a collision-free key
    return pc.add(pc.multiply(_int64(protos), 1 << 32), _int64(ports))


def service_names(ports: pa.Array | pa.ChunkedArray | list[int | None],
                  protos: pa.Array | pa.ChunkedArray | list[int | None]) -> pa.Array:
    """Vectorised lookup for importers: one service name (or null) per (port, proto) pair."""
    packed, services = _lookup()
    result = pc.take(services, pc.index_in(_pack(ports, protos), value_set=packed))
    return result.combine_chunks() if isinstance(result, pa.ChunkedArray) else result
