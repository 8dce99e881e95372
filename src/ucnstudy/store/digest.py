"""File content digests (SHA-256), the key of idempotent imports.

The key is the digest of the content, not of the container: a gzip file is hashed as the bytes
it decompresses to, and a zip file as the database(s) it holds, so `access.log` and
`access.log.gz`, or `stats.db` and the `.zip` holding it, are the same import. A container that
does not decompress whole (truncated, corrupt) is hashed as it is.

`BackgroundDigest` hashes a file on another thread while the importer parses it: hashlib and
file reads release the GIL, so on a machine with a second core the digest costs no wall time.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import zipfile
import zlib
from typing import BinaryIO

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
ZIP_MEMBERS = (".db", ".sqlite", ".sqlite3")  # what the hostview importer reads from a zip
_BROKEN = (OSError, EOFError, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError)


class _Stopped(Exception):
    pass


def file_digest(path: str | os.PathLike[str], stop: threading.Event | None = None) -> str:
    """SHA-256 hex of the file's bytes as stored ("" when stopped early)."""
    try:
        with open(path, "rb") as f:
            return _hash(f, stop).hexdigest()
    except _Stopped:
        return ""


def content_digest(path: str | os.PathLike[str], stop: threading.Event | None = None) -> str:
    """SHA-256 hex of what the file holds: decompressed for gzip, the databases of a zip."""
    with open(path, "rb") as f:
        magic = f.read(4)
    try:
        if magic.startswith(GZIP_MAGIC):
            with gzip.open(path, "rb") as f:
                return _hash(f, stop).hexdigest()  # type: ignore[arg-type]
        if magic == ZIP_MAGIC:
            return _zip_digest(path, stop) or file_digest(path, stop)
    except _Stopped:
        return ""
    except _BROKEN:
        pass  # hashed as stored: the parser reports what is wrong with it
    return file_digest(path, stop)


def is_container(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as f:
        magic = f.read(4)
    return magic.startswith(GZIP_MAGIC) or magic == ZIP_MAGIC


def _hash(f: BinaryIO, stop: threading.Event | None) -> hashlib._Hash:
    h = hashlib.sha256()
    buf = bytearray(CHUNK)  # one reused buffer: no allocation (and page faults) per chunk
    view = memoryview(buf)
    while n := f.readinto(buf):
        if stop is not None and stop.is_set():
            raise _Stopped
        h.update(view[:n])
    return h


def _zip_digest(path: str | os.PathLike[str], stop: threading.Event | None) -> str:
    """One member: its digest (the same as the bare file's); several: the digest of theirs."""
    with zipfile.ZipFile(path) as archive:
        members = sorted((i for i in archive.infolist()
                          if not i.is_dir() and i.filename.lower().endswith(ZIP_MEMBERS)),
                         key=lambda i: i.filename)
        digests = []
        for info in members:
            with archive.open(info) as f:
                digests.append(_hash(f, stop).hexdigest())  # type: ignore[arg-type]
    if len(digests) <= 1:
        return digests[0] if digests else ""
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


class BackgroundDigest:
    """The digest of a file, computed on a daemon thread from construction on."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._stop = threading.Event()
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), name="ucn-digest", daemon=True)
        self._thread.start()

    def _run(self, path: str | os.PathLike[str]) -> None:
        try:
            self._digest = content_digest(path, self._stop)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> str:
        """Wait for the digest; re-raise the thread's error, if any."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if not self._digest:
            raise RuntimeError("the digest was cancelled")
        return self._digest

    def cancel(self) -> None:
        """Stop hashing (the import failed); returns once the thread has finished."""
        self._stop.set()
        self._thread.join()
