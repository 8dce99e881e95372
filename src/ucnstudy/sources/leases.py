"""Attribute (IP address, time) pairs to devices through the study's address leases.

A lease (device_addresses) says that device `devid` held `address` from `valid_from` (inclusive,
NULL = since ever) to `valid_to` (exclusive, NULL = until now). Proxy and Zeek logs name only an
address, so each record goes to the device holding that address at the record's time (bug 15:
the original used the address alone). Matching is a vectorised range join in an in-process DuckDB
on Arrow data, so it costs the same whatever the study's engine. Addresses compare in canonical
text form (Python's `ipaddress`, as the manifest importer stores them); an IPv4-mapped IPv6
address (::ffff:a.b.c.d) is compared as its IPv4 address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ucnstudy.store import Study

_LEASE_SCHEMA = pa.schema([("devid", pa.int64()), ("address", pa.string()),
                           ("valid_from", pa.timestamp("us")), ("valid_to", pa.timestamp("us"))])

_MATCH = """
    SELECT r.i, l.devid
    FROM incoming AS r JOIN leases AS l
      ON r.address = l.address
     AND (l.valid_from IS NULL OR r.ts >= l.valid_from)
     AND (l.valid_to IS NULL OR r.ts < l.valid_to)
    QUALIFY row_number() OVER (PARTITION BY r.i ORDER BY l.valid_from DESC NULLS LAST, l.devid) = 1
"""


@lru_cache(maxsize=1 << 16)  # logs repeat a few thousand addresses millions of times
def canonical_address(text: str | None) -> str | None:
    """The canonical text form of an IP address, or None when it is not one."""
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


class Leases:
    """The leases of a study, ready to attribute batches of records."""

    def __init__(self, leases: pa.Table) -> None:
        leases = leases.select(_LEASE_SCHEMA.names).cast(_LEASE_SCHEMA)
        canonical = [canonical_address(a) or a for a in leases.column("address").to_pylist()]
        self.table = leases.set_column(1, "address", pa.array(canonical, pa.string()))
        self._con = duckdb.connect()
        self._con.execute("SET enable_progress_bar = false")  # library code never prints
        self._con.register("leases", self.table)

    @classmethod
    def of_study(cls, study: Study) -> Leases:
        if not study.has_table("device_addresses"):
            return cls(_LEASE_SCHEMA.empty_table())
        return cls(study.table("device_addresses").to_pyarrow())

    @property
    def addresses(self) -> set[str]:
        return set(self.table.column("address").to_pylist())

    def __len__(self) -> int:
        return self.table.num_rows

    def attribute(self, addresses: pa.Array | pa.ChunkedArray, times: pa.Array | pa.ChunkedArray
                  ) -> pa.Array:
        """devid (int64) of each (address, time) pair, null where no lease covers it."""
        n = len(addresses)
        if n == 0 or self.table.num_rows == 0:
            return pa.nulls(n, pa.int64())
        incoming = pa.table({
            "i": pa.array(np.arange(n, dtype=np.int64)),
            "address": _mapped_to_ipv4(addresses),
            "ts": pc.cast(times, pa.timestamp("us")),
        })
        self._con.register("incoming", incoming)
        try:
            found = self._con.execute(_MATCH).to_arrow_table()
        finally:
            self._con.unregister("incoming")
        devids = np.zeros(n, dtype=np.int64)
        known = np.zeros(n, dtype=bool)
        index = found.column("i").to_numpy()
        devids[index] = found.column("devid").to_numpy()
        known[index] = True
        return pa.array(devids, mask=~known)

    def close(self) -> None:
        self._con.close()


def _mapped_to_ipv4(addresses: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """::ffff:a.b.c.d -> a.b.c.d, the form leases use (cheap: a string prefix test)."""
    text = pc.cast(addresses, pa.string())
    mapped = pc.starts_with(text, "::ffff:")
    if not pc.any(mapped).as_py():
        return text
    tail = pc.utf8_slice_codeunits(text, 7)
    return pc.if_else(pc.and_(mapped, pc.match_substring(tail, ".")), tail, text)
