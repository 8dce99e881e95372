# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The per-flow TCP scan compiled: the same loop as `tcpscan.scan` (the definition and the
fallback), statement for statement; the tests compare both on random packet sequences.
"""

from ucnstudy.sources.pcap import tcpscan as T

ctypedef long long i64

cdef i64 M32 = 0xFFFFFFFF
cdef i64 HALF = 0x80000000
cdef int RING = T.RING
cdef int FIN = 1, SYN = 2, RST = 4, ACK = 16
cdef i64 FAST_RETRANS_US = T.FAST_RETRANS_US, OOO_DEFAULT_US = T.OOO_DEFAULT_US
cdef i64 BULK_GAP_DEFAULT_US = T.BULK_GAP_DEFAULT_US
cdef i64 MIN_FULL = T.MIN_FULL, MAX_MSS = T.MAX_MSS, ROOM = T.ROOM
cdef int START = T.START, LAST = T.LAST, SYN_TS = T.SYN_TS, SYN_DIR = T.SYN_DIR
cdef int SYNACK_TS = T.SYNACK_TS, HS1 = T.HS1, HS2 = T.HS2, FIRST_RTT = T.FIRST_RTT
cdef int CLOSED = T.CLOSED, FINS = T.FINS, RTT = T.RTT, COUNT = T.COUNT
cdef int ACCUMULATED = T.ACCUMULATED, DIR = T.DIR, DIR_WIDTH = T.DIR_WIDTH, WIDTH = T.WIDTH
cdef int NS_SET = T.NS_SET, NEXTSEQ = T.NEXTSEQ, NS_TS = T.NS_TS, LA_SET = T.LA_SET
cdef int LASTACK = T.LASTACK, LA_TS = T.LA_TS, WINDOW = T.WINDOW, DUPACKNUM = T.DUPACKNUM
cdef int LASTFLAGS = T.LASTFLAGS, LARGEST = T.LARGEST, DATA_TS = T.DATA_TS
cdef int DATA_FULL = T.DATA_FULL, HEAD = T.HEAD, NRING = T.NRING, RING_AT = T.RING_AT
cdef int KEEP_ALIVE = T.KEEP_ALIVE, ZW_PROBE = T.ZW_PROBE, OUT_OF_ORDER = T.OUT_OF_ORDER


cdef inline bint seq_lt(i64 a, i64 b) noexcept nogil:
    return ((a - b) & M32) >= HALF


cdef inline i64 imax(i64 a, i64 b) noexcept nogil:
    return a if a > b else b


cdef inline i64 imin(i64 a, i64 b) noexcept nogil:
    return a if a < b else b


cdef void reset_sequences(i64[::1] row) noexcept nogil:
    cdef int d, j, b
    for d in range(2):
        b = DIR + d * DIR_WIDTH
        for j in range(DIR_WIDTH):
            row[b + j] = 0
        row[b + WINDOW] = -1
        row[b + DATA_TS] = -1


cdef void reset(i64[::1] row) noexcept nogil:
    cdef int j
    for j in range(WIDTH):
        row[j] = 0
    row[START] = row[LAST] = row[SYN_TS] = row[SYNACK_TS] = -1
    row[HS1] = row[HS2] = row[FIRST_RTT] = -1
    row[RTT + 2] = row[RTT + 6] = -1
    reset_sequences(row)


cdef void handshake(i64[::1] row, i64 t, int d, i64 flags) noexcept nogil:
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


cdef void karn(i64[::1] row, int f, i64 seq, i64 end) noexcept nogil:
    cdef int j, e
    for j in range(row[f + NRING]):
        e = f + RING_AT + 3 * ((row[f + HEAD] + j) % RING)
        if seq_lt(seq, row[e + 1]) and seq_lt(row[e], end):
            row[e + 2] = -1


cdef int retransmission(i64[::1] row, i64 t, int d, int f, int r, i64 seq, i64 seglen) noexcept nogil:
    cdef i64 nextseq = row[f + NEXTSEQ]
    cdef bint behind = row[f + NS_SET] and seq_lt(seq, nextseq)
    if seglen > 1 and row[f + NS_SET] and ((nextseq - 1) & M32) == seq:
        behind = False
    cdef i64 end = (seq + seglen) & M32
    cdef i64 since_ack = t - row[r + LA_TS], since_next = t - row[f + NS_TS]
    cdef i64 ooo = row[FIRST_RTT] if row[FIRST_RTT] > 0 else OOO_DEFAULT_US
    cdef int c = COUNT + d * 8
    cdef bint fast = (behind and row[r + DUPACKNUM] >= 2 and row[r + LA_SET]
                      and row[r + LASTACK] == seq and 0 <= since_ack < FAST_RETRANS_US)
    if not fast and behind and 0 <= since_next < ooo and nextseq != end:
        row[c + 3] += 1
        return OUT_OF_ORDER
    cdef bint spurious = (seglen > 0 and row[r + LA_SET] and row[r + LASTACK] != 0
                          and not seq_lt(row[r + LASTACK], end))
    if fast or spurious or behind:
        row[c] += 1
        row[c + 1] += seglen
        karn(row, f, seq, end)
    return 0


cdef int sequence(i64[::1] row, i64 t, int d, int f, int r, i64 seq, i64 ack, i64 flags, i64 win,
                  i64 seglen) noexcept nogil:
    cdef i64 sfr = flags & (SYN | FIN | RST)
    cdef bint at = seq == row[f + NEXTSEQ] and row[f + NS_SET]
    cdef bint same_ack = row[f + LA_SET] and ack == row[f + LASTACK]
    cdef bint repeat
    cdef int ta = 0
    if seglen == 1 and at and row[r + WINDOW] == 0:
        ta = ZW_PROBE
    else:
        if win == 0 and not sfr:
            row[COUNT + d * 8 + 4] += 1
        if seglen <= 1 and row[f + NS_SET] and seq == ((row[f + NEXTSEQ] - 1) & M32) and not sfr:
            ta = KEEP_ALIVE
        repeat = seglen == 0 and win == row[f + WINDOW] and at and same_ack and not sfr
        if repeat and win != 0 and row[r + LASTFLAGS] & KEEP_ALIVE:
            pass
        elif repeat and win == 0 and row[r + LASTFLAGS] & ZW_PROBE:
            pass
        elif repeat and win != 0:
            row[f + DUPACKNUM] += 1
            row[COUNT + d * 8 + 2] += 1
    if not same_ack:
        row[f + DUPACKNUM] = 0
    if (seglen > 0 or flags & (SYN | FIN)) and not ta & KEEP_ALIVE:
        ta |= retransmission(row, t, d, f, r, seq, seglen)
    return ta


cdef void ring_insert(i64[::1] row, int f, i64 seq, i64 end, i64 t) noexcept nogil:
    cdef int n = row[f + NRING], head = row[f + HEAD], at, j, k, dst, src, e
    cdef i64 e_end
    at = n
    for j in range(n):
        e_end = row[f + RING_AT + 3 * ((head + j) % RING) + 1]
        if e_end == end:
            return
        if seq_lt(end, e_end):
            at = j
            break
    if n == RING:
        head, n, at = (head + 1) % RING, n - 1, (at - 1 if at > 0 else 0)
        row[f + HEAD] = head
    j = n
    while j > at:
        dst, src = f + RING_AT + 3 * ((head + j) % RING), f + RING_AT + 3 * ((head + j - 1) % RING)
        for k in range(3):
            row[dst + k] = row[src + k]
        j -= 1
    e = f + RING_AT + 3 * ((head + at) % RING)
    row[e], row[e + 1], row[e + 2] = seq, end, t
    row[f + NRING] = n + 1


cdef void sample(i64[::1] row, int at, i64 value) noexcept nogil:
    row[at] += 1
    row[at + 1] += value
    row[at + 2] = value if row[at + 2] < 0 else imin(row[at + 2], value)
    row[at + 3] = imax(row[at + 3], value)


cdef void acked(i64[::1] row, int r, int rd, i64 ack, i64 t) noexcept nogil:
    cdef int e
    cdef i64 end
    while row[r + NRING]:
        e = r + RING_AT + 3 * row[r + HEAD]
        end = row[e + 1]
        if seq_lt(ack, end):
            return
        if end == ack and row[e + 2] >= 0:
            sample(row, RTT + 4 * rd, t - row[e + 2])
        row[r + HEAD] = (row[r + HEAD] + 1) % RING
        row[r + NRING] -= 1


cdef void bulk(i64[::1] row, i64 t, int d, int f, i64 seglen) noexcept nogil:
    cdef i64 gap, rtt
    cdef int c = COUNT + d * 8
    row[f + LARGEST] = imax(row[f + LARGEST], seglen)
    if row[f + DATA_TS] >= 0:
        gap = imax(t - row[f + DATA_TS], 0)
        rtt = row[FIRST_RTT] if row[FIRST_RTT] >= 0 else BULK_GAP_DEFAULT_US
        if row[f + DATA_FULL] and gap <= rtt:
            row[c + 5] += gap
            row[c + 7] += seglen
        else:
            row[c + 6] += gap
    row[f + DATA_TS] = t
    row[f + DATA_FULL] = seglen >= imax(MIN_FULL, imin(row[f + LARGEST], MAX_MSS) - ROOM)


cdef void close(i64[::1] row, int d, i64 flags) noexcept nogil:
    if flags & RST:
        row[CLOSED] = 1
    elif flags & FIN:
        row[FINS] |= 1 << d
    elif row[FINS] == 3 and flags & ACK:
        row[CLOSED] = 1


cdef void packet(i64[::1] row, i64 t, int d, i64 seq, i64 ack, i64 flags, i64 win,
                 i64 seglen) noexcept nogil:
    if row[CLOSED]:
        if flags & (SYN | ACK) != SYN:
            return
        reset_sequences(row)
        row[CLOSED] = 0
        row[FINS] = 0
    handshake(row, t, d, flags)
    cdef int f = DIR + d * DIR_WIDTH, r = DIR + (1 - d) * DIR_WIDTH
    cdef int ta = sequence(row, t, d, f, r, seq, ack, flags, win, seglen)
    cdef i64 nxt = (seq + seglen + (1 if flags & (SYN | FIN) else 0)) & M32
    if (not row[f + NS_SET] or seq_lt(row[f + NEXTSEQ], nxt)) and not ta & ZW_PROBE:
        if seglen > 0:
            ring_insert(row, f, seq, nxt, t)
        row[f + NS_SET], row[f + NEXTSEQ], row[f + NS_TS] = 1, nxt, t
    elif seglen > 0 and ta & OUT_OF_ORDER:
        ring_insert(row, f, seq, nxt, t)
    row[f + WINDOW], row[f + LA_SET], row[f + LASTACK], row[f + LA_TS] = win, 1, ack, t
    row[f + LASTFLAGS] = ta
    if flags & ACK:
        acked(row, r, 1 - d, ack, t)
    if seglen > 0:
        bulk(row, t, d, f, seglen)
    close(row, d, flags)


def scan(i64[:, ::1] rows, const i64[::1] run_start, const i64[::1] run_row, const i64[::1] ts,
         const i64[::1] d, const i64[::1] seq, const i64[::1] ack, const i64[::1] flags,
         const i64[::1] win, const i64[::1] seglen, i64 timeout_us, i64[:, ::1] out):
    """See tcpscan.scan."""
    cdef Py_ssize_t k, i, j, written = 0
    cdef i64 t
    cdef i64[::1] row
    for k in range(run_row.shape[0]):
        row = rows[run_row[k]]
        with nogil:
            for i in range(run_start[k], run_start[k + 1]):
                t = ts[i]
                if row[LAST] >= 0 and t - row[LAST] > timeout_us:
                    for j in range(ACCUMULATED):
                        out[written, j] = row[j]
                    out[written, ACCUMULATED] = k
                    written += 1
                    reset(row)
                if row[START] < 0:
                    row[START] = t
                row[LAST] = imax(row[LAST], t)
                packet(row, t, <int>d[i], seq[i], ack[i], flags[i], win[i], seglen[i])
    return written
