"""Figure builders: one per analysis, DataFrame -> matplotlib Figure(s)."""
