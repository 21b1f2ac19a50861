"""PostgreSQL LISTEN, supervised: one connection per channel and hub process, reconnected
when it is lost, for as long as its context lasts.

What a notification means is the caller's: ``relay(payload)`` for each one,
``on_connect()`` each time the connection is (re)made — anything sent while it was away is
missed, so the caller re-reads or forgets what it cached — and ``on_lost()`` each time it
goes. Only the PostgreSQL backend listens (:mod:`coordinator.database.backend`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from coordinator.tasks import owned

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
READY_SECONDS = 10.0


def _nothing() -> None:
    return None


@contextlib.asynccontextmanager
async def listen_channel(
    dsn: str,
    channel: str,
    *,
    relay: Callable[[str], None],
    on_connect: Callable[[], None] = _nothing,
    on_lost: Callable[[], None] = _nothing,
    wait_until_listening: bool = False,
) -> AsyncIterator[None]:
    """LISTEN on ``channel`` until the context ends; with ``wait_until_listening`` the
    context is entered only once the first connection listens (at most 10 s)."""
    ready = asyncio.Event()

    def deliver(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        relay(payload)

    async def supervise() -> None:
        while True:
            closed = asyncio.Event()
            try:
                conn = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("LISTEN %s failed (%s); retrying", channel, type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            try:
                conn.add_termination_listener(lambda _c, ev=closed: ev.set())
                await conn.add_listener(channel, deliver)
                ready.set()
                on_connect()
                await closed.wait()
                log.warning("LISTEN %s connection lost; reconnecting", channel)
            finally:
                on_lost()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout=2.0)

    async with owned(supervise(), name=f"samspil-listen-{channel}"):
        if wait_until_listening:
            await asyncio.wait_for(ready.wait(), timeout=READY_SECONDS)
        yield
