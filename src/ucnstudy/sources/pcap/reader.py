"""Read pcap and pcapng captures (plain or gzip) in large blocks with bounded memory.

The reader only walks record headers; packet bytes stay in the block buffer and are decoded
for all packets of a block at once (see `decode`). A corrupt record is reported with its
packet number and byte offset (in the uncompressed stream), the reader resynchronises on the
next plausible record, and a truncated tail is reported; the good packets are kept.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from ucnstudy.errors import InputError
from ucnstudy.sources.pcap.gunzip import GunzipStream
from ucnstudy.sources.pcap.pcapng import PCAPNG_MAGIC, PcapngWalker
from ucnstudy.sources.pcap.records import (
    BLOCK_BYTES,
    MAX_RECORD,
    PAD,
    RESYNC_WINDOW,
    Block,
    Records,
    Report,
    Source,
    Walker,
)
from ucnstudy.sources.pcap.walk import record_heads

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1), b"\xa1\xb2\xc3\xd4": (">", 1),
    b"\x4d\x3c\xb2\xa1": ("<", 1000), b"\xa1\xb2\x3c\x4d": (">", 1000),  # nanosecond pcap
}
GZIP_MAGIC = b"\x1f\x8b"


def open_capture(path: str) -> BinaryIO:
    """The capture as a binary stream, transparently gunzipped."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the stream
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror}") from None
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return GunzipStream(raw)  # type: ignore[return-value]  # keeps what a cut file inflates
    raw.seek(0)
    return raw


def read_blocks(path: str, report: Report, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """Blocks of packets of a pcap or pcapng file; problems go to `report`."""
    with open_capture(path) as stream:
        source = Source(stream, block_bytes, report)
        try:
            data, start, end = source.fill(b"", 0, 0)
            if end - start < 4:
                raise InputError(path, "empty or too short to be a capture (no pcap or pcapng header)")
            magic = bytes(data[start:start + 4])
            if magic in PCAP_MAGICS:
                walker: Walker = _PcapWalker(path, report, *PCAP_MAGICS[magic])
            elif magic == PCAPNG_MAGIC:
                walker = PcapngWalker(path, report)
            else:
                raise InputError(path, f"not a pcap or pcapng capture (magic bytes {magic.hex()})")
            yield from walker.run(source, data, start, end)
        finally:
            source.close()

class _PcapWalker(Walker):
    def __init__(self, path: str, report: Report, endian: str, ns_factor: int) -> None:
        super().__init__(path, report)
        self.header = struct.Struct(endian + "IIII")
        self.endian, self.ns_factor = endian, ns_factor  # 1000 when the fraction is in ns
        self.linktype, self.last_sec = 1, -1

    def start(self, head: bytes) -> int:
        if len(head) < 24:
            raise InputError(self.path, "truncated pcap file header (24 bytes expected)")
        linktype = struct.unpack_from(self.endian + "I", head, 20)[0]
        self.linktype = linktype & 0x0FFFFFFF
        return 24

    def plausible(self, buf: bytes, pos: int, near: bool = False) -> bool:
        """A sane record header; with `near`, also close in time to the last good record."""
        sec, frac, incl, orig = self.header.unpack_from(buf, pos)
        if frac >= 1_000_000 * self.ns_factor or incl > MAX_RECORD or incl > max(orig, 65535):
            return False
        return not near or self.last_sec < 0 or abs(sec - self.last_sec) < 86_400 * 7

    def walk(self, buf: bytes, pos: int, recs: Records, final: bool) -> int:
        n = len(buf)
        while pos + 16 <= n:
            heads, words, stop = record_heads(buf, pos, self.endian == ">", MAX_RECORD)  # see walk.py
            good = self._validate(heads, words, recs)
            if good == len(heads):
                pos = stop
                if pos + 16 > n or struct.unpack_from(self.endian + "I", buf, pos + 8)[0] <= MAX_RECORD:
                    break  # the next record is incomplete: wait for more data
                bad = pos
            else:
                bad = int(heads[good])
            self.corrupt("implausible pcap record header", bad, recs)
            found = self.resync(buf, bad + 1, final)
            if found is None:
                return n if final or self.dead else bad
            pos = found
        return pos

    def _validate(self, heads: np.ndarray, words: np.ndarray, recs: Records) -> int:
        """Add the plausible leading records to recs; return how many were good."""
        if not len(heads):
            return 0
        sec, frac, incl, orig = words[:, 0], words[:, 1], words[:, 2], words[:, 3]
        ok = (frac < 1_000_000 * self.ns_factor) & ((incl <= orig) | (incl <= 65535))
        good = len(heads) if ok.all() else int(np.argmin(ok))
        if good:
            ts_us = sec[:good] * 1_000_000 + frac[:good] // self.ns_factor
            recs.extend(heads[:good] + 16, incl[:good], ts_us, np.full(good, self.linktype, np.int32))
            self.last_sec = int(sec[good - 1])
        return good

    def resync(self, buf: bytes, start: int, final: bool) -> int | None:
        """The next offset where two consecutive record headers are plausible."""
        n = len(buf)
        stop = min(n - 16, start + RESYNC_WINDOW)
        for p in range(start, stop + 1):
            if not self.plausible(buf, p, near=True):
                continue
            nxt = p + 16 + self.header.unpack_from(buf, p)[2]
            if nxt == n or (nxt + 16 <= n and self.plausible(buf, nxt, near=True)):
                self.skipped(start - 1, p)
                return p
        if final or stop < n - 16:
            self.skipped(start - 1, None)
        return None



__all__ = ["BLOCK_BYTES", "PAD", "Block", "read_blocks"]
