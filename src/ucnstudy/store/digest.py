"""File content digests (SHA-256), the key of idempotent imports.

`BackgroundDigest` hashes a file on another thread while the importer parses it: hashlib and
file reads release the GIL, so on a machine with a second core the digest costs no wall time.
"""

from __future__ import annotations

import hashlib
import os
import threading

CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str], stop: threading.Event | None = None) -> str:
    """SHA-256 hex of the file's content ("" when stopped early)."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)  # one reused buffer: no allocation (and page faults) per chunk
    view = memoryview(buf)
    with open(path, "rb") as f:
        while n := f.readinto(buf):
            if stop is not None and stop.is_set():
                return ""
            h.update(view[:n])
    return h.hexdigest()


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
            self._digest = file_digest(path, self._stop)
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
