"""Analyses: pure functions Study (+ parameters) -> Ibis expression -> pandas DataFrame.

Importing this package registers every analysis in `ANALYSES` (name -> Analysis).
"""

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
from ucnstudy.analyses.registry import ANALYSES, Analysis, analysis

__all__ = ["ANALYSES", "Analysis", "analysis"]
