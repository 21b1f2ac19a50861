"""Revocation across hub processes on PostgreSQL: ``NOTIFY samspil_credentials``.

Every change that takes a credential away (an operator disabling a system token, ``samspil
org token`` rotating one, ``samspil org disable``) calls :func:`announce` inside its own
transaction, so the notification is delivered when the change commits. :func:`listen` keeps
one LISTEN connection per hub process and empties the process's token cache on every
notification; while that connection is down the verifier caches nothing (every request is
looked up), so a revocation can never be missed. SQLite needs none of this: there every
request looks its token up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.auth import TokenVerifier

log = logging.getLogger(__name__)

CHANNEL = "samspil_credentials"
_NOTIFY = text(f"NOTIFY {CHANNEL}")


async def announce(conn: AsyncConnection) -> None:
    """Tell every hub process, on commit, that a credential was revoked (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_NOTIFY)


@contextlib.asynccontextmanager
async def listen(dsn: str, verifier: TokenVerifier) -> AsyncIterator[None]:
    """Empty ``verifier``'s cache on every revocation until the context ends; reconnects."""

    def relay(_conn: Any, _pid: int, _channel: str, _payload: str) -> None:
        verifier.forget()

    async def supervise() -> None:
        while True:
            closed = asyncio.Event()
            try:
                conn = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("revocation LISTEN failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            try:
                conn.add_termination_listener(lambda _c, ev=closed: ev.set())
                await conn.add_listener(CHANNEL, relay)
                verifier.forget()  # whatever was revoked while we were away
                verifier.cache_allowed = True
                await closed.wait()
                log.warning("revocation LISTEN connection lost; reconnecting")
            finally:
                verifier.cache_allowed = False
                verifier.forget()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout=2.0)

    task = asyncio.create_task(supervise(), name="samspil-revocation")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        verifier.cache_allowed = False
