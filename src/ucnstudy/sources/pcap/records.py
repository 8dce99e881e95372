"""Record bookkeeping shared by the capture formats: blocks of packets, buffered reading and
the walker loop that carries an incomplete record over to the next buffer."""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

PAD = 128  # zero bytes after the data of every buffer, so that vectorised reads stay in bounds
BLOCK_BYTES = 16 << 20  # bytes read per block; memory is a small multiple of this
MAX_RECORD = 1 << 22  # larger records are corrupt (libpcap's own limit is 256 KiB)
RESYNC_WINDOW = 8 << 20  # bytes scanned for the next good record after corruption
CARRY_ROOM = 1 << 17  # room in a new buffer for the incomplete record carried over, so it can be reused

Report = Callable[[str, int], None]  # (message, packet number)


@dataclass
class Block:
    """Packets whose bytes lie in `raw`: data offset, captured length, time and link type."""

    raw: bytearray  # packet bytes, followed by at least PAD zero bytes
    offset: np.ndarray  # int64, start of each packet's data in raw
    caplen: np.ndarray  # int64
    ts_us: np.ndarray  # int64, microseconds since the epoch (UTC)
    linktype: np.ndarray  # int32
    first_number: int  # 1-based number of the first packet in the capture

    def __len__(self) -> int:
        return len(self.offset)


