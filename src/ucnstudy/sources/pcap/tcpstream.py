"""In-order delivery of one direction of a TCP connection (sequence-number reassembly).

Segments are delivered in sequence order, retransmitted bytes once. A connection captured
without its SYN starts at its first data segment. When a hole does not fill (a packet the
capture missed), the stream jumps over it after HOLD_LIMIT bytes are waiting and delivers
None to tell the parser that bytes are missing.
"""

from __future__ import annotations

SEQ_MASK = 0xFFFFFFFF
HOLD_LIMIT = 256 * 1024
HOLD_SEGMENTS = 64


class Reassembler:
    def __init__(self) -> None:
        self.next: int | None = None
        self.held: dict[int, bytes] = {}
        self.held_bytes = 0

    def push(self, seq: int, data: bytes, syn: bool = False) -> list[bytes | None]:
        """In-order chunks made available by this segment (None marks a gap)."""
        if syn:
            self.next = (seq + 1) & SEQ_MASK
            seq = self.next
        if not data:
            return []
        if self.next is None:
            self.next = seq
        rel = (seq - self.next) & SEQ_MASK
        if rel >= 1 << 31:  # starts before the expected byte: keep only the new part
            overlap = (self.next - seq) & SEQ_MASK
            if overlap >= len(data):
                return []
            data, rel = data[overlap:], 0
        if rel:
            if seq not in self.held or len(self.held[seq]) < len(data):
                self.held_bytes += len(data) - len(self.held.get(seq, b""))
                self.held[seq] = data
            if self.held_bytes <= HOLD_LIMIT and len(self.held) <= HOLD_SEGMENTS:
                return []
            return [None, *self._skip_hole()]
        out: list[bytes | None] = [data]
        self.next = (self.next + len(data)) & SEQ_MASK
        out.extend(self._drain())
        return out

    def _drain(self) -> list[bytes | None]:
        out: list[bytes | None] = []
        while self.held:
            progressed = False
            for seq in list(self.held):
                rel = (seq - self.next) & SEQ_MASK  # type: ignore[operator]
                if rel and rel < 1 << 31:
                    continue
                data = self.held.pop(seq)
                self.held_bytes -= len(data)
                overlap = (self.next - seq) & SEQ_MASK  # type: ignore[operator]
                if overlap < len(data):
                    out.append(data[overlap:])
                    self.next = (self.next + len(data) - overlap) & SEQ_MASK  # type: ignore[operator]
                progressed = True
            if not progressed:
                break
        return out

    def _skip_hole(self) -> list[bytes | None]:
        """Jump to the earliest held segment and deliver what follows it."""
        nearest = min(self.held, key=lambda s: (s - self.next) & SEQ_MASK)  # type: ignore[operator]
        self.next = nearest
        return self._drain()
