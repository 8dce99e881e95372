"""Analyses: pure functions Study (+ parameters) -> Ibis expression -> pandas DataFrame."""

from ucnstudy.analyses.registry import ANALYSES, Analysis, analysis

__all__ = ["ANALYSES", "Analysis", "analysis"]
