"""Benchmarks: `python -m benchmarks [NAME...] [--quick]`; each prints ratios and peak memory."""
