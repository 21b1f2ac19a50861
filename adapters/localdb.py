"""The adapter's own SQLite file: one connection, used from one worker thread.

Every adapter keeps its durable state in one SQLite file (WAL, ``synchronous=FULL``): the
outbox (:mod:`adapters.outbox`), the ids of incoming messages already handed to the sector
system, and small facts it must remember between messages (when a case was opened, which
hub consent id a local consent reference got). :class:`LocalDb` runs every statement on a
single thread, so the event loop never blocks on the disk and SQLite never sees two threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from adapters.errors import OutboxError

__all__ = ["LocalDb"]

T = TypeVar("T")

CACHE_KIB = 128
"""The connection's page cache (KiB)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,           -- idempotency key: the same key is stored once
    order_key TEXT NOT NULL,            -- items with the same order key are sent in order
    kind TEXT NOT NULL,                 -- message | case | appointment | consent | ...
    origin TEXT NOT NULL DEFAULT '',    -- where it came from (mllp, file name, event id)
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    content_type TEXT,
    body BLOB,                          -- emptied once sent: no letter lingers here
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    settled_at REAL,
    code TEXT,                          -- the hub's problem code when refused / last failure
    detail TEXT,
    result TEXT                         -- the hub's JSON answer when sent
);
CREATE INDEX IF NOT EXISTS ix_outbox_state ON outbox (state, id);
CREATE TABLE IF NOT EXISTS delivered (
    message_id TEXT PRIMARY KEY,        -- a hub message id already handed to the system
    at REAL NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS memo (
    name TEXT PRIMARY KEY,              -- e.g. case-opened:<ref>, consent:<local ref>
    value TEXT NOT NULL
);
"""


class LocalDb:
    """One SQLite file, one connection, one thread. Open with :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adapter-db")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> LocalDb:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connect)
        return self

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # the outbox's working set is its newest pages; SQLite's default 2 MiB page cache
        # only fills as the file grows (sent items stay until the hourly pruning), which
        # looked like a leak in a process running the region's 26 adapters
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        try:
            conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise OutboxError(f"the adapter's database cannot be opened: {exc}") from exc
        self._conn = conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(connection)`` on the database thread; sqlite3 errors become
        :class:`OutboxError`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, work)

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise OutboxError("the adapter's database is not open")
        try:
            return work(self._conn)
        except sqlite3.Error as exc:
            raise OutboxError(f"the adapter's database failed: {exc}") from exc

    async def close(self) -> None:
        def shut(conn: sqlite3.Connection) -> None:
            conn.close()

        if self._conn is not None:
            await self.run(shut)
            self._conn = None
        self._executor.shutdown(wait=True)

    # --- small facts ------------------------------------------------------------------------

    async def remember(self, name: str, value: str) -> None:
        def put(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO memo (name, value) VALUES (?, ?)", (name, value))

        await self.run(put)

    async def recall(self, name: str) -> str | None:
        def get(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM memo WHERE name = ?", (name,)).fetchone()
            return None if row is None else str(row[0])

        return await self.run(get)
