"""Arrow column helpers: apply a per-value function once per distinct value, also inside lists."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

CACHE_LIMIT = 200_000  # distinct values remembered per function (bounded memory)


class Mapper:
    """A str -> str|None function applied to string (or list of string) arrays, cached."""

    def __init__(self, fn: Callable[[str], str | None]) -> None:
        self._fn = fn
        self._cache: dict[str, str | None] = {}

    def one(self, value: str) -> str | None:
        out = self._cache.get(value, self)
        if out is self:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            out = self._cache[value] = self._fn(value)
        return out  # type: ignore[return-value]

    def __call__(self, arr: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
            return _map_list(arr, self)
        arr = arr.cast(pa.string())
        encoded = pc.dictionary_encode(arr)
        mapped = pa.array([self.one(v) for v in encoded.dictionary.to_pylist()], pa.string())
        return mapped.take(encoded.indices)


def _map_list(arr: pa.Array, mapper: Mapper) -> pa.Array:
    values = mapper(pc.list_flatten(arr))
    offsets = pc.subtract(arr.offsets, arr.offsets[0])
    return pa.ListArray.from_arrays(offsets, values, mask=arr.is_null())


def nulls(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column of the same type and length with every value removed."""
    return pa.nulls(len(arr), arr.type)
