"""ucnstudy: user-centric network measurement studies, from raw captures to answers.

From Python or Jupyter::

    import ucnstudy
    ucnstudy.analyses()                    # every analysis, one line each
    study = ucnstudy.open("ucnstudy.duckdb")
    study.analyze("activities", gap=300)   # a pandas DataFrame

Names resolve on first use (PEP 562), so `import ucnstudy` (and the `ucn` command) does not
load Ibis, pandas or pyarrow until a study is opened. See docs/api.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ucnstudy.store import Study, open_study

    open = open_study

__all__ = ["Study", "__version__", "analyses", "open", "open_study"]


def __getattr__(name: str) -> Any:
    if name in ("Study", "open_study", "open"):
        from ucnstudy import store

        return store.open_study if name in ("open", "open_study") else store.Study
    if name == "analyses":  # the package, callable: ucnstudy.analyses() lists the analyses
        import ucnstudy.analyses as analyses

        return analyses
    raise AttributeError(f"module 'ucnstudy' has no attribute {name!r}")
