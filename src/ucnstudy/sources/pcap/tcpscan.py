"""The per-flow TCP scan: one fixed-size int64 state row per open flow, updated packet by packet
in capture order (docs/inputs/pcap.md, "TCP performance").

Packets arrive sorted by flow (runs of one flow, capture order kept inside a run); each run
updates its flow's row. Sequence analysis follows tshark's `tcp_analyze_sequence_number`
(retransmission, fast retransmission, spurious retransmission, out-of-order, duplicate ACK,
zero window, keep-alive, zero-window probe); RTT samples follow tshark's `ack_rtt` (an ACK
equal to the end of a data segment) with Karn's rule; the handshake gives the RTT split; the
bulk/application-limited rule classifies the gap between consecutive data segments.

This module is the definition and the fallback; `_tcpscan.pyx` is the same loop compiled
(the tests compare both). Times are microseconds, sequence numbers 32-bit modular.
"""

from __future__ import annotations

import numpy as np

M32 = 0xFFFFFFFF
RING = 32  # outstanding data segments remembered per direction (oldest dropped when full)
FIN, SYN, RST, ACK = 1, 2, 4, 16
FAST_RETRANS_US = 20_000  # tshark: a fast retransmission follows the dup ACKs within 20 ms
OOO_DEFAULT_US = 3_000  # tshark: out-of-order window when the initial RTT is unknown
BULK_GAP_DEFAULT_US = 100_000  # the RTT used by the bulk rule when the handshake was not seen
MIN_FULL, MAX_MSS, ROOM = 536, 1460, 40  # a full-size segment (see full_size)

# flow-level fields
START, LAST, SYN_TS, SYN_DIR, SYNACK_TS, HS1, HS2, FIRST_RTT, CLOSED, FINS = range(10)
# accumulators: RTT per side (0 internet, 1 access), then counters per direction (0 out, 1 in)
RTT = 10  # n, sum, min, max per side
PER_DIR = ("retrans_pkts", "retrans_bytes", "dupacks", "ooo_pkts", "zerowin", "bulk_us",
           "applimited_us", "bulk_bytes")
COUNT = 18  # COUNT + d * 8 + PER_DIR index
ACCUMULATED = COUNT + 2 * len(PER_DIR)  # the fields a finished flow keeps
# per-direction sequence state, at DIR + d * DIR_WIDTH
(NS_SET, NEXTSEQ, NS_TS, LA_SET, LASTACK, LA_TS, WINDOW, DUPACKNUM, LASTFLAGS, LARGEST,
 DATA_TS, DATA_FULL, HEAD, NRING) = range(14)
RING_AT = 14  # RING entries of (start, end, ts); ts -1 once retransmitted
DIR_WIDTH = RING_AT + 3 * RING
DIR = ACCUMULATED
WIDTH = DIR + 2 * DIR_WIDTH
# per-packet analysis flags (kept in LASTFLAGS, as tshark's lastsegmentflags)
KEEP_ALIVE, ZW_PROBE, OUT_OF_ORDER = 1, 2, 4


def new_row() -> np.ndarray:
    row = np.zeros(WIDTH, np.int64)
    reset(row)
    return row


def reset(row: np.ndarray) -> None:
    """A row for a new flow: nothing seen."""
    row[:] = 0
    row[[START, LAST, SYN_TS, SYNACK_TS, HS1, HS2, FIRST_RTT]] = -1
    row[[RTT + 2, RTT + 6]] = -1  # min unset
    reset_sequences(row)


def reset_sequences(row: np.ndarray) -> None:
    for d in (0, 1):
        b = DIR + d * DIR_WIDTH
        row[b:b + DIR_WIDTH] = 0
        row[b + WINDOW] = -1  # tshark starts with an impossible window
        row[b + DATA_TS] = -1


def seq_lt(a: int, b: int) -> bool:
    return ((a - b) & M32) >= 0x80000000


def full_size(seglen: int, largest: int) -> bool:
    """At least MIN_FULL bytes and within ROOM bytes (TCP options) of the direction's largest
    segment so far, capped at MAX_MSS (segments merged by offloading exceed the MSS)."""
    return seglen >= max(MIN_FULL, min(largest, MAX_MSS) - ROOM)


def scan(rows: np.ndarray, run_start: np.ndarray, run_row: np.ndarray, ts: np.ndarray,
         d: np.ndarray, seq: np.ndarray, ack: np.ndarray, flags: np.ndarray, win: np.ndarray,
         seglen: np.ndarray, timeout_us: int, out: np.ndarray) -> int:
    """Update rows[run_row[k]] with the packets run_start[k]:run_start[k + 1]; a packet more
    than timeout_us after its flow's last one first moves the flow's accumulated fields to
    out (with START and LAST; column ACCUMULATED holds the run index k) and starts a new flow.
    Returns the number of rows written to out."""
    written = 0
    for k in range(len(run_row)):
        row = rows[run_row[k]]
        for i in range(run_start[k], run_start[k + 1]):
            t = int(ts[i])
            if row[LAST] >= 0 and t - row[LAST] > timeout_us:
                out[written, :ACCUMULATED] = row[:ACCUMULATED]
                out[written, ACCUMULATED] = k
                written += 1
                reset(row)
            if row[START] < 0:
                row[START] = t
            row[LAST] = max(int(row[LAST]), t)
            packet(row, t, int(d[i]), int(seq[i]), int(ack[i]), int(flags[i]), int(win[i]),
                   int(seglen[i]))
    return written


