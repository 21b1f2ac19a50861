"""The adapter's own SQLite file: one connection, used from one worker thread.

Every adapter keeps its durable state in one SQLite file (WAL, ``synchronous=FULL``): the
outbox (:mod:`adapters.outbox`), the ids of incoming messages already handed to the sector
system, and small facts it must remember between messages (when a case was opened, which
hub consent id a local consent reference got, the partner-events feed's cursor:
:mod:`adapters.partner_events`). :class:`LocalDb` runs every statement on a
single thread, so the event loop never blocks on the disk and SQLite never sees two threads.

The file's schema has a version (SQLite's ``user_version``). A new file gets the current
:data:`SCHEMA`; a file an older adapter wrote is upgraded in place on opening, one step of
:data:`MIGRATIONS` per version, each in one transaction (a step that fails leaves the file as
it was). A file from a newer adapter is refused rather than misread.

=======  ====================================================================================
version  what changed
=======  ====================================================================================
0        the first outbox: an item's dependencies written into its ``origin``
1        ``outbox.depends_on`` and ``outbox.ref``: what an item depends on, in columns of its
         own (see :class:`adapters.outbox.Request`); a consent revocation's ``path`` no
         longer ends with the ``/`` that meant "the hub's id goes here"
2        ``hl7_control_ids``: per sending facility and ``MSH-10``, a digest of the HL7
         message's content, to tell a resend from a reused control id
         (:mod:`adapters.hl7feed`); written in the outbox's transaction with the message's
         items (:class:`adapters.outbox.ControlIdClaim`)
=======  ====================================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from adapters.errors import OutboxError

__all__ = ["KnownControlId", "LocalDb"]

T = TypeVar("T")

CACHE_KIB = 128
"""The connection's page cache (KiB)."""

_OUTBOX = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,           -- idempotency key: the same key is stored once
    order_key TEXT NOT NULL,            -- items with the same order key are sent in order
    kind TEXT NOT NULL,                 -- adapters.outbox.ItemKind: message | case | ...
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
    result TEXT,                        -- the hub's JSON answer when sent
    depends_on TEXT,                    -- key of the earlier item this one follows
    ref TEXT                            -- the sector system's ref (a consent's), for hub ids
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

HL7_CONTROL_IDS = """
CREATE TABLE IF NOT EXISTS hl7_control_ids (
    key TEXT PRIMARY KEY,               -- hl7:<sending facility>:<MSH-10>
    digest TEXT NOT NULL,               -- SHA-256 of the message's content, MSH-7 left out
    at REAL NOT NULL                    -- when it was claimed (pruned with the outbox's
                                        -- sent items, after keep_sent)
);
CREATE INDEX IF NOT EXISTS ix_hl7_control_ids_at ON hl7_control_ids (at);
"""


def _hl7_control_ids(conn: sqlite3.Connection) -> None:
    """A digest per HL7 control id (table ``hl7_control_ids``). Messages stored before the
    upgrade have none: the first message with such a control id records its own."""
    for statement in HL7_CONTROL_IDS.split(";"):
        if statement.strip():
            conn.execute(statement)


SCHEMA = _OUTBOX + HL7_CONTROL_IDS
"""The current schema, for a new file (and the tables an upgraded file may lack)."""


