"""Samspil benchmarks: each prints its figures and ratios against a baseline of the same run."""
