"""Wake long-polls when a message for an organisation is committed.

In one process, :class:`Notifier` hands each waiting ``GET /v1/inbox`` a future that the
committer resolves right after its commit. Across processes on PostgreSQL, the committer also
sends ``NOTIFY samspil_inbox, '<gln>,<gln>...'`` inside the transaction (delivered on commit),
and :func:`listen` relays those notifications into this process's notifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "samspil_inbox"


class Notifier:
    """Futures per organisation GLN, resolved when something arrives for it."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Future[None]]] = defaultdict(set)

    def waiter(self, gln: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[gln].add(future)
        return future

    def discard(self, gln: str, future: asyncio.Future[None]) -> None:
        waiting = self._waiters.get(gln)
        if waiting is not None:
            waiting.discard(future)
            if not waiting:
                del self._waiters[gln]

    def notify(self, glns: Iterable[str]) -> None:
        for gln in glns:
            for future in self._waiters.pop(gln, ()):
                if not future.done():
                    future.set_result(None)

    def notify_all(self) -> None:
        self.notify(list(self._waiters))

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())


def notify_payloads(glns: Iterable[str], limit: int = 7000) -> list[str]:
    """Comma-joined GLNs, split under PostgreSQL's 8000-byte NOTIFY payload limit."""
    payloads: list[str] = []
    current = ""
    for gln in sorted(set(glns)):
        candidate = f"{current},{gln}" if current else gln
        if len(candidate) > limit:
            payloads.append(current)
            candidate = gln
        current = candidate
    if current:
        payloads.append(current)
    return payloads


@contextlib.asynccontextmanager
async def listen(dsn: str, notifier: Notifier) -> AsyncIterator[None]:
    """Relay PostgreSQL notifications into ``notifier`` until the context ends; reconnects."""
    ready = asyncio.Event()

    def relay(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        notifier.notify(payload.split(","))

    async def supervise() -> None:
        while True:
            closed = asyncio.Event()
            try:
                conn = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("LISTEN connection failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            try:
                conn.add_termination_listener(lambda _c, ev=closed: ev.set())
                await conn.add_listener(CHANNEL, relay)
                ready.set()
                notifier.notify_all()  # anything missed while reconnecting: re-query
                await closed.wait()
                log.warning("LISTEN connection lost; reconnecting")
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout=2.0)

    task = asyncio.create_task(supervise(), name="samspil-listen")
    try:
        await asyncio.wait_for(ready.wait(), timeout=10.0)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
