"""Keep DuckDB from importing pandas where nothing needs it.

DuckDB's Python client imports pandas (0.15-0.2 s, a tenth of importing a day's capture) the
first time it binds a query parameter or registers an Arrow table, only to ask whether the
object is a DataFrame. Inside `pandas_hidden()`, pandas cannot be imported: DuckDB takes it as
absent and goes on with the Arrow table or the value, and imports it later if it is asked for a
DataFrame after the block. Only for code that never uses pandas itself (`ucn import pcap`): there
an `import pandas` would fail with ModuleNotFoundError. Nothing changes when pandas is loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType


class _HidePandas:
    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"pandas is hidden here ({__name__})", name=name)
        return None


@contextmanager
def pandas_hidden() -> Iterator[None]:
    if "pandas" in sys.modules:
        yield
        return
    finder = _HidePandas()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
