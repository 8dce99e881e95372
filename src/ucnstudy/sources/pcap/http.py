"""HTTP/1.x requests and responses from the reassembled byte streams of one connection.

Every request of a keep-alive (or pipelined) connection is parsed; responses are paired with
requests in order. Message bodies are skipped by Content-Length, chunked encoding or, for a
response without either, up to the end of the connection, so bodies are never buffered.
res_size is the Content-Length when given, else the body bytes counted.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from ucnstudy.sources.pcap.tcpstream import Reassembler

METHODS = (b"GET ", b"POST", b"HEAD", b"PUT ", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC")
MAX_HEAD = 64 * 1024
_REQUEST_START = re.compile(rb"(GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE) \S+ HTTP/1\.\d")
_RESPONSE_START = re.compile(rb"HTTP/1\.\d \d\d\d")


@dataclass
class Request:
    ts_us: int
    method: str
    url: str | None
    host: str | None
    path: str | None
    user_agent: str | None
    referer: str | None
    status: int | None = None
    size: int | None = None
    mimetype: str | None = None


class Headers:
    """Header lookup in a message head: case-insensitive, first occurrence wins, found with
    string searches instead of splitting every line (latin-1 decoding never fails)."""

    __slots__ = ("lower", "text")

    def __init__(self, text: str) -> None:
        self.text, self.lower = text, text.lower()

    def get(self, name: str, default: str | None = None) -> str | None:
        at = self.lower.find("\n" + name + ":")
        if at < 0:
            return default
        start = at + len(name) + 2
        end = self.text.find("\n", start)
        return (self.text[start:] if end < 0 else self.text[start:end]).strip()


# the headers the parsers read, in the order of head_fields' values
HEAD_FIELDS = ("host", "user-agent", "referer", "content-length", "transfer-encoding", "content-type")


def head_fields_py(data: bytes) -> tuple[str, list[str | None]]:
    """Start line of a message head and its HEAD_FIELDS values (None when absent). The
    reference implementation of _httphead.head_fields, which replaces it when compiled."""
    text = data.decode("latin-1")
    end = text.find("\n")
    headers = Headers(text)
    return (text if end < 0 else text[:end]).strip(), [headers.get(name) for name in HEAD_FIELDS]


try:
    from ucnstudy.sources.pcap._httphead import head_fields
except ImportError:  # built without a C compiler
    head_fields = head_fields_py


def _request(ts_us: int, start: str, host_header: str | None, user_agent: str | None,
             referer: str | None) -> Request | None:
    parts = start.split(" ")
    if len(parts) < 2:
        return None
    method, target = parts[0], parts[1]
    if method == "CONNECT":
        url, host, path = target, target.rsplit(":", 1)[0].lower(), None
    elif target[:8].lower().startswith(("http://", "https://")):
        url = target
        host, path = _split(target)
    else:
        url = f"http://{host_header}{target}" if host_header else None
        host = _host(host_header) if host_header else None
        path = target.split("?", 1)[0].split("#", 1)[0] or "/"
    return Request(ts_us, method, url, host, path, user_agent, referer)


def _host(header: str) -> str | None:
    """The host name of a Host header: lower case, without port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] or None if "]" in header else None
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header or None


def _split(url: str) -> tuple[str | None, str | None]:
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.path or "/"
    except ValueError:
        return None, None


class _MessageStream:
    """One direction: a head (start line + headers), then a body to skip; repeats."""

    start_pattern: re.Pattern[bytes]

    def __init__(self) -> None:
        self.buf = bytearray()
        self.msg_ts = 0
        self.body_left = 0  # bytes of a Content-Length body still to skip
        self.chunked = False
        self.until_close = False
        self.body_seen = 0
        self.broken = False
        self.seeking = False  # after a hole: skip to the next message start
        self.chunk_trailer = False  # after the last chunk: trailer lines until an empty one

    def feed(self, data: bytes | None, ts_us: int) -> None:
        if self.broken:
            return
        if data is None:  # a hole in the stream: resynchronise on the next message start
            self._resync()
            return
        if not self.buf and self.body_left == 0 and not self.chunked and not self.until_close:
            self.msg_ts = ts_us
        self.buf += data
        self._consume(ts_us)

    def _resync(self) -> None:
        self.finish_body()
        self.buf.clear()
        self.body_left, self.chunked, self.until_close = 0, False, False
        self.seeking = True

    def _consume(self, ts_us: int) -> None:
        while self.buf and not self.broken:
            if self.seeking:
                m = self.start_pattern.search(self.buf)
                if m is None:
                    del self.buf[:max(0, len(self.buf) - 32)]
                    return
                del self.buf[:m.start()]
                self.seeking, self.msg_ts = False, ts_us
            if self.until_close:
                self.body_seen += len(self.buf)
                self.buf.clear()
            elif self.body_left:
                take = min(self.body_left, len(self.buf))
                del self.buf[:take]
                self.body_left -= take
                self.body_seen += take
                if not self.body_left and not self.chunked:
                    self.finish_body()
            elif self.chunked:
                if not self._chunk_step():
                    return
            elif not self._head_step():
                return
            if not self.buf:
                return
            if not (self.body_left or self.chunked or self.until_close):
                self.msg_ts = ts_us

    def _head_step(self) -> bool:
        while self.buf[:2] == b"\r\n":  # stray CRLF between messages
            del self.buf[:2]
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self.broken = True
            return False
        if not self.start_pattern.match(self.buf):
            self.broken = True
            return False
        head = bytes(self.buf[:end])
        del self.buf[:end + 4]
        self.on_head(head)
        return True

    def _chunk_step(self) -> bool:
        """At a chunk-size line (or the trailer after the last chunk)."""
        end = self.buf.find(b"\r\n")
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self.broken = True
            return False
        line = bytes(self.buf[:end]).split(b";")[0].strip()
        if self.chunk_trailer:
            del self.buf[:end + 2]
            if not line:
                self.chunked = self.chunk_trailer = False
                self.finish_body()
            return True
        try:
            size = int(line, 16)
        except ValueError:
            self.broken = True
            return False
        del self.buf[:end + 2]
        if size == 0:
            self.chunk_trailer = True
        else:
            self.body_left = size + 2  # the chunk and its CRLF
            self.body_seen -= 2
        return True

    def start_body(self, length: str | None, encoding: str | None, no_body: bool) -> None:
        """After a head with these Content-Length and Transfer-Encoding values."""
        self.body_seen = 0
        if no_body:
            self.finish_body()
        elif encoding is not None and "chunked" in encoding.lower():
            self.chunked = True
        elif length is not None and length.isdigit():
            self.body_left = int(length)
            if not self.body_left:
                self.finish_body()
        else:
            self.on_no_length()

    def on_head(self, head: bytes) -> None:
        raise NotImplementedError

    def on_no_length(self) -> None:
        self.finish_body()

    def finish_body(self) -> None:
        """The current message's body is complete (or cut by a hole or the end)."""


