"""Derived columns: registrable domain, service names, user-initiated flags, DNS duplicates.

`enrich_study(study)` recomputes all of them in one transaction (see docs/enrichment.md).
"""

from ucnstudy.enrich.run import PENDING, EnrichOptions, EnrichResult, enrich_study

__all__ = ["PENDING", "EnrichOptions", "EnrichResult", "enrich_study"]
