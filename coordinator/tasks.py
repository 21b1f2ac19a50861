"""What the hub's background jobs share: their task's owner, their schedule, their counts.

* :func:`owned` — a task started for the span of an ``async with`` (a ``cleanup_ctx``'s
  set-up to its clean-up), then cancelled and awaited: no task outlives its owner.
* :func:`every` — a scheduled job's loop: run now and every ``interval`` seconds; a
  :class:`~coordinator.errors.CoordinatorError` is logged by its code (never its text) and
  the job runs again at the next turn.
* :class:`Counts` — a job's counters (a dataclass of whole numbers): added up run by run,
  and shown on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, fields
from typing import Any, Self

from coordinator.errors import CoordinatorError

__all__ = ["Counts", "every", "owned"]


@contextlib.asynccontextmanager
async def owned(job: Coroutine[Any, Any, Any], *, name: str) -> AsyncIterator[asyncio.Task[Any]]:
    """``job`` as a task named ``name`` for the ``async with`` block; cancelled and awaited
    when the block ends."""
    task = asyncio.create_task(job, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def every(
    interval: float, run: Callable[[], Awaitable[object]], *, what: str, log: logging.Logger
) -> None:
    """Run ``run`` now and every ``interval`` seconds, until cancelled; a failure is logged to
    ``log`` as "``what`` failed (code); trying again later"."""
    while True:
        try:
            await run()
        except CoordinatorError as exc:
            log.warning("%s failed (%s); trying again later", what, exc.code)
        await asyncio.sleep(interval)


@dataclass(slots=True)
class Counts:
    """A job's counters: subclass it as a dataclass whose fields are whole numbers."""

    def add(self, other: Self) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def metrics(self, prefix: str) -> dict[str, float]:
        """The counters for ``/metrics``: ``{prefix}_{name}_total``."""
        return {f"{prefix}_{name}_total": float(n) for name, n in self.as_dict().items()}
