"""Group commit: every write of the hub goes through one :class:`Committer` per process.

Requests put their write (an :class:`Op`, a :class:`SyncOp`, or an item of a :class:`BulkOp`,
which does a group's writes of one kind with a statement or two) on a queue and wait. The
committer takes everything queued, runs it in **one** transaction, commits (one fsync for
the whole group), then answers each request and wakes the long-polls of the organisations
that got mail. A request is therefore answered only after its own write is durable, and
many writes share one commit.

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

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.database.backend import Backend
from coordinator.database.keys import new_key
from coordinator.database.statements import Write
from coordinator.errors import CoordinatorError, StoreError
from coordinator.mailbox.notifier import CHANNEL, Notifier, notify_payloads
from coordinator.mailbox.status import MessageStatus
from coordinator.sqltypes import utcnow
from coordinator.tables import MESSAGE_EVENT
from coordinator.tasks import owned

log = logging.getLogger(__name__)

T = TypeVar("T")

_EVENT_INSERT = Write(insert(MESSAGE_EVENT), ["id", "message_id", "status", "at"])


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
                "id": new_key(),
                "message_id": message_id,
                "status": status.value,
                "at": at or self.now,
            }
        )


Op = Callable[[AsyncConnection, Batch], Awaitable[T]]
"""An asynchronous write: awaits its statements on the group's :class:`AsyncConnection`."""
SyncOp = Callable[[Connection, Batch], T]
"""A synchronous write (the hot path): its statements on the group's :class:`Connection`."""
BulkOp = Callable[[Connection, Batch, list[Any]], list[Any]]
"""Writes of one kind done together: items in, one result per item out (in order). A bulk
write must not raise for one item's sake (that would fail the group): it returns that
item's error as its result, and :meth:`Committer.bulk` raises it for that request only."""


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Any]
    op: Op[Any] | None = None  # an asynchronous write
    sync: SyncOp[Any] | None = None  # a synchronous write
    kind: BulkOp | None = None  # with item: one item of a bulk write
    item: Any = None


@dataclass(slots=True)
class CommitStats:
    commits: int = 0
    writes: int = 0
    failures: int = 0
    largest: int = 0
    seconds: float = 0.0


class Committer:
    """The one writer of a hub process.

    Where the backend has a lean writer (a SQLite file: :meth:`Backend.lean_writer`,
    :mod:`coordinator.database.writer`) the hot-path writes (synchronous ops and bulk
    writes) run on it, on the event loop, with only the commit's fsync in a thread; the
    asynchronous ops run in a transaction of their own on the async engine. Otherwise
    (PostgreSQL) everything of a group runs in one transaction, on a connection from
    :meth:`Backend.write_connections` (on PostgreSQL one the committer keeps between groups).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        notifier: Notifier,
        max_batch: int = 256,
    ) -> None:
        self._notifier = notifier
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._notify = backend.notify
        self._lean = backend.lean_writer()
        self._connections = backend.write_connections()
        self.stats = CommitStats()

    async def call(self, op: Op[T]) -> T:
        """Run ``op`` in the next group's transaction; its result once that has committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(future, op=op))
        return await future

    async def write(self, op: SyncOp[T]) -> T:
        """Run the synchronous ``op`` in the next group's transaction; its result, committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(future, sync=op))
        return await future

    async def bulk(self, kind: BulkOp, item: Any) -> Any:
        """Add ``item`` to the next group's bulk write ``kind``; its result, committed.

        A result that is an exception is raised here, for this request alone.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(future, kind=kind, item=item))
        result = await future
        if isinstance(result, Exception):
            raise result
        return result

    async def run(self) -> None:
        """The committer's task: take what is queued, commit it, answer; until cancelled."""
        try:
            while True:
                group = [await self._queue.get()]
                while len(group) < self._max_batch and not self._queue.empty():
                    group.append(self._queue.get_nowait())
                if self._lean is None:
                    await self._commit(group)
                    continue
                # the hot-path writes on the lean writer connection, the rest on the engine
                fast = [p for p in group if p.op is None]
                slow = [p for p in group if p.op is not None]
                if fast:
                    await self._commit(fast)
                if slow:
                    await self._commit(slow)
        finally:
            while not self._queue.empty():
                pending = self._queue.get_nowait()
                if not pending.future.done():
                    pending.future.set_exception(StoreError("the hub is shutting down"))
            with contextlib.suppress(Exception):
                await asyncio.shield(self._connections.close())

    def close(self) -> None:
        """Close the lean writer (after :meth:`run` has ended)."""
        if self._lean is not None:
            self._lean.close()

    async def _commit(self, group: list[_Pending]) -> None:
        started = time.perf_counter()
        live = [p for p in group if not p.future.done()]
        if not live:
            return
        try:
            if self._lean is not None and live[0].op is None:
                batch, results = await self._lean_transaction(live)
            else:
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
        self._answer(live, batch, results)

    def _answer(self, live: list[_Pending], batch: Batch, results: list[Any]) -> None:
        """Wake the long-polls of whoever got mail and answer the group's requests (once:
        on SQLite as soon as the commit returns, before the committer's task resumes). The
        long-polls first: their handlers then run before the group's many others."""
        if batch.wake:
            self._notifier.notify(batch.wake)
            batch.wake = set()
        for pending, result in zip(live, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)

    @staticmethod
    def _run_sync(conn: Connection, batch: Batch, group: list[_Pending]) -> list[Any]:
        """The synchronous writes of a group, in order of first appearance of each kind."""
        results: list[Any] = [None] * len(group)
        kinds: dict[BulkOp, list[int]] = {}
        for i, pending in enumerate(group):
            if pending.kind is not None:
                kinds.setdefault(pending.kind, []).append(i)
        for kind, positions in kinds.items():
            done = kind(conn, batch, [group[i].item for i in positions])
            for i, result in zip(positions, done, strict=True):
                results[i] = result
        for i, pending in enumerate(group):
            if pending.sync is not None:
                results[i] = pending.sync(conn, batch)
        return results

    async def _lean_transaction(self, group: list[_Pending]) -> tuple[Batch, list[Any]]:
        assert self._lean is not None

        def work(conn: Connection) -> tuple[Batch, list[Any]]:
            batch = Batch()
            results = self._run_sync(conn, batch, group)
            if batch.events:
                _EVENT_INSERT.many(conn, batch.events)
            return batch, results

        # the requests are answered as soon as the commit (the fsync) returns
        return await self._lean.transaction(work, lambda done: self._answer(group, *done))

    async def _transaction(self, group: list[_Pending]) -> tuple[Batch, list[Any]]:
        batch = Batch()
        results: list[Any] = [None] * len(group)
        fast = [i for i, p in enumerate(group) if p.op is None]
        async with self._connections.connection() as conn, conn.begin():
            if fast:
                done = await conn.run_sync(self._run_sync, batch, [group[i] for i in fast])
                for i, result in zip(fast, done, strict=True):
                    results[i] = result
            for i, pending in enumerate(group):
                if pending.op is not None:
                    results[i] = await pending.op(conn, batch)
            if batch.events:
                await conn.execute(insert(MESSAGE_EVENT), batch.events)
            if batch.wake:  # other processes' long-polls, where the backend has others
                await self._notify(conn, CHANNEL, notify_payloads(batch.wake))
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
    """Run ``committer`` as a task owned by the caller's context; close it after."""
    try:
        async with owned(committer.run(), name="samspil-committer"):
            yield committer
    finally:
        committer.close()
