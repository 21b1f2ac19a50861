"""The committer's lean writer on a SQLite file: the hub's hot-path writes on the event loop.

The writes of a group run on a ``pysqlite`` connection of the writer's own, on the event
loop: with the write lock taken by ``BEGIN IMMEDIATE`` (retried without blocking while
another process holds it) the statements neither wait for a lock nor touch the disk. Only
``COMMIT``, the fsync, runs in the writer's thread, and the loop serves requests meanwhile.
A :class:`Checkpointer` copies the write-ahead log back beside the commits.
(:meth:`coordinator.database.backend.SqliteBackend.lean_writer`; PostgreSQL has none.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITER_CACHE_KIB = 16 * 1024
"""The writer connection's page cache (KiB). A group's writes dirty index pages all over the
file (UUID keys); with the 512 KiB of the other connections
(:data:`~coordinator.database.engine.SQLITE_CACHE_KIB`) SQLite spilled dirty pages into the
log before the commit and read evicted ones back, in the middle of the group's transaction:
about a quarter of the hub's CPU in a full cycle. One connection, so bounded at 16 MiB."""
LOCK_WAIT_SECONDS = 10.0
"""How long a SQLite write waits for another process (``samspil org add``) to let go."""


class LeanWriter:
    """One writer connection on ``engine`` (a ``pysqlite`` engine the writer owns)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="samspil-commit")
        self._checkpointer = Checkpointer(engine)

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
            self._conn.exec_driver_sql("PRAGMA busy_timeout=0")  # never wait on the loop
            self._conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's
            self._conn.exec_driver_sql(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
            self._conn.commit()
        return self._conn

    async def transaction(self, work: Callable[[Connection], T], then: Callable[[T], None]) -> T:
        """``work(conn)`` in one transaction, committed; ``then(result)`` runs on the loop as
        soon as the commit has returned, before the caller resumes. Rolled back if anything
        fails (the caller's exception is raised)."""
        conn = self._connection()
        await _begin(conn)
        try:
            done = work(conn)
            # the fsync, off the loop
            await self._in_thread(conn.commit, lambda: then(done))
            self._checkpointer.maybe_start()
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        return done

    async def _in_thread(
        self, fn: Callable[[], Any], then: Callable[[], None] | None = None
    ) -> None:
        """``fn()`` in the writer's thread; waits for it even when cancelled.

        ``then()``, if given, runs on the loop in the very callback that learns ``fn``
        returned: one hop from the thread, not the three of a future chained to the
        executor's, shielded, and the task resumed (each hop waits for everything the loop
        has queued, a millisecond or more under load).
        """
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if error is None and then is not None:
                then()
            if finished.done():
                return
            if error is None:
                finished.set_result(None)
            else:
                finished.set_exception(error)

        def work() -> None:
            try:
                fn()
            except BaseException as exc:  # handed to the loop, raised there
                loop.call_soon_threadsafe(settle, exc)
            else:
                loop.call_soon_threadsafe(settle, None)

        self._thread.submit(work)
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await finished
            raise

    def close(self) -> None:
        """Stop the threads and close the connections."""
        self._thread.shutdown(wait=True)
        self._checkpointer.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._engine.dispose()


async def _begin(conn: Connection) -> None:
    """``BEGIN IMMEDIATE``: the write lock, at once in the usual case (the hub's writes all
    come through here); while another process holds it, the loop is given back and the
    lock asked for again, for up to :data:`LOCK_WAIT_SECONDS`."""
    waited = 0.0
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            conn.rollback()
            if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                raise
            if waited >= LOCK_WAIT_SECONDS:
                raise
        pause = min(0.001 + waited / 10, 0.05)
        await asyncio.sleep(pause)
        waited += pause


class Checkpointer:
    """Copies SQLite's write-ahead log back into the database, beside the commits.

    SQLite checkpoints on the committing connection by default: every thousand pages or so a
    commit also writes those pages into the database file and fsyncs it, and the requests of
    that group wait tens of milliseconds longer. The committer's writer turns that off; this
    runs ``PRAGMA wal_checkpoint(PASSIVE)`` (which never blocks the writer or a reader) on a
    connection and thread of its own, at most every :attr:`INTERVAL` seconds while the hub
    writes, so the log stays short.
    """

    INTERVAL = 2.0
    """Each checkpoint's fsync of the database file slows the commits that meet it (on a
    shared disk up to ~15 ms): fewer of them, each copying more, keep the long-polls' p99
    down (submit -> waiting long-poll at 2,200 msgs/s, back to back: every 0.5 s p99
    13-45 ms, every 2 s 8-30 ms). The log then holds up to ~2 s of writes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="samspil-checkpoint")
        self._running = False
        self._last = time.monotonic()

    def maybe_start(self) -> None:
        now = time.monotonic()
        if self._running or now - self._last < self.INTERVAL:
            return
        self._running = True
        self._last = now
        self._thread.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
            self._conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            self._conn.rollback()
        except SQLAlchemyError as exc:  # the next one will try again
            log.warning("WAL checkpoint failed: %s", type(exc).__name__)
        finally:
            self._running = False

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