def packet(row: np.ndarray, t: int, d: int, seq: int, ack: int, flags: int, win: int,
           seglen: int) -> None:
    if row[CLOSED]:
        if flags & (SYN | ACK) != SYN:
            return  # after RST or both FINs, only a new SYN reopens the connection
        reset_sequences(row)
        row[CLOSED] = row[FINS] = 0
    handshake(row, t, d, flags)
    f, r = DIR + d * DIR_WIDTH, DIR + (1 - d) * DIR_WIDTH
    ta = sequence(row, t, d, f, r, seq, ack, flags, win, seglen)
    nxt = (seq + seglen + (1 if flags & (SYN | FIN) else 0)) & M32
    if (not row[f + NS_SET] or seq_lt(int(row[f + NEXTSEQ]), nxt)) and not ta & ZW_PROBE:
        if seglen > 0:
            ring_insert(row, f, seq, nxt, t)
        row[f + NS_SET], row[f + NEXTSEQ], row[f + NS_TS] = 1, nxt, t
    elif seglen > 0 and ta & OUT_OF_ORDER:
        ring_insert(row, f, seq, nxt, t)  # first seen here: fills a hole
    row[f + WINDOW], row[f + LA_SET], row[f + LASTACK], row[f + LA_TS] = win, 1, ack, t
    row[f + LASTFLAGS] = ta
    if flags & ACK:
        acked(row, r, 1 - d, ack, t)
    if seglen > 0:
        bulk(row, t, d, f, seglen)
    close(row, d, flags)


def handshake(row: np.ndarray, t: int, d: int, flags: int) -> None:
    """SYN -> SYN/ACK (HS1) and SYN/ACK -> ACK (HS2), and tshark's initial RTT (SYN -> ACK)."""
    if flags & (SYN | ACK) == SYN:
        if row[SYNACK_TS] < 0:
            row[SYN_TS], row[SYN_DIR] = t, d
    elif flags & (SYN | ACK) == SYN | ACK:
        if row[SYN_TS] >= 0 and d != row[SYN_DIR] and row[HS2] < 0:
            if row[HS1] < 0:
                row[HS1] = t - row[SYN_TS]
            row[SYNACK_TS] = t
    elif flags & ACK:
        if row[FIRST_RTT] < 0 and row[SYN_TS] >= 0:
            row[FIRST_RTT] = t - row[SYN_TS]
        if d == row[SYN_DIR] and row[SYNACK_TS] >= 0 and row[HS2] < 0:
            row[HS2] = t - row[SYNACK_TS]


def sequence(row: np.ndarray, t: int, d: int, f: int, r: int, seq: int, ack: int, flags: int,
             win: int, seglen: int) -> int:
    """tshark's checks, in its order; counts into the accumulators; returns the packet's flags."""
    sfr = flags & (SYN | FIN | RST)
    at = seq == row[f + NEXTSEQ] and bool(row[f + NS_SET])
    same_ack = bool(row[f + LA_SET]) and ack == row[f + LASTACK]
    ta = 0
    if seglen == 1 and at and row[r + WINDOW] == 0:
        ta = ZW_PROBE
    else:
        if win == 0 and not sfr:
            row[COUNT + d * 8 + 4] += 1
        if (seglen <= 1 and row[f + NS_SET] and seq == (row[f + NEXTSEQ] - 1) & M32
                and not sfr):
            ta = KEEP_ALIVE
        repeat = seglen == 0 and win == row[f + WINDOW] and at and same_ack and not sfr
        if repeat and win != 0 and row[r + LASTFLAGS] & KEEP_ALIVE:
            pass  # keep-alive ACK
        elif repeat and win == 0 and row[r + LASTFLAGS] & ZW_PROBE:
            pass  # zero-window probe ACK
        elif repeat and win != 0:
            row[f + DUPACKNUM] += 1
            row[COUNT + d * 8 + 2] += 1
    if not same_ack:
        row[f + DUPACKNUM] = 0
    if (seglen > 0 or flags & (SYN | FIN)) and not ta & KEEP_ALIVE:
        ta |= retransmission(row, t, d, f, r, seq, seglen)
    return ta


