"""The typed Cython twins of the pcap importer's per-packet Python give exactly the results of
their Python references, on arbitrary inputs and on inputs shaped like the real thing."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ucnstudy.sources.pcap import http

# header names the parsers read, other names, and near misses (a prefix, a longer name)
NAMES = [*http.HEAD_FIELDS, "HOST", "Content-Length", "User-Agent", "x-host", "hos", "hostname",
         "content-lengthx", "Transfer-Encoding", "CONTENT-TYPE", "accept", ""]
# bytes that matter to the search: separators, whitespace str.strip removes (\x1c-\x1f, \x85
# and \xa0 too, once latin-1 decoded), letters whose case differs, latin-1 letters
PIECES = [b"\r\n", b"\n", b"\r", b":", b": ", b" ", b"\t", b"\x0b", b"\x0c", b"\x1c", b"\x85", b"\xa0",
          b"\xc0", b"\xe9", b"K", b"k", b"1", b"42", b"chunked", b"text/html; charset=x", b"GET / HTTP/1.1"]


def _header_line() -> st.SearchStrategy[bytes]:
    name = st.sampled_from(NAMES).map(lambda n: n.encode())
    value = st.lists(st.sampled_from(PIECES) | st.binary(max_size=6), max_size=5).map(b"".join)
    sep = st.sampled_from([b":", b": ", b" :", b"", b":\t"])
    return st.tuples(name, sep, value).map(b"".join)


heads = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(PIECES) | st.sampled_from([n.encode() for n in NAMES]), max_size=40)
    .map(b"".join),
    st.tuples(st.sampled_from([b"GET /a HTTP/1.1", b"HTTP/1.1 200 OK", b"", b" x "]),
              st.lists(_header_line(), max_size=8), st.sampled_from([b"\r\n", b"\n", b"\n\r"]))
    .map(lambda t: t[0] + b"".join(t[2] + line for line in t[1])),
)


def test_the_typed_head_parser_is_the_one_used() -> None:
    assert http.head_fields is not http.head_fields_py  # built by `make ext`


@settings(max_examples=2000, deadline=None)
@given(head=heads)
@example(head=b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n")  # the first occurrence wins
@example(head=b"HTTP/1.1 200 OK\r\nContent-Length:\xa012\x85\r\nTransfer-Encoding:\r\n")
@example(head=b"Host: first line is the start line\nhost")
@example(head=b"x\ncontent-type:")
def test_typed_head_fields_equal_the_reference(head: bytes) -> None:
    assert http.head_fields(head) == http.head_fields_py(head)
