"""IP addresses, prefix-preserving (Crypto-PAn, Xu et al. 2002, through yacryptopan).

Two addresses that share a k-bit prefix keep a k-bit common prefix after anonymisation, and no
other: subnets stay subnets, unrelated addresses stay unrelated. IPv4 and IPv6 use the same
key. Reverse-DNS names (`4.3.2.1.in-addr.arpa`, nibbles under `ip6.arpa`) carry an address in
text: their address part is anonymised too, keeping the number of labels.
"""

from __future__ import annotations

import ipaddress

from yacryptopan import CryptoPAn

V4_REVERSE = ".in-addr.arpa"
V6_REVERSE = ".ip6.arpa"


class Addresses:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("Crypto-PAn needs a 32-byte key")
        self._pan = CryptoPAn(key)

    def address(self, text: str) -> str | None:
        """The anonymised form of an IP address in text form; None when `text` is not one."""
        try:
            ip = ipaddress.ip_address(text.strip().strip("[]"))
        except ValueError:
            return None
        value = self._pan.anonymize_bin(int(ip), ip.version)
        return str(ipaddress.ip_address(value) if ip.version == 6 else ipaddress.IPv4Address(value))

    def reverse_name(self, name: str) -> str | None:
        """A reverse-DNS name with its (partial) address anonymised; None for other names."""
        lower = name.lower().rstrip(".")
        if lower.endswith(V4_REVERSE):
            return self._reverse(lower[: -len(V4_REVERSE)], 8, 4, 10) + V4_REVERSE
        if lower.endswith(V6_REVERSE):
            return self._reverse(lower[: -len(V6_REVERSE)], 4, 6, 16) + V6_REVERSE
        return None

    def _reverse(self, labels: str, bits: int, version: int, base: int) -> str:
        parts = [p for p in labels.split(".") if p]
        width = 32 if version == 4 else 128
        digits = []
        try:
            digits = [int(p, base) for p in reversed(parts)]
        except ValueError:
            return "x"  # not an address: nothing of it is kept
        if not digits or len(digits) * bits > width or any(d >= 1 << bits for d in digits):
            return "x"
        value = 0
        for d in digits:
            value = (value << bits) | d
        value <<= width - len(digits) * bits
        anon = self._pan.anonymize_bin(value, version) >> (width - len(digits) * bits)
        out = [(anon >> (bits * i)) & ((1 << bits) - 1) for i in range(len(digits))]
        return ".".join(str(d) if version == 4 else format(d, "x") for d in out)
