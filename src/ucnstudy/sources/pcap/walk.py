"""Positions of the complete pcap records in a buffer: the compiled walk (`_walk.pyx`), or this
module's Python loop when the extension was not built (same results; the tests compare them)."""

from __future__ import annotations

import struct

import numpy as np


def record_heads_py(buf: bytes | bytearray | memoryview, pos: int, big_endian: bool, max_record: int
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """(positions of the complete records from pos as int64, their four header words
    (seconds, fraction, captured length, original length) as an (n, 4) int64 array, the
    position after them).

    The walk stops at the first record that does not fit in buf or whose captured length is
    larger than max_record (a corrupt header: the caller validates and resynchronises)."""
    header = struct.Struct((">" if big_endian else "<") + "IIII").unpack_from
    heads: list[int] = []
    words: list[tuple[int, int, int, int]] = []
    n = len(buf)
    while pos + 16 <= n:
        fields = header(buf, pos)
        after = pos + 16 + fields[2]
        if after > n or fields[2] > max_record:
            break
        heads.append(pos)
        words.append(fields)
        pos = after
    return np.array(heads, np.int64), np.array(words, np.int64).reshape(-1, 4), pos


try:
    from ucnstudy.sources.pcap._walk import record_heads
except ImportError:  # not compiled (an install without a C compiler): the Python loop
    record_heads = record_heads_py

COMPILED = record_heads is not record_heads_py

__all__ = ["COMPILED", "record_heads", "record_heads_py"]
