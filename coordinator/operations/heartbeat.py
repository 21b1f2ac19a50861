"""The hub process's heartbeat: which ``samspil serve`` processes share the database.

At start-up each process inserts its :class:`~coordinator.tables.HubProcess` row (a new
random id per start, host, pid, version); a background task refreshes its ``seen_at`` every
:data:`BEAT_SECONDS` through the committer, like every other write of the process, and
deletes the rows of processes not seen for :data:`FORGET_AFTER`; a graceful stop deletes
the process's own row. The operators' summary lists the processes seen within
:data:`ALIVE_WITHIN` and counts the others as stale: a process that stopped without saying
so (killed, host lost, frozen).

The beat is one ``UPDATE`` of one row and one ``DELETE`` on a table of a few rows: it adds
one small write to a commit group every ten seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import metadata
from typing import Any

from aiohttp import web
from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from coordinator.database.committer import Batch, Committer
from coordinator.errors import CoordinatorError
from coordinator.state import COMMITTER
from coordinator.tables import HUB_PROCESS
from coordinator.tasks import owned

log = logging.getLogger(__name__)

BEAT_SECONDS = 10.0
"""How often a process refreshes its ``seen_at``."""
ALIVE_WITHIN = timedelta(seconds=30)
"""A process seen this recently is running (three beats)."""
FORGET_AFTER = timedelta(hours=1)
"""A process not seen for this long is forgotten: its row is deleted."""

P = HUB_PROCESS.c
_INSERT = insert(HUB_PROCESS)
_BEAT = update(HUB_PROCESS).where(P.id == bindparam("b_id")).values(seen_at=bindparam("b_now"))
_FORGET = delete(HUB_PROCESS).where(P.seen_at < bindparam("b_before"))
_GONE = delete(HUB_PROCESS).where(P.id == bindparam("b_id"))


def _version() -> str:
    try:
        return metadata.version("samspil")[:32]
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class ThisProcess:
    """This hub process as its row names it."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    host: str = field(default_factory=lambda: socket.gethostname()[:255])
    pid: int = field(default_factory=os.getpid)
    version: str = field(default_factory=_version)

    def row(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "version": self.version,
            "started_at": now,
            "seen_at": now,
        }


def arrive(process: ThisProcess) -> Any:
    """Op: insert this process's row, and forget processes long gone."""

    def op(conn: Connection, batch: Batch) -> None:
        conn.execute(_FORGET, {"b_before": batch.now - FORGET_AFTER})
        conn.execute(_INSERT, process.row(batch.now))

    return op


def beat(process: ThisProcess) -> Any:
    """Op: refresh this process's ``seen_at`` (its row again if it was forgotten meanwhile,
    after a pause longer than :data:`FORGET_AFTER`), and forget processes long gone."""

    def op(conn: Connection, batch: Batch) -> None:
        conn.execute(_FORGET, {"b_before": batch.now - FORGET_AFTER})
        if conn.execute(_BEAT, {"b_id": process.id, "b_now": batch.now}).rowcount == 0:
            conn.execute(_INSERT, process.row(batch.now))

    return op


def leave(process: ThisProcess) -> Any:
    """Op: delete this process's row (a graceful stop)."""

    def op(conn: Connection, batch: Batch) -> None:
        conn.execute(_GONE, {"b_id": process.id})

    return op


def _reason(exc: Exception) -> str:
    return exc.code if isinstance(exc, CoordinatorError) else type(exc).__name__


async def beat_forever(committer: Committer, process: ThisProcess) -> None:
    """The heartbeat task: a beat every :data:`BEAT_SECONDS` until cancelled."""
    while True:
        await asyncio.sleep(BEAT_SECONDS)
        try:
            await committer.write(beat(process))
        except (CoordinatorError, SQLAlchemyError) as exc:
            log.warning("heartbeat failed (%s); trying again later", _reason(exc))


async def heartbeat_ctx(app: web.Application) -> AsyncIterator[None]:
    """The process's row and its heartbeat task (after the committer, which writes them)."""
    committer = app[COMMITTER]
    process = ThisProcess()
    await committer.write(arrive(process))
    async with owned(beat_forever(committer, process), name="samspil-heartbeat"):
        yield
    try:
        await committer.write(leave(process))
    except (CoordinatorError, SQLAlchemyError) as exc:  # the row ages out instead
        log.warning("could not remove this process's heartbeat row (%s)", _reason(exc))
