"""Analyses: pure functions Study (+ parameters) -> Ibis expression -> pandas DataFrame.

Importing this package registers every analysis in `ANALYSES` (name -> Analysis); it loads
neither Ibis nor pandas. The package is callable: `ucnstudy.analyses()` lists the analyses, one
line each (a `Listing`, shown as a table in Jupyter).
"""

import sys
from types import ModuleType

from ucnstudy.analyses import (  # noqa: F401  (imported to register)
    activities,
    activity_context,
    activity_qoe,
    dns_http,
    heatmap,
    inter_event,
    qoe_effects,
    select_users,
    timeline,
    traffic_by_port,
    user_agents,
    user_summary,
)
from ucnstudy.analyses.listing import Listing
from ucnstudy.analyses.registry import ANALYSES, Analysis, analysis, get

__all__ = ["ANALYSES", "Analysis", "Listing", "analysis", "get"]


class _CallablePackage(ModuleType):
    def __call__(self) -> Listing:
        """Every registered analysis with its one-line summary."""
        return Listing.of(ANALYSES.values())


sys.modules[__name__].__class__ = _CallablePackage