class RequestStream(_MessageStream):
    start_pattern = _REQUEST_START

    def __init__(self, conn: HttpConnection) -> None:
        super().__init__()
        self.conn = conn

    def on_head(self, head: bytes) -> None:
        start, (host, user_agent, referer, length, encoding, _) = head_fields(head)
        request = _request(self.msg_ts, start, host, user_agent, referer)
        if request is None:
            self.broken = True
            return
        self.conn.awaiting.append(request)
        self.start_body(length, encoding, no_body=False)


class ResponseStream(_MessageStream):
    start_pattern = _RESPONSE_START

    def __init__(self, conn: HttpConnection) -> None:
        super().__init__()
        self.conn = conn
        self.current: Request | None = None
        self.declared: int | None = None

    def on_head(self, head: bytes) -> None:
        start, (_, _, _, length, encoding, ctype) = head_fields(head)
        status = int(start.split(" ")[1][:3])
        if 100 <= status < 200:  # interim response: the final one follows
            return
        request = self.conn.awaiting.popleft() if self.conn.awaiting else None
        if request is not None:
            request.status = status
            request.mimetype = ctype.split(";")[0].strip().lower() or None if ctype else None
            self.conn.done.append(request)
        # declared first, as before: an int() that raises leaves `current` as it was
        declared = int(length) if length is not None and length.isdigit() else None
        self.current, self.declared = request, declared
        head_request = request is not None and request.method == "HEAD"
        self.start_body(length, encoding, no_body=head_request or status in (204, 304))

    def on_no_length(self) -> None:
        self.until_close = True

    def finish_body(self) -> None:
        if self.current is not None:
            self.current.size = self.declared if self.declared is not None else self.body_seen
        self.current = None
        self.until_close = False


class HttpConnection:
    """Both directions of one connection; finished requests accumulate in `done`."""

    def __init__(self, five: tuple[int, ...]) -> None:
        self.five = five  # the device-oriented tuple words, for the rows
        self.client, self.server = Reassembler(), Reassembler()
        self.awaiting: deque[Request] = deque()
        self.done: list[Request] = []
        self.requests = RequestStream(self)
        self.responses = ResponseStream(self)
        self.last_us = 0

    def skip_body(self, out: bool, seq: int, length: int, ts_us: int) -> bool:
        """Fast path: an in-order segment inside a body being skipped needs no parsing.
        True when it was consumed that way."""
        stream, parser = (self.client, self.requests) if out else (self.server, self.responses)
        if stream.next != seq or stream.held or parser.buf or parser.seeking or parser.broken:
            return False
        if parser.until_close:
            parser.body_seen += length
        elif length <= parser.body_left:
            parser.body_left -= length
            parser.body_seen += length
            if not parser.body_left and not parser.chunked:
                parser.finish_body()
        else:
            return False
        stream.next = (seq + length) & 0xFFFFFFFF
        self.last_us = ts_us
        return True

    def close(self) -> list[Request]:
        """End of the connection: a close-delimited body ends, unanswered requests are kept."""
        self.responses.finish_body()
        out = self.take()
        out.extend(self.awaiting)
        self.awaiting.clear()
        return out

    def take(self) -> list[Request]:
        """Requests whose response is complete."""
        if not self.done:
            return []
        ready = [r for r in self.done if r.size is not None or r is not self.responses.current]
        self.done = [r for r in self.done if r not in ready]
        return ready
