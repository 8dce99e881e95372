"""Appends on a writer thread, so that parsing the next chunk overlaps loading this one.

DuckDB and psycopg release the GIL while they insert, and the transaction has a connection of
its own, so the parser keeps one core busy while the database works on the other. At most
`depth` chunks wait in the queue (memory stays bounded); the first error of the writer is
re-raised in the caller's thread, and after an error nothing more is appended.
"""

from __future__ import annotations

import threading
from queue import Queue
from types import TracebackType

from ucnstudy.store.study import Load, Rows


class BackgroundLoad:
    def __init__(self, load: Load, depth: int = 2) -> None:
        self._load = load
        self._queue: Queue[tuple[str, Rows] | None] = Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abort = False
        self._thread = threading.Thread(target=self._run, name="ucn-load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None and not self._abort:  # else drain, so put() never blocks
                try:
                    self._load.append(*item)
                except BaseException as exc:  # re-raised by append() or close()
                    self._error = exc

    def append(self, table_name: str, rows: Rows) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((table_name, rows))

    def close(self) -> None:
        """Wait until every chunk is appended; raise the writer's error, if any."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundLoad:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:  # the parser failed: stop appending, let its error propagate
            self._abort = True
            self._queue.put(None)
            self._thread.join()
            return
        self.close()
