"""Derived columns: registrable domain, service names, user-initiated flags, DNS duplicates."""
