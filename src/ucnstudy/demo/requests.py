"""Requests: the struct-of-arrays that user traffic and background services both produce.

One entry is one application exchange of a device (an HTTP(S) request and its response, a
keepalive on a persistent connection, or a bare DNS lookup). The network stage turns requests
into connections, DNS responses, HTTP rows and per-second traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

USER, BACKGROUND = 0, 1
HTTP_COLUMNS = (
    "req_method",
    "req_url",
    "req_url_host",
    "req_url_path",
    "req_ua",
    "req_referer",
    "res_status_code",
    "res_mimetype",
)


@dataclass
class Requests:
    ts: np.ndarray  # epoch seconds (UTC)
    host: np.ndarray  # host catalog index
    port: np.ndarray
    proto: np.ndarray
    conn: np.ndarray  # connection key: requests with one key share one 5-tuple
    origin: np.ndarray  # USER or BACKGROUND: the planted truth
    component: np.ndarray  # site or service index (see world.COMPONENTS)
    size: np.ndarray  # response body bytes
    upload: np.ndarray  # request bytes
    dns_only: np.ndarray  # a lookup without a connection
    http: np.ndarray  # plain HTTP: also a row of httpreqs
    app: np.ndarray  # owning process name (object array; None when unknown)
    http_columns: dict[str, pa.Array] = field(default_factory=dict)  # rows where http is true

    def __len__(self) -> int:
        return int(self.ts.size)

    @classmethod
    def concat(cls, parts: list[Requests]) -> Requests:
        arrays = {
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in fields(cls)
            if f.name != "http_columns"
        }
        cols = {
            name: pa.concat_arrays([p.http_columns[name] for p in parts if name in p.http_columns])
            for name in HTTP_COLUMNS
            if any(name in p.http_columns for p in parts)
        }
        return cls(**arrays, http_columns=cols)

    @classmethod
    def empty(cls) -> Requests:
        f, i = np.empty(0), np.empty(0, np.int64)
        return cls(f, i, i, i, i, i, i, i, i, np.empty(0, bool), np.empty(0, bool), np.empty(0, object))


def join_strings(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and constants (vectorised)."""
    full = [pa.scalar(p, pa.string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*full, "")


def numbers(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64)).cast(pa.string())


def sort_by_time(req: Requests) -> Requests:
    """The same requests in time order (HTTP columns follow their rows)."""
    order = np.argsort(req.ts, kind="stable")
    arrays = {f.name: getattr(req, f.name)[order] for f in fields(Requests) if f.name != "http_columns"}
    http_pos = np.nonzero(req.http)[0]
    take = pa.array(np.searchsorted(http_pos, order[req.http[order]]))
    return Requests(**arrays, http_columns={k: v.take(take) for k, v in req.http_columns.items()})
