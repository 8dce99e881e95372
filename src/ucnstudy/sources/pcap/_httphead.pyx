# cython: language_level=3, boundscheck=False, wraparound=False
"""Typed twin of http.head_fields_py (the reference, which the differential tests compare it
with): the start line and a few header values of an HTTP message head in one pass over the
bytes, instead of decoding and lower-casing the whole head and searching it once per header.

A header is found as http.Headers finds it: the first line starting with its name (ASCII
case-insensitive; lower-casing latin-1 text changes no other byte into an ASCII letter) followed
by ":"; the value is the rest of that line, latin-1 decoded and stripped by str.strip, so the
characters stripped are exactly the reference's.
"""

# the names of http.HEAD_FIELDS, in that order, lower case
cdef tuple NAMES = (b"host", b"user-agent", b"referer", b"content-length", b"transfer-encoding",
                    b"content-type")
cdef int COUNT = 6


cdef inline unsigned char lower(unsigned char c) noexcept:
    return c + 32 if 65 <= c <= 90 else c


cdef inline bint named(const unsigned char* s, Py_ssize_t at, Py_ssize_t n,
                       const unsigned char* name, Py_ssize_t size) noexcept:
    """Is s[at:] `name` (lower case) then ":"?"""
    cdef Py_ssize_t k
    if at + size >= n or s[at + size] != 58:  # ':'
        return False
    for k in range(size):
        if lower(s[at + k]) != name[k]:
            return False
    return True


def head_fields(bytes head):
    """(start line, [value or None for each of http.HEAD_FIELDS]) of a message head."""
    cdef const unsigned char* s = head
    cdef Py_ssize_t n = len(head), i, j, end, size
    cdef int f, left = COUNT
    cdef const unsigned char* name
    cdef bytes name_b
    values = [None] * COUNT
    end = head.find(b"\n")
    start = (head if end < 0 else head[:end]).decode("latin-1").strip()
    i = end
    while i >= 0 and left:
        # i is at a "\n": does a wanted name start the next line?
        for f in range(COUNT):
            if values[f] is not None:
                continue
            name_b = NAMES[f]
            name, size = name_b, len(name_b)
            if named(s, i + 1, n, name, size):
                j = i + 1 + size + 1
                end = j
                while end < n and s[end] != 10:
                    end += 1
                values[f] = head[j:end].decode("latin-1").strip()
                left -= 1
                break
        i += 1
        while i < n and s[i] != 10:
            i += 1
        if i >= n:
            break
    return start, values
