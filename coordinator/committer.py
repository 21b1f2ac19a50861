"""Group commit: every write of the hub goes through one :class:`Committer` per process.

Requests put their write (an :class:`Op`) on a queue and wait. The committer takes everything
queued, runs it in **one** transaction, commits (one fsync for the whole group), then answers
each request and wakes the long-polls of the organisations that got mail. A request is
therefore answered only after its own write is durable, and many writes share one commit.

If a group fails, each of its writes is retried alone, so one bad write fails only its own
request. On SQLite this also means one writer per process: no "database is locked" between
the hub's own connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import insert, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.errors import CoordinatorError, StoreError
from coordinator.notifier import CHANNEL, Notifier, notify_payloads
from coordinator.sqltypes import utcnow
from coordinator.status import MessageStatus
from coordinator.tables import MESSAGE_EVENT

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(slots=True)
class Batch:
    """What the writes of one transaction share: the clock, events, whom to wake."""

    now: datetime = field(default_factory=utcnow)
    events: list[dict[str, Any]] = field(default_factory=list)
    wake: set[str] = field(default_factory=set)

    def event(
        self, message_id: uuid.UUID, status: MessageStatus, at: datetime | None = None
    ) -> None:
        self.events.append(
            {
                "id": uuid.uuid4(),
                "message_id": message_id,
                "status": status.value,
                "at": at or self.now,
            }
        )


Op = Callable[[AsyncConnection, Batch], Awaitable[T]]
BulkOp = Callable[[AsyncConnection, Batch, list[Any]], Awaitable[list[Any]]]
"""Writes of one kind done together: items in, one result per item out (in order)."""


@dataclass(slots=True)
class _Pending:
    op: Op[Any] | None  # None: an item for the bulk write
    future: asyncio.Future[Any]
    item: Any = None


@dataclass(slots=True)
class CommitStats:
    commits: int = 0
    writes: int = 0
    failures: int = 0
    largest: int = 0
    seconds: float = 0.0


class Committer:
    """The one writer of a hub process."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        notifier: Notifier,
        bulk: BulkOp,
        max_batch: int = 256,
    ) -> None:
        self._engine = engine
        self._bulk = bulk
        self._notifier = notifier
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._postgres = engine.dialect.name == "postgresql"
        self.stats = CommitStats()

    async def call(self, op: Op[T]) -> T:
        """Run ``op`` in the next group's transaction; its result once that has committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(op, future))
        return await future

    async def bulk(self, item: Any) -> Any:
        """Add ``item`` to the next group's bulk write (message intake); its result."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(None, future, item))
        return await future

    async def run(self) -> None:
        """The committer's task: take what is queued, commit it, answer; until cancelled."""
        try:
            while True:
                group = [await self._queue.get()]
                while len(group) < self._max_batch and not self._queue.empty():
                    group.append(self._queue.get_nowait())
                await self._commit(group)
        finally:
            while not self._queue.empty():
                pending = self._queue.get_nowait()
                if not pending.future.done():
                    pending.future.set_exception(StoreError("the hub is shutting down"))

    async def _commit(self, group: list[_Pending]) -> None:
        started = time.perf_counter()
        live = [p for p in group if not p.future.done()]
        if not live:
            return
        try:
            batch, results = await self._transaction(live)
        except Exception as exc:  # the group failed: retry each write alone
            if len(live) > 1:
                for pending in live:
                    await self._commit([pending])
                return
            self.stats.failures += 1
            live[0].future.set_exception(_translate(exc))
            return
        self.stats.commits += 1
        self.stats.writes += len(live)
        self.stats.largest = max(self.stats.largest, len(live))
        self.stats.seconds += time.perf_counter() - started
        for pending, result in zip(live, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)
        if batch.wake:
            self._notifier.notify(batch.wake)

    async def _transaction(self, group: list[_Pending]) -> tuple[Batch, list[Any]]:
        batch = Batch()
        results: list[Any] = [None] * len(group)
        bulk = [i for i, p in enumerate(group) if p.op is None]
        async with self._engine.begin() as conn:
            if bulk:
                done = await self._bulk(conn, batch, [group[i].item for i in bulk])
                for i, result in zip(bulk, done, strict=True):
                    results[i] = result
            for i, pending in enumerate(group):
                if pending.op is not None:
                    results[i] = await pending.op(conn, batch)
            if batch.events:
                await conn.execute(insert(MESSAGE_EVENT), batch.events)
            if self._postgres and batch.wake:
                for payload in notify_payloads(batch.wake):
                    await conn.execute(
                        text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": payload},
                    )
        return batch, results


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, CoordinatorError):
        return exc
    if isinstance(exc, SQLAlchemyError | OSError):
        log.error("a write failed in the database: %s", type(exc).__name__)
        return StoreError("the message store is unavailable; try again")
    # the type only: an exception's text may quote data (SQL parameters, message bodies)
    log.error("a write failed unexpectedly: %s", type(exc).__name__)
    return StoreError("the write failed; try again")


@contextlib.asynccontextmanager
async def running(committer: Committer) -> Any:
    """Run ``committer`` as a task owned by the caller's context."""
    task = asyncio.create_task(committer.run(), name="samspil-committer")
    try:
        yield committer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
