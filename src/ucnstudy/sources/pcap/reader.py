"""Read pcap and pcapng captures (plain or gzip) in large blocks with bounded memory.

The reader only walks record headers; packet bytes stay in the block buffer and are decoded
for all packets of a block at once (see `decode`). A corrupt record is reported with its
packet number and byte offset (in the uncompressed stream), the reader resynchronises on the
next plausible record, and a truncated tail is reported; the good packets are kept.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ucnstudy.errors import InputError

PAD = 128  # zero bytes after the data of every buffer, so that vectorised reads stay in bounds

BLOCK_BYTES = 16 << 20  # bytes read per block; memory is a small multiple of this
MAX_RECORD = 1 << 22  # larger records are corrupt (libpcap's own limit is 256 KiB)
RESYNC_WINDOW = 8 << 20  # bytes scanned for the next good record after corruption

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1), b"\xa1\xb2\xc3\xd4": (">", 1),
    b"\x4d\x3c\xb2\xa1": ("<", 1000), b"\xa1\xb2\x3c\x4d": (">", 1000),  # nanosecond pcap
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"

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


def _fields(buf: bytes, heads: list[int], endian: str, skip: int = 0) -> np.ndarray:
    """The four 32-bit words at each head position + skip, as an (n, 4) int64 array."""
    data = np.frombuffer(buf, np.uint8)
    pos = np.array(heads, np.int64) + skip
    words = data[pos[:, None] + np.arange(16)].view(endian + "u4")
    return words.astype(np.int64)


def open_capture(path: str) -> BinaryIO:
    """The capture as a binary stream, transparently gunzipped."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the stream
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror}") from None
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def read_blocks(path: str, report: Report, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """Blocks of packets of a pcap or pcapng file; problems go to `report`."""
    with open_capture(path) as stream:
        source = _Source(stream, block_bytes, report)
        data, end = source.fill(b"", 0, 0)
        if end < 4:
            raise InputError(path, "empty or too short to be a capture (no pcap or pcapng header)")
        magic = bytes(data[:4])
        if magic in PCAP_MAGICS:
            walker: _Walker = _PcapWalker(path, report, *PCAP_MAGICS[magic])
        elif magic == PCAPNG_MAGIC:
            walker = _PcapngWalker(path, report)
        else:
            raise InputError(path, f"not a pcap or pcapng capture (magic bytes {magic.hex()})")
        yield from walker.run(source, data, end)


class _Source:
    """Reads the stream straight into fresh buffers that end with PAD zero bytes (one copy:
    only the incomplete record at the end of a block is carried over)."""

    def __init__(self, stream: BinaryIO, size: int, report: Report) -> None:
        self.stream, self.size, self.report = stream, size, report
        self.done = 0  # bytes read so far
        self.eof = False

    def fill(self, old: bytes | bytearray, pos: int, end: int) -> tuple[bytearray, int]:
        carry = end - pos
        data = bytearray(carry + self.size + PAD)
        data[:carry] = memoryview(old)[pos:end]
        view, got = memoryview(data), carry
        while not self.eof and got < carry + self.size:
            try:
                n = self.stream.readinto(view[got:carry + self.size])  # type: ignore[attr-defined]
            except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
                self.report(f"compressed stream ends or is corrupt after byte {self.done:,} ({exc}); "
                            "the rest of the file is skipped", 0)
                n = 0
            if not n:
                self.eof = True
            got += n or 0
            self.done += n or 0
        return data, got


class _Walker:
    """Shared block loop: walk headers in the buffer, carry an incomplete record to the next."""

    def __init__(self, path: str, report: Report) -> None:
        self.path, self.report = path, report
        self.number = 0  # packets yielded so far
        self.base = 0  # stream offset of buf[0]
        self.dead = False  # set when no valid record follows a corruption: stop reading
        self.reported: set[int] = set()  # stream offsets already reported (blocks are re-walked)

    def run(self, source: _Source, data: bytearray, end: int) -> Iterator[Block]:
        pos = self.start(memoryview(data)[:end])
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
            data, end = source.fill(data, stop, end)
            pos = 0
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
        self.report(f"corrupt record ({what}) at byte offset {self.base + pos:,}",
                    self.number + len(recs) + 1)

    def skipped(self, start: int, stop: int | None) -> None:
        if stop is None:
            self.dead = True
            self.report(f"no valid record found after byte offset {self.base + start:,}; "
                        "the rest of the file is skipped", self.number + 1)
        else:
            self.report(f"skipped {stop - start:,} bytes from byte offset {self.base + start:,} to "
                        "the next valid record", self.number + 1)


class _PcapWalker(_Walker):
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
            heads, stop = self._heads(buf, pos, n)
            good = self._validate(buf, heads, recs)
            if good == len(heads):
                pos = stop
                if pos + 16 > n or struct.unpack_from(self.endian + "I", buf, pos + 8)[0] <= MAX_RECORD:
                    break  # the next record is incomplete: wait for more data
                bad = pos
            else:
                bad = heads[good]
            self.corrupt("implausible pcap record header", bad, recs)
            found = self.resync(buf, bad + 1, final)
            if found is None:
                return n if final or self.dead else bad
            pos = found
        return pos

    def _heads(self, buf: bytes, pos: int, n: int) -> tuple[list[int], int]:
        """Positions of the complete records from pos (the hot loop: one unpack per record)."""
        caplen_at = struct.Struct(self.endian + "I").unpack_from
        heads: list[int] = []
        add = heads.append
        while pos + 16 <= n:
            incl = caplen_at(buf, pos + 8)[0]
            if incl > MAX_RECORD or pos + 16 + incl > n:
                break
            add(pos)
            pos += 16 + incl
        return heads, pos

    def _validate(self, buf: bytes, heads: list[int], recs: Records) -> int:
        """Add the plausible leading records to recs; return how many were good."""
        if not heads:
            return 0
        f = _fields(buf, heads, self.endian)
        sec, frac, incl, orig = f[:, 0], f[:, 1], f[:, 2], f[:, 3]
        ok = (frac < 1_000_000 * self.ns_factor) & ((incl <= orig) | (incl <= 65535))
        good = len(heads) if ok.all() else int(np.argmin(ok))
        if good:
            start = np.array(heads[:good], np.int64)
            recs.extend(start + 16, incl[:good], sec[:good] * 1_000_000 + frac[:good] // self.ns_factor,
                        np.full(good, self.linktype, np.int32))
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


class _PcapngWalker(_Walker):
    """pcapng: SHB resets the byte order and interfaces; EPB/SPB/OPB carry packets."""

    def __init__(self, path: str, report: Report) -> None:
        super().__init__(path, report)
        self.endian = "<"
        self.interfaces: list[tuple[int, int, int, int]] = []  # linktype, snaplen, units/s, offset s

    def start(self, head: bytes) -> int:
        return 0

    def block_length(self, buf: bytes, pos: int) -> int | None:
        """Total length of the block at pos when its header and trailer agree, else None."""
        btype = buf[pos:pos + 4]
        if btype == PCAPNG_MAGIC:
            bom = buf[pos + 8:pos + 12]
            if bom not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                return None
            self.endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
        length = struct.unpack_from(self.endian + "I", buf, pos + 4)[0]
        if length < 12 or length % 4 or length > MAX_RECORD:
            return None
        return length

    def walk(self, buf: bytes, pos: int, recs: Records, final: bool) -> int:
        n = len(buf)
        while pos + 12 <= n:
            pos = self._packets(buf, pos, n, recs)
            if pos + 12 > n:
                break
            length = self.block_length(buf, pos)
            if length is not None and pos + length > n:
                break
            trailer_ok = length is not None and struct.unpack_from(
                self.endian + "I", buf, pos + length - 4)[0] == length
            if not trailer_ok or not self.block(buf, pos, length, recs):  # type: ignore[arg-type]
                self.corrupt("bad pcapng block", pos, recs)
                found = self.resync(buf, pos + 4, final)
                if found is None:
                    return n if final or self.dead else pos
                pos = found
                continue
            pos += length  # type: ignore[operator]
        return pos

    def _packets(self, buf: bytes, pos: int, n: int, recs: Records) -> int:
        """Fast path over a run of well-formed Enhanced Packet Blocks; returns where it stopped."""
        head = struct.Struct(self.endian + "II").unpack_from
        word = struct.Struct(self.endian + "I").unpack_from
        heads: list[int] = []
        add = heads.append
        while pos + 12 <= n:
            btype, length = head(buf, pos)
            if btype != 6 or length < 32 or length % 4 or length > MAX_RECORD or pos + length > n \
                    or word(buf, pos + length - 4)[0] != length:
                break
            add(pos)
            pos += length
        if heads:
            self._add_packets(buf, heads, recs)
        return pos

    def _add_packets(self, buf: bytes, heads: list[int], recs: Records) -> None:
        f = _fields(buf, heads, self.endian, skip=4)  # length, interface, ts high, ts low
        g = _fields(buf, heads, self.endian, skip=20)[:, 0]  # captured length
        length, iface, ticks = f[:, 0], f[:, 1], (f[:, 2] << 32) | f[:, 3]
        known = len(self.interfaces)
        if known == 0 or (iface >= known).any() or (g > length - 32).any():
            for p in heads:  # some block is inconsistent: the careful path reports and skips it
                if not self.block(buf, p, int(struct.unpack_from(self.endian + "I", buf, p + 4)[0]), recs):
                    self.corrupt("bad pcapng packet block", p, recs)
            return
        table = np.array(self.interfaces, np.int64)
        linktype, units, offset = table[iface, 0], table[iface, 2], table[iface, 3]
        us = np.where(units == 1_000_000, ticks, (ticks // np.maximum(units // 1_000_000, 1))
                      if (units % 1_000_000 == 0).all() else (ticks * (1e6 / units)).astype(np.int64))
        recs.extend(np.array(heads, np.int64) + 28, g, us + offset * 1_000_000, linktype.astype(np.int32))

    def block(self, buf: bytes, pos: int, length: int, recs: Records) -> bool:
        """Handle one complete block; False when its content is inconsistent."""
        e = self.endian
        btype = struct.unpack_from(e + "I", buf, pos)[0]
        if btype == 0x0A0D0D0A:
            self.interfaces = []
        elif btype == 1:
            return self.interface(buf, pos, length)
        elif btype in (6, 2):
            if length < 32:
                return False
            if btype == 6:
                iface, hi, lo, incl, _ = struct.unpack_from(e + "IIIII", buf, pos + 8)
            else:
                iface, _, hi, lo, incl, _ = struct.unpack_from(e + "HHIIII", buf, pos + 8)
            if iface >= len(self.interfaces) or incl > length - 32:
                return False
            linktype, _, units, offset = self.interfaces[iface]
            ticks = (hi << 32) | lo
            ts = ticks * 1_000_000 // units if units != 1_000_000 else ticks
            recs.add(pos + 28, incl, ts + offset * 1_000_000, linktype)
        elif btype == 3:
            if not self.interfaces or length < 16:
                return False
            linktype, snaplen, _, _ = self.interfaces[0]
            orig = struct.unpack_from(e + "I", buf, pos + 8)[0]
            incl = min(orig, snaplen or orig, length - 16)
            recs.add(pos + 12, incl, recs.last_ts(), linktype)
        return True

    def interface(self, buf: bytes, pos: int, length: int) -> bool:
        if length < 20:
            return False
        linktype, _, snaplen = struct.unpack_from(self.endian + "HHI", buf, pos + 8)
        units, offset = 1_000_000, 0
        opt, end = pos + 16, pos + length - 4
        while opt + 4 <= end:
            code, olen = struct.unpack_from(self.endian + "HH", buf, opt)
            if code == 0:
                break
            value = buf[opt + 4:opt + 4 + olen]
            if code == 9 and olen >= 1:  # if_tsresol: 10^-v, or 2^-v when the top bit is set
                v = value[0]
                units = 2 ** (v & 0x7F) if v & 0x80 else 10 ** min(v, 18)
            elif code == 14 and olen == 8:  # if_tsoffset, seconds
                offset = struct.unpack(self.endian + "q", value)[0]
            opt += 4 + olen + (-olen % 4)
        self.interfaces.append((linktype, snaplen, max(units, 1), offset))
        return True

    def resync(self, buf: bytes, start: int, final: bool) -> int | None:
        """The next offset (same 4-byte alignment) holding a block with matching lengths."""
        n = len(buf)
        stop = min(n - 12, start + RESYNC_WINDOW)
        for p in range(start, stop + 1, 4):
            length = self.block_length(buf, p)
            if length is None or p + length > n:
                continue
            if struct.unpack_from(self.endian + "I", buf, p + length - 4)[0] == length and \
                    struct.unpack_from(self.endian + "I", buf, p)[0] in (1, 2, 3, 5, 6, 0x0A0D0D0A):
                self.skipped(start - 4, p)
                return p
        if final or stop < n - 12:
            self.skipped(start - 4, None)
        return None


__all__ = ["BLOCK_BYTES", "Block", "read_blocks"]
