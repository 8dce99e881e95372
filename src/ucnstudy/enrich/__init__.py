"""Derived columns: registrable domain, service names, user-initiated flags, DNS duplicates.

`enrich_study(study)` recomputes all of them in one transaction (see docs/enrichment.md).
Names resolve on first use, so that `ucn enrich --help` does not load pyarrow or Ibis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ucnstudy.enrich.run import PENDING, EnrichOptions, EnrichResult, enrich_study

__all__ = ["PENDING", "EnrichOptions", "EnrichResult", "enrich_study"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ucnstudy.enrich import run

        return getattr(run, name)
    raise AttributeError(f"module 'ucnstudy.enrich' has no attribute {name!r}")
