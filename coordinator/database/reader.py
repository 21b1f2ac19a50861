"""Reads on the hub's hot path: one call per request, whatever the database.

A read is a synchronous function of a SQLAlchemy :class:`~sqlalchemy.engine.Connection`
(``fn(conn, *args)``); the backend (:mod:`coordinator.database.backend`) picks the reader
that runs it:

* :class:`LoopReader` (a SQLite file) runs it on the event loop, on a connection of its own.
  A read of the hub's tables is an index lookup that takes microseconds: less than handing it
  to a thread and back, and far less than aiosqlite's round trip per call. WAL readers do not
  wait for the writer; should SQLite still answer "busy" (a checkpoint resetting the log,
  another process recovering it), the read gives the loop back and is tried again, so it
  never blocks the loop. The connection runs in autocommit mode, each statement its own
  snapshot: a read of several statements may see a commit land between two of them
  (harmless for the hub's reads). No ``BEGIN`` is ever sent on it, so SQLAlchemy's
  transaction on it is bookkeeping only: begun by the first read and never ended (ending it
  after every read cost a third of a read). A read must consume what it selects (``.all()``,
  ``.first()``, ``.scalar()``): an open cursor would hold its snapshot;
* :class:`PooledReader` (PostgreSQL, or SQLite in memory) runs it with
  ``AsyncConnection.run_sync``, on a pooled connection in autocommit mode: no ``BEGIN`` and
  ``ROLLBACK`` round trips around a read (under PostgreSQL's READ COMMITTED each statement
  reads a snapshot of its own anyway).

SQLAlchemy's errors are translated to :class:`~coordinator.errors.StoreError` here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.errors import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_RETRIES = 50


def _busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


def _unavailable(exc: SQLAlchemyError) -> NoReturn:
    log.error("a read failed in the database: %s", type(exc).__name__)
    raise StoreError(f"the message store is unavailable ({type(exc).__name__}); try again") from exc


class Reader:
    """Runs reads: ``await reader(fn, *args)`` is ``fn(conn, *args)``'s result. The app owns
    it (:meth:`close` at shutdown)."""

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    def close(self) -> None:
        """Close what the reader holds."""


class LoopReader(Reader):
    """Reads on the event loop, on a synchronous SQLite connection of its own."""

    def __init__(self, engine: Engine) -> None:
        self._sync = engine
        self._conn: Connection | None = engine.connect()
        self._conn.exec_driver_sql("PRAGMA busy_timeout=0")  # never wait on the loop
        self._conn.rollback()

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        conn = self._conn
        if conn is None:
            raise StoreError("the message store is closed")
        try:
            for attempt in range(BUSY_RETRIES):
                try:
                    return fn(conn, *args)
                except OperationalError as exc:
                    if not _busy(exc):
                        raise
                    await asyncio.sleep(0.001 * (attempt + 1))
            raise StoreError("the message store stayed busy; try again")
        except SQLAlchemyError as exc:
            _unavailable(exc)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._sync.dispose()


class PooledReader(Reader):
    """Reads on pooled connections of the async engine, in autocommit mode."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn`` on a pooled connection; once more on a fresh one when the first had died
        (the server restarted since it was last used: the pool does not ping)."""
        try:
            try:
                async with self._engine.connect() as conn:
                    return await conn.run_sync(fn, *args)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            async with self._engine.connect() as conn:
                return await conn.run_sync(fn, *args)
        except SQLAlchemyError as exc:
            _unavailable(exc)