def _dependency_columns(conn: sqlite3.Connection) -> None:
    """Version 1: the dependencies that version 0 wrote into ``origin`` get columns.

    * a referral's case (``origin`` ``referral:<letter key>``) → ``depends_on`` = the key;
    * a consent and a consent revocation (``origin`` ending ``:<ref>``) → ``ref``, read as
      version 0 read it (after the last colon); a revocation's ``path`` loses its trailing
      ``/`` (version 0 appended the hub's id to it; version 1 appends ``/`` and the id).
    """
    conn.execute("ALTER TABLE outbox ADD COLUMN depends_on TEXT")
    conn.execute("ALTER TABLE outbox ADD COLUMN ref TEXT")
    rows = conn.execute(
        "SELECT id, kind, origin, path FROM outbox "
        "WHERE kind IN ('case', 'consent', 'consent-revoke')"
    ).fetchall()
    for item_id, kind, origin, path in rows:
        if kind == "case" and origin.startswith("referral:"):
            conn.execute(
                "UPDATE outbox SET depends_on = ? WHERE id = ?",
                (origin.removeprefix("referral:"), item_id),
            )
        elif kind == "consent":
            conn.execute(
                "UPDATE outbox SET ref = ? WHERE id = ?", (origin.rsplit(":", 1)[-1], item_id)
            )
        elif kind == "consent-revoke" and path.endswith("/"):
            conn.execute(
                "UPDATE outbox SET ref = ?, path = ? WHERE id = ?",
                (origin.rsplit(":", 1)[-1], path.removesuffix("/"), item_id),
            )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _dependency_columns,
    _hl7_control_ids,
)
"""Step ``n`` (from 0) upgrades a file of version ``n`` to version ``n + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)


class LocalDb:
    """One SQLite file, one connection, one thread. Open with :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adapter-db")
        self._conn: sqlite3.Connection | None = None
        self._held: dict[str, asyncio.Event] = {}  # control ids in flight (hold_control_id)
        self._queue: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._busy = False  # a group of work is on the thread (run)

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
            _upgrade(conn)
            conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise OutboxError(f"the adapter's database cannot be opened: {exc}") from exc
        except OutboxError:
            conn.close()
            raise
        self._conn = conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(connection)`` on the database thread; sqlite3 errors become
        :class:`OutboxError`.

        Work asked for while other work is on the thread goes there next as one group, in
        the order asked, each its own call with its own result: one hop to the thread and
        one back for the group (a message's control id look-up, the outbox's group commit,
        the settles of what was sent), not one each."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((work, future))
        if not self._busy:
            self._next_group(loop)
        return await future

    def _next_group(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand everything queued (and not cancelled meanwhile) to the thread, as one group."""
        group = [(work, future) for work, future in self._queue if not future.done()]
        self._queue = []
        self._busy = bool(group)
        if not group:
            return

        def settle(results: list[tuple[bool, Any]]) -> None:
            for (_, future), (ok, value) in zip(group, results, strict=True):
                if future.done():  # its caller was cancelled
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
            self._next_group(loop)

        def in_thread() -> None:
            results: list[tuple[bool, Any]] = []
            for work, future in group:
                if future.cancelled():  # as an executor skips what was cancelled before it ran
                    results.append((False, asyncio.CancelledError()))
                    continue
                try:
                    results.append((True, self._call(work)))
                except BaseException as exc:  # handed to its caller on the loop
                    results.append((False, exc))
            loop.call_soon_threadsafe(settle, results)

        self._executor.submit(in_thread)

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

        try:
            if self._conn is not None:
                await self.run(shut)
        finally:
            self._conn = None
            self._executor.shutdown(wait=True)

    async def schema_version(self) -> int:
        """The file's schema version (:data:`SCHEMA_VERSION` once open)."""

        def get(conn: sqlite3.Connection) -> int:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

        return await self.run(get)

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

    async def recall_prefix(self, prefix: str) -> dict[str, str]:
        """Every fact whose name starts with ``prefix``."""

        def get(conn: sqlite3.Connection) -> dict[str, str]:
            rows = conn.execute(  # a range on the primary key: every name after the prefix
                "SELECT name, value FROM memo WHERE name >= ? AND name < ?",
                (prefix, prefix + "\U0010ffff"),
            )
            return {str(name): str(value) for name, value in rows}

        return await self.run(get)

    async def forget(self, name: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM memo WHERE name = ?", (name,))

        await self.run(delete)

    # --- HL7 control ids --------------------------------------------------------------------

    async def control_id_digest(self, key: str, *, item_key: str) -> KnownControlId | None:
        """What is known of the control id ``key`` (sending facility and ``MSH-10``): the
        digest it was claimed with and the id of the outbox item stored under ``item_key``
        (the message's first), or None when it was never claimed. Read only: the claim is
        written, and decided again, in the transaction that stores the message's items
        (:meth:`adapters.outbox.Outbox.put_many`). Hold the key (:meth:`hold_control_id`)
        from this look-up until that transaction is over."""

        def get(conn: sqlite3.Connection) -> KnownControlId | None:
            row = conn.execute(
                "SELECT digest, (SELECT id FROM outbox WHERE key = ?) "
                "FROM hl7_control_ids WHERE key = ?",
                (item_key, key),
            ).fetchone()
            return None if row is None else KnownControlId(str(row[0]), row[1])

        return await self.run(get)

    @contextlib.asynccontextmanager
    async def hold_control_id(self, key: str) -> AsyncIterator[None]:
        """Hold the control id ``key`` in this process: a second message with the same key
        waits here until the first one's look-up, mapping and storing are over, so it finds
        the first one's claim (a resend, answered without mapping) instead of mapping itself
        alongside it. The transaction stays the authority; this only saves the work."""
        while (busy := self._held.get(key)) is not None:
            await busy.wait()
        done = asyncio.Event()
        self._held[key] = done
        try:
            yield
        finally:
            del self._held[key]
            done.set()


@dataclass(frozen=True, slots=True)
class KnownControlId:
    """A claimed HL7 control id: the content digest it was claimed with, and the outbox id
    of the message's first item (None: the claim was stored alone — a message answered
    ``AR`` ``credential-refused`` — or its items were pruned)."""

    digest: str
    item_id: int | None


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring the file to :data:`SCHEMA_VERSION`: a new file is stamped with it, an older one
    migrated step by step (each step one transaction). Raises OutboxError for a newer one."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise OutboxError(
            f"the adapter's database has schema version {version}; this adapter knows "
            f"{SCHEMA_VERSION} at most (was it opened by a newer adapter?)",
            code="outbox-schema-newer",
        )
    existing = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'"
    ).fetchone()
    if existing is None:  # a new file: the current schema, stamped, in one transaction
        conn.executescript(
            f"BEGIN IMMEDIATE; {SCHEMA}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )
        return
    for step in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if int(conn.execute("PRAGMA user_version").fetchone()[0]) != step:
                conn.execute("ROLLBACK")  # another connection took this step meanwhile
                continue
            MIGRATIONS[step](conn)
            conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
