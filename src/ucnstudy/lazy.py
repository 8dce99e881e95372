"""Heavy libraries on first use, so that importing a module that only names them costs nothing.

`from ucnstudy.lazy import ibis, pd` gives stand-ins that import the real module at their first
attribute access (`ibis.window(...)`, `pd.to_datetime(...)`). Modules that declare parameter
dataclasses and register analyses use them, so that the command line can list, document and
parse every analysis without loading Ibis, pandas or pyarrow (`ucn --help` answers at once);
the work itself, in function bodies, loads the library as before. Type hints stay exact: they
are strings (`from __future__ import annotations`) resolved against the real modules imported
under `typing.TYPE_CHECKING`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name` and imports it on the first attribute read."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.load(), attr)

    def load(self) -> ModuleType:
        return importlib.import_module(self._name)  # a dict lookup once imported

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


ibis: Any = LazyModule("ibis")
pd: Any = LazyModule("pandas")
np: Any = LazyModule("numpy")
pa: Any = LazyModule("pyarrow")
pc: Any = LazyModule("pyarrow.compute")
stats: Any = LazyModule("scipy.stats")
