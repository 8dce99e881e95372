"""The study's secret key: loaded from a file, never printed or stored; every keyed mapping
(pseudonyms, Crypto-PAn addresses, time offsets) uses its own key derived from it by HMAC."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from ucnstudy.errors import UcnError

MIN_KEY_BYTES = 32  # 256 bits: `head -c 32 /dev/urandom > study.key`, or 64 hex digits


class KeyFileError(UcnError):
    """The key file is missing, empty or too short."""


@dataclass(frozen=True)
class StudyKey:
    """A secret key. repr() and str() never show it; `fingerprint` identifies it publicly."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_BYTES:
            raise KeyFileError(f"the anonymisation key is too short ({len(self.secret)} bytes): it needs "
                            f"at least {MIN_KEY_BYTES} random bytes, e.g. head -c 32 /dev/urandom > KEY")

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose; knowing one derived key reveals neither the others
        nor the secret."""
        return hmac.new(self.secret, b"ucnstudy/" + purpose.encode(), hashlib.sha256).digest()

    @property
    def fingerprint(self) -> str:
        """16 hex digits that tell two keys apart (a one-way function of a derived key)."""
        return hashlib.sha256(self.derive("fingerprint")).hexdigest()[:16]


def load_key(path: str | os.PathLike[str] | None) -> StudyKey:
    """The key in a file (its bytes, a trailing newline removed); typed errors otherwise."""
    if path is None or not str(path):
        raise KeyFileError("an anonymised export needs --key-file KEY (at least 32 random bytes)")
    p = Path(path).expanduser()
    if not p.is_file():
        raise KeyFileError(f"{p}: no such key file (create one with head -c 32 /dev/urandom > {p})")
    secret = p.read_bytes().rstrip(b"\r\n")
    if not secret:
        raise KeyFileError(f"{p}: the key file is empty")
    try:
        return StudyKey(secret)
    except KeyFileError as exc:
        raise KeyFileError(f"{p}: {exc}") from None


class Pseudonyms:
    """Keyed pseudonyms: HMAC-SHA256 of (kind, value), cut to 12 hex digits after a prefix.
    Stable for one key, unlinkable without it; the prefix tells a reader what it stands for."""

    def __init__(self, key: StudyKey) -> None:
        self._mac = hmac.new(key.derive("pseudonyms"), digestmod=hashlib.sha256)  # copied per value

    def __call__(self, kind: str, value: str) -> str:
        return f"{kind}-{self.digest(kind, value)[:12]}"

    def digest(self, kind: str, value: str) -> str:
        """The full 64 hex digits (for values that are hashes already, such as flowid)."""
        mac = self._mac.copy()
        mac.update(f"{kind}\x00{value}".encode())
        return mac.hexdigest()

    def number(self, kind: str, value: str | int) -> int:
        """A keyed 64-bit number of a value (for per-user secret offsets)."""
        mac = self._mac.copy()
        mac.update(f"{kind}\x00{value}".encode())
        return int.from_bytes(mac.digest()[:8], "big")