class Records:
    """Columns filled by the header walkers (vectorised parts or single records) -> a Block."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.one: list[tuple[int, int, int, int]] = []  # offset, caplen, ts_us, linktype
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def add(self, offset: int, caplen: int, ts_us: int, linktype: int) -> None:
        self.one.append((offset, caplen, ts_us, linktype))
        self.count += 1

    def extend(self, offset: np.ndarray, caplen: np.ndarray, ts_us: np.ndarray, linktype: np.ndarray
               ) -> None:
        self._flush_one()
        self.parts.append((offset, caplen, ts_us, linktype))
        self.count += len(offset)

    def last_ts(self) -> int:
        if self.one:
            return self.one[-1][2]
        return int(self.parts[-1][2][-1]) if self.parts else 0

    def _flush_one(self) -> None:
        if self.one:
            cols = np.array(self.one, np.int64).reshape(-1, 4).T
            self.parts.append((cols[0], cols[1], cols[2], cols[3].astype(np.int32)))
            self.one = []

    def block(self, raw: bytearray, first_number: int) -> Block:
        self._flush_one()
        off, cap, ts, lt = (np.concatenate([p[k] for p in self.parts]) for k in range(4))
        return Block(raw, off.astype(np.int64), cap.astype(np.int64), ts.astype(np.int64),
                     lt.astype(np.int32), first_number)


def fields(buf: bytes, heads: list[int] | np.ndarray, endian: str, skip: int = 0) -> np.ndarray:
    """The four 32-bit words at each head position + skip, as an (n, 4) int64 array."""
    data = np.frombuffer(buf, np.uint8)
    pos = np.array(heads, np.int64) + skip
    words = sliding_window_view(data, 16)[pos].view(endian + "u4")  # rows of a strided view
    return words.astype(np.int64)


class Source:
    """Reads the stream into pooled buffers one block ahead, on a thread: file reads and gzip
    inflation release the GIL, so the next block is ready when the walker needs it.

    A block's data is read at offset CARRY_ROOM of its buffer; the incomplete record at the end
    of the previous block is copied just in front of it, so a block starts at CARRY_ROOM minus
    that carry (one small copy). A longer carry takes a slow path through a fresh buffer. Every
    buffer ends with at least PAD zero bytes after its data.
    """

    POOL = 4  # buffers kept for reuse: the block in use, the one handed out, the one being read

    def __init__(self, stream: BinaryIO, size: int, report: Report) -> None:
        self.stream, self.size, self.report = stream, size, report
        self.done = 0  # bytes read so far
        self.eof = False
        self.pool: list[bytearray] = []
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="ucn-read")
        self._ahead: Future[tuple[int, BaseException | None]] | None = None
        self._ahead_buf = bytearray()

    def _buffer(self) -> bytearray:
        """A pooled buffer that nothing references any more (no block, array or view of it is
        alive), else a new one. Fresh large buffers cost a page fault per 4 KiB page."""
        for buf in self.pool:
            if sys.getrefcount(buf) <= 3:  # pool, loop name, argument
                return buf
        buf = bytearray(CARRY_ROOM + self.size + PAD)
        if len(self.pool) < self.POOL:
            self.pool.append(buf)
        return buf

    def _read_ahead(self) -> None:
        self._ahead_buf = self._buffer()
        self._ahead = self._reader.submit(self._read_into, self._ahead_buf)

    def _read_into(self, buf: bytearray) -> tuple[int, BaseException | None]:
        """(bytes read into buf[CARRY_ROOM:], the error that ended the stream early)."""
        got = 0
        with memoryview(buf) as view:
            while got < self.size:
                try:
                    n = self.stream.readinto(view[CARRY_ROOM + got:CARRY_ROOM + self.size])  # type: ignore[attr-defined]
                except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
                    return got, exc
                if not n:
                    break
                got += n
        return got, None

    def fill(self, old: bytes | bytearray, pos: int, end: int) -> tuple[bytearray, int, int]:
        """The next block: (buffer, start, end), where buffer[start:end] is old[pos:end] (the
        carried incomplete record) followed by the newly read bytes."""
        if self._ahead is None:
            self._read_ahead()
        assert self._ahead is not None
        got, error = self._ahead.result()
        buf, self._ahead = self._ahead_buf, None
        if error is not None:
            self.report(f"compressed stream ends or is corrupt after byte {self.done + got:,} ({error}); "
                        "the rest of the file is skipped", 0)
        self.done += got
        self.eof = error is not None or got < self.size
        carry = end - pos
        if carry <= CARRY_ROOM:
            data, start = buf, CARRY_ROOM - carry
            data[start:CARRY_ROOM] = memoryview(old)[pos:end]
        else:  # a record longer than the carry room: copy both parts into a fresh buffer
            data, start = bytearray(carry + got + PAD), 0
            data[:carry] = memoryview(old)[pos:end]
            data[carry:carry + got] = memoryview(buf)[CARRY_ROOM:CARRY_ROOM + got]
        stop = start + carry + got
        if got < self.size:  # a reused buffer holds old bytes: zeros after the data
            data[stop:] = bytes(len(data) - stop)
        if not self.eof:
            self._read_ahead()
        return data, start, stop

    def close(self) -> None:
        """Wait for a pending read (before the stream closes) and stop the reader thread."""
        if self._ahead is not None:
            self._ahead.result()
            self._ahead = None
        self._reader.shutdown()


class Walker:
    """Shared block loop: walk headers in the buffer, carry an incomplete record to the next."""

    def __init__(self, path: str, report: Report) -> None:
        self.path, self.report = path, report
        self.number = 0  # packets yielded so far
        self.base = 0  # stream offset of buf[0]
        self.dead = False  # set when no valid record follows a corruption: stop reading
        self.reported: set[int] = set()  # stream offsets already reported (blocks are re-walked)
        self.at_packet = 1  # number of the packet a corruption was found at

    def run(self, source: Source, data: bytearray, pos: int, end: int) -> Iterator[Block]:
        self.base = -pos  # stream offset of data[0]
        pos += self.start(memoryview(data)[pos:end])
        while True:
            final = source.eof
            recs = Records()
            stop = self.walk(memoryview(data)[:end], pos, recs, final)
            if len(recs):
                first = self.number + 1
                self.number += len(recs)
                yield recs.block(data, first)
            self.base += stop
            if self.dead or final:
                break
            data, pos, end = source.fill(data, stop, end)
            self.base -= pos
        if not self.dead and stop < end:
            self.report(f"truncated capture: the last record at byte offset {self.base:,} is "
                        f"incomplete ({end - stop:,} bytes ignored)", self.number + 1)

    def start(self, head: bytes) -> int:
        raise NotImplementedError

    def walk(self, buf: bytes, pos: int, recs: Records, final: bool) -> int:
        raise NotImplementedError

    def corrupt(self, what: str, pos: int, recs: Records) -> None:
        if self.base + pos in self.reported:
            return
        self.reported.add(self.base + pos)
        self.at_packet = self.number + len(recs) + 1
        self.report(f"corrupt record ({what}) at byte offset {self.base + pos:,}", self.at_packet)

    def skipped(self, start: int, stop: int | None) -> None:
        if stop is None:
            self.dead = True
            self.report(f"no valid record found after byte offset {self.base + start:,}; "
                        "the rest of the file is skipped", self.at_packet)
        else:
            self.report(f"skipped {stop - start:,} bytes from byte offset {self.base + start:,} to "
                        "the next valid record", self.at_packet)