def retransmission(row: np.ndarray, t: int, d: int, f: int, r: int, seq: int, seglen: int) -> int:
    """Counts a retransmission or an out-of-order segment; returns OUT_OF_ORDER or 0."""
    nextseq = int(row[f + NEXTSEQ])
    behind = bool(row[f + NS_SET]) and seq_lt(seq, nextseq)
    if seglen > 1 and row[f + NS_SET] and (nextseq - 1) & M32 == seq:
        behind = False
    end = (seq + seglen) & M32
    since_ack, since_next = t - row[r + LA_TS], t - row[f + NS_TS]
    ooo = row[FIRST_RTT] if row[FIRST_RTT] > 0 else OOO_DEFAULT_US
    c = COUNT + d * 8
    fast = (behind and row[r + DUPACKNUM] >= 2 and row[r + LA_SET] and row[r + LASTACK] == seq
            and 0 <= since_ack < FAST_RETRANS_US)
    if not fast and behind and 0 <= since_next < ooo and nextseq != end:
        row[c + 3] += 1
        return OUT_OF_ORDER
    spurious = (seglen > 0 and row[r + LA_SET] and row[r + LASTACK] != 0
                and not seq_lt(int(row[r + LASTACK]), end))  # data already acknowledged
    if fast or spurious or behind:
        row[c] += 1
        row[c + 1] += seglen
        karn(row, f, seq, end)
    return 0


def karn(row: np.ndarray, f: int, seq: int, end: int) -> None:
    """No RTT sample from a segment whose bytes were sent again."""
    for j in range(int(row[f + NRING])):
        e = f + RING_AT + 3 * ((row[f + HEAD] + j) % RING)
        if seq_lt(seq, int(row[e + 1])) and seq_lt(int(row[e]), end):
            row[e + 2] = -1


def ring_insert(row: np.ndarray, f: int, seq: int, end: int, t: int) -> None:
    """Remember a data segment, the entries kept in increasing order of their end (an end
    already remembered keeps its first copy); when full, the oldest entry is forgotten."""
    n, head = int(row[f + NRING]), int(row[f + HEAD])
    at = n
    for j in range(n):
        e_end = int(row[f + RING_AT + 3 * ((head + j) % RING) + 1])
        if e_end == end:
            return
        if seq_lt(end, e_end):
            at = j
            break
    if n == RING:
        head, n, at = (head + 1) % RING, n - 1, max(at - 1, 0)
        row[f + HEAD] = head
    for j in range(n, at, -1):  # shift the later entries one place
        dst, src = f + RING_AT + 3 * ((head + j) % RING), f + RING_AT + 3 * ((head + j - 1) % RING)
        row[dst:dst + 3] = row[src:src + 3]
    e = f + RING_AT + 3 * ((head + at) % RING)
    row[e], row[e + 1], row[e + 2] = seq, end, t
    row[f + NRING] = n + 1


def acked(row: np.ndarray, r: int, rd: int, ack: int, t: int) -> None:
    """Drop the segments of direction rd this ACK covers; an ACK equal to a segment's end is an
    RTT sample (device data acked by the server: internet side; server data: access side)."""
    while row[r + NRING]:
        e = r + RING_AT + 3 * row[r + HEAD]
        end = int(row[e + 1])
        if seq_lt(ack, end):
            return
        if end == ack and row[e + 2] >= 0:
            sample(row, RTT + 4 * rd, t - int(row[e + 2]))
        row[r + HEAD] = (row[r + HEAD] + 1) % RING
        row[r + NRING] -= 1


def sample(row: np.ndarray, at: int, value: int) -> None:
    row[at] += 1
    row[at + 1] += value
    row[at + 2] = value if row[at + 2] < 0 else min(int(row[at + 2]), value)
    row[at + 3] = max(int(row[at + 3]), value)


def bulk(row: np.ndarray, t: int, d: int, f: int, seglen: int) -> None:
    """The gap since the direction's previous data segment is bulk time when that segment was
    full-size and the gap is at most one RTT (the initial RTT, else BULK_GAP_DEFAULT_US);
    otherwise application-limited time."""
    row[f + LARGEST] = max(int(row[f + LARGEST]), seglen)
    if row[f + DATA_TS] >= 0:
        gap = max(t - int(row[f + DATA_TS]), 0)
        rtt = row[FIRST_RTT] if row[FIRST_RTT] >= 0 else BULK_GAP_DEFAULT_US
        c = COUNT + d * 8
        if row[f + DATA_FULL] and gap <= rtt:
            row[c + 5] += gap
            row[c + 7] += seglen
        else:
            row[c + 6] += gap
    row[f + DATA_TS] = t
    row[f + DATA_FULL] = full_size(seglen, int(row[f + LARGEST]))


def close(row: np.ndarray, d: int, flags: int) -> None:
    """Closed on RST, or on the first ACK without FIN once both directions sent their FIN."""
    if flags & RST:
        row[CLOSED] = 1
    elif flags & FIN:
        row[FINS] |= 1 << d
    elif row[FINS] == 3 and flags & ACK:
        row[CLOSED] = 1
