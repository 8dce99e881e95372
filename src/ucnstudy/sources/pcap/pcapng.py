"""pcapng: Section Header, Interface Description and packet blocks (Enhanced, Simple, obsolete)."""

from __future__ import annotations

import struct

import numpy as np

from ucnstudy.sources.pcap.records import MAX_RECORD, RESYNC_WINDOW, Records, Report, Walker, fields

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
MAX_TIME_US = 1 << 62  # beyond this a time stamp cannot be real (and would overflow int64 maths)


class PcapngWalker(Walker):
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
        f = fields(buf, heads, self.endian, skip=4)  # length, interface, ts high, ts low
        g = fields(buf, heads, self.endian, skip=20)[:, 0]  # captured length
        length, iface, ticks = f[:, 0], f[:, 1], (f[:, 2] << 32) | f[:, 3]
        known = len(self.interfaces)
        coarse = any(not 1_000_000 <= units <= 10**18 or abs(offset) > 1 << 40
                     for _, _, units, offset in self.interfaces)  # unusual: the careful path
        if known == 0 or coarse or (iface >= known).any() or (g > length - 32).any():
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
            ts = (ticks * 1_000_000 // units if units != 1_000_000 else ticks) + offset * 1_000_000
            if not -MAX_TIME_US < ts < MAX_TIME_US:  # a corrupt time stamp or resolution
                return False
            recs.add(pos + 28, incl, ts, linktype)
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
