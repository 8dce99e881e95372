# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Link, IP and transport header fields of every packet of a block, in one compiled pass.

The same definition as `decode.decode_numpy` (the reference and the fallback when this
extension is not built), field for field: the tests compare both on random and mutated
packets. Reads may go past a packet's captured bytes into the block's PAD zero bytes, exactly
as the vectorised version's gathers do; the captured length decides what is valid.
"""

import numpy as np

cdef extern from *:
    void __builtin_prefetch(const void *address) nogil

cdef Py_ssize_t AHEAD = 8  # packets: their headers are fetched from memory while this one decodes

cdef unsigned long long V4_MAPPED = 0xFFFF00000000
cdef int ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86DD, ETH_VLAN = 0x8100, ETH_QINQ = 0x88A8


cdef inline long long be16(const unsigned char[::1] b, Py_ssize_t at) noexcept nogil:
    return (<long long>b[at] << 8) | b[at + 1]


cdef inline unsigned long long be32(const unsigned char[::1] b, Py_ssize_t at) noexcept nogil:
    return ((<unsigned long long>b[at] << 24) | (<unsigned long long>b[at + 1] << 16)
            | (<unsigned long long>b[at + 2] << 8) | b[at + 3])


cdef inline unsigned long long be64(const unsigned char[::1] b, Py_ssize_t at) noexcept nogil:
    return (be32(b, at) << 32) | be32(b, at + 4)


def decode_headers(const unsigned char[::1] buf, const long long[::1] offset, const long long[::1] caplen,
                   const int[::1] linktype):
    """A dict of equal-length arrays: is_ip, ip_len, proto, src_hi, src_lo, dst_hi, dst_lo,
    has_ports, sport, dport, tcp_flags, seq, ack, win, seg_len, pl_off, pl_len (see decode.Packets)."""
    cdef Py_ssize_t n = offset.shape[0], i, k
    out = {name: np.zeros(n, np.int64) for name in
           ("ip_len", "proto", "sport", "dport", "tcp_flags", "seq", "ack", "win", "seg_len",
            "pl_off", "pl_len")}
    out.update({name: np.zeros(n, np.uint64) for name in ("src_hi", "src_lo", "dst_hi", "dst_lo")})
    is_ip_arr, ports_arr = np.zeros(n, np.uint8), np.zeros(n, np.uint8)
    cdef long long[::1] o_ip_len = out["ip_len"], o_proto = out["proto"], o_sport = out["sport"]
    cdef long long[::1] o_dport = out["dport"], o_flags = out["tcp_flags"], o_seq = out["seq"]
    cdef long long[::1] o_ack = out["ack"], o_win = out["win"], o_seg_len = out["seg_len"]
    cdef long long[::1] o_pl_off = out["pl_off"], o_pl_len = out["pl_len"]
    cdef unsigned long long[::1] o_src_hi = out["src_hi"], o_src_lo = out["src_lo"]
    cdef unsigned long long[::1] o_dst_hi = out["dst_hi"], o_dst_lo = out["dst_lo"]
    cdef unsigned char[::1] o_is_ip = is_ip_arr, o_ports = ports_arr
    cdef long long off, cap_end, l3, l4, netproto, etype, ip_len, proto, ihl, ip_end, step, doff
    cdef long long fam, version
    cdef int lt, first, nxt
    cdef bint v4, v6, first_frag, ext, frag, is_tcp, is_udp, has_ports
    with nogil:
        for i in range(n):
            if i + AHEAD < n:
                __builtin_prefetch(&buf[offset[i + AHEAD]])
                __builtin_prefetch(&buf[offset[i + AHEAD] + 48])
            off, lt = offset[i], linktype[i]
            cap_end = off + caplen[i]
            l3, netproto = off, 0
            if lt == 1:  # Ethernet, up to two VLAN tags
                etype = be16(buf, off + 12)
                l3 = off + 14
                for k in range(2):
                    if etype == ETH_VLAN or etype == ETH_QINQ:
                        etype = be16(buf, l3 + 2)
                        l3 += 4
                netproto = etype
            elif lt == 113:  # Linux cooked capture v1
                netproto, l3 = be16(buf, off + 14), off + 16
            elif lt == 276:  # Linux cooked capture v2
                netproto, l3 = be16(buf, off), off + 20
            elif lt == 0 or lt == 108:  # BSD loopback: address family, either byte order
                fam = buf[off] | buf[off + 3]
                netproto = ETH_IPV4 if fam == 2 else (ETH_IPV6 if fam in (10, 24, 28, 30) else 0)
                l3 = off + 4
            elif lt == 101 or lt == 12 or lt == 14 or lt == 228 or lt == 229:  # raw IP
                version = buf[off] >> 4
                netproto = ETH_IPV4 if version == 4 else (ETH_IPV6 if version == 6 else 0)
            if l3 >= cap_end:
                l3 = off
            first = buf[l3]
            v4 = netproto == ETH_IPV4 and first >> 4 == 4 and l3 + 20 <= cap_end and (first & 15) >= 5
            v6 = netproto == ETH_IPV6 and first >> 4 == 6 and l3 + 40 <= cap_end
            ihl = (first & 15) * 4
            if v4:
                ip_len, proto = be16(buf, l3 + 2), buf[l3 + 9]
                first_frag = (be16(buf, l3 + 6) & 0x1FFF) == 0
                l4 = l3 + ihl
            else:
                ip_len, proto = 40 + be16(buf, l3 + 4), buf[l3 + 6]
                first_frag = True
                l4 = l3 + 40
            if v6:  # up to four extension headers
                for k in range(4):
                    ext = (proto == 0 or proto == 43 or proto == 60) and l4 + 8 <= cap_end
                    frag = proto == 44 and l4 + 8 <= cap_end
                    if not (ext or frag):
                        break
                    nxt = buf[l4]
                    if frag:
                        first_frag = (be16(buf, l4 + 2) >> 3) == 0
                        step = 8
                    else:
                        step = (buf[l4 + 1] + 1) * 8
                    proto = nxt
                    l4 += step
            if v4:
                o_src_lo[i] = V4_MAPPED | be32(buf, l3 + 12)
                o_dst_lo[i] = V4_MAPPED | be32(buf, l3 + 16)
            elif v6:
                o_src_hi[i], o_src_lo[i] = be64(buf, l3 + 8), be64(buf, l3 + 16)
                o_dst_hi[i], o_dst_lo[i] = be64(buf, l3 + 24), be64(buf, l3 + 32)
            ip_end = min(l3 + max(ip_len, 0), cap_end)
            is_tcp, is_udp = proto == 6, proto == 17
            has_ports = (v4 or v6) and (is_tcp or is_udp) and first_frag and l4 + (20 if is_tcp else 8) <= ip_end
            if not has_ports:
                l4 = off
            doff = (buf[l4 + 12] >> 4) * 4 if has_ports and is_tcp else 8
            o_pl_off[i] = l4 + doff
            if v4 or v6:
                o_is_ip[i], o_ip_len[i], o_proto[i] = 1, ip_len, proto
            else:
                o_proto[i] = -1
            if has_ports:
                o_ports[i] = 1
                o_sport[i], o_dport[i] = be16(buf, l4), be16(buf, l4 + 2)
                o_pl_len[i] = max(ip_end - (l4 + doff), 0)
                if is_tcp:
                    o_flags[i], o_seq[i] = buf[l4 + 13], be32(buf, l4 + 4)
                    o_ack[i], o_win[i] = be32(buf, l4 + 8), be16(buf, l4 + 14)
                    o_seg_len[i] = max(l3 + ip_len - (l4 + doff), 0)
    out["is_ip"], out["has_ports"] = is_ip_arr.view(bool), ports_arr.view(bool)
    return out
