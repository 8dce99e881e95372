# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The pcap record-header walk in C: the one loop of the import that cannot be vectorised
(each record's position depends on the previous record's length).

`walk.py` holds the same loop in Python; it is the reference the tests compare with and the
fallback when this extension was not built.
"""

import numpy as np

cdef extern from *:
    void __builtin_prefetch(const void *address) nogil

cdef Py_ssize_t AHEAD = 4096  # bytes: records lie in increasing order, so memory ahead is fetched early


cdef inline long long word(const unsigned char[::1] buf, Py_ssize_t at, bint big_endian) noexcept nogil:
    if big_endian:
        return ((<long long>buf[at] << 24) | (<long long>buf[at + 1] << 16)
                | (<long long>buf[at + 2] << 8) | buf[at + 3])
    return ((<long long>buf[at + 3] << 24) | (<long long>buf[at + 2] << 16)
            | (<long long>buf[at + 1] << 8) | buf[at])


def record_heads(const unsigned char[::1] buf, Py_ssize_t pos, bint big_endian, Py_ssize_t max_record):
    """(positions of the complete records from pos as int64, their four header words
    (seconds, fraction, captured length, original length) as an (n, 4) int64 array, the
    position after them).

    The walk stops at the first record that does not fit in buf or whose captured length is
    larger than max_record (a corrupt header: the caller validates and resynchronises). The
    words are read while the header is in the cache (a second pass would miss it again)."""
    cdef Py_ssize_t n = buf.shape[0]
    cdef Py_ssize_t incl, after, count = 0
    cdef Py_ssize_t room = max(0, (n - pos) // 16 + 1)
    heads = np.empty(room, dtype=np.int64)
    words = np.empty((room, 4), dtype=np.int64)
    cdef long long[::1] out = heads
    cdef long long[:, ::1] w = words
    with nogil:
        while pos + 16 <= n:
            if pos + AHEAD < n:
                __builtin_prefetch(&buf[pos + AHEAD])
            incl = word(buf, pos + 8, big_endian)
            after = pos + 16 + incl
            if after > n or incl > max_record:
                break
            out[count] = pos
            w[count, 0] = word(buf, pos, big_endian)
            w[count, 1] = word(buf, pos + 4, big_endian)
            w[count, 2] = incl
            w[count, 3] = word(buf, pos + 12, big_endian)
            count += 1
            pos = after
    return heads[:count], words[:count], pos
