"""Hypothesis settings the suite's fuzz tests share."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["fuzz_settings"]


def fuzz_settings(default_examples: int) -> settings:
    """``default_examples`` examples, the same ones every run; ``SAMSPIL_FUZZ_EXAMPLES`` asks
    for another number (randomised above 100: long runs explore)."""
    examples = int(os.environ.get("SAMSPIL_FUZZ_EXAMPLES", str(default_examples)))
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=examples <= 100,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
