"""Reading text logs line by line: plain or gzip (detected by content), any byte content.

Shared by the squid and Zeek importers. Lines are decoded as UTF-8 with undecodable bytes
replaced, so a corrupt byte spoils at most one field of one line, never the file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from typing import IO

import numpy as np
import pyarrow as pa

from ucnstudy.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"


def open_binary(path: str) -> IO[bytes]:
    """The file's bytes, decompressed when it starts with the gzip magic number."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror}") from None
    if f.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    return f


def numbered_lines(path: str, on_corrupt: Callable[[str, int], None] | None = None
                   ) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without the line break).

    A truncated or corrupt gzip stream ends the lines; `on_corrupt(message, last good line)`
    reports it (the lines before it are kept), or an InputError is raised without it.
    """
    with open_binary(path) as f:
        number = 0
        try:
            for number, raw in enumerate(f, start=1):
                yield number, raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
        except (EOFError, OSError, zlib.error) as exc:
            message = f"compressed data is corrupt or truncated after this line ({exc}); the rest is lost"
            if on_corrupt is None:
                raise InputError(path, message, line=number) from None
            on_corrupt(message, number)


NUL_LINE = ("a NUL character (U+0000) in the line: no study engine stores it alike "
            "(PostgreSQL refuses it), so the line is skipped")


def epoch_to_timestamp(epochs: list[str]) -> pa.Array:
    """Decimal epoch seconds ('1348870295.249', checked by valid_epoch) to timestamp[us], exactly."""
    micros = np.empty(len(epochs), dtype=np.int64)
    for i, text in enumerate(epochs):
        whole, _, frac = text.partition(".")
        micros[i] = int(whole) * 1_000_000 + int((frac + "000000")[:6])
    return pa.array(micros, pa.int64()).cast(pa.timestamp("us"))


def valid_epoch(text: str) -> bool:
    """Seconds since 1970 with an optional fraction, before the year 2200."""
    whole, _, frac = text.partition(".")
    return (text.isascii() and whole.isdigit() and (not frac or frac.isdigit()) and len(whole) <= 10
            and int(whole) < 7_258_118_400)
