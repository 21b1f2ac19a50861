"""The apps' clock: what time it is (injectable, so tests fix it) and the hub's timestamps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "parse_time", "system_clock"]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def parse_time(value: str) -> datetime:
    """A timestamp as the hub writes it (ISO 8601, ``Z`` or an offset)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
