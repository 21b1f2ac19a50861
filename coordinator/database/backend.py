"""The one seam between SQLite and PostgreSQL: a :class:`Backend` per engine kind.

Like a SQLAlchemy dialect, each kind implements the same :class:`Backend` protocol, and
nothing outside :mod:`coordinator.database` asks which engine it runs on. What differs:

=====================  =======================================  ==============================
                       :class:`SqliteBackend`                   :class:`PostgresBackend`
=====================  =======================================  ==============================
insert-ignore, upsert  ``sqlite.insert(...).on_conflict_*``     ``postgresql.insert(...)...``
row locks              none: the committer holds the write      ``FOR UPDATE [SKIP LOCKED]``
                       lock (``BEGIN IMMEDIATE``)
notify (on commit)     nothing: one process wakes its own       ``pg_notify`` in the
                       long-polls; revocations by marker file   transaction; :meth:`listen`
reads                  :class:`~.reader.LoopReader` on the      :class:`~.reader.PooledReader`
                       event loop (a file; in memory: pooled)   (asyncpg, autocommit)
the committer's        a ``pysqlite`` writer (:meth:`lean_       none: every write on one
hot-path writes        writer`); its async ops on a pooled      asyncpg connection the
                       aiosqlite connection                     committer keeps (:class:`Kept`)
=====================  =======================================  ==============================

:func:`create_backend` builds one at start-up (the app holds it under
:data:`coordinator.state.BACKEND`); :func:`kind_of` gives the kind of a connection, for the
statements of :mod:`coordinator.database.statements`, which are built once per kind.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from sqlalchemy import Select, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.database.engine import create_engine, plain_postgres_dsn, sqlite_sync_engine
from coordinator.database.reader import LoopReader, PooledReader, Reader
from coordinator.database.writer import LeanWriter

if TYPE_CHECKING:
    from coordinator.mailbox.notifier import Notifier
    from coordinator.security.auth import TokenVerifier

S = TypeVar("S", bound=Select[Any])

_PG_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
_COMMIT_ORDER = text("SELECT pg_advisory_xact_lock(5367363001)")  # "SAMS" and 1: the change log


class Connections(Protocol):
    """Where the committer's asynchronous writes get their connection."""

    def connection(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

    async def close(self) -> None: ...


class Backend(Protocol):
    """What the hub needs of a database engine (one implementation per kind)."""

    name: ClassVar[str]
    alters_by_copy: ClassVar[bool]
    """Whether migrations change a table by copying it (Alembic's batch mode: SQLite)."""
    engine: AsyncEngine

    @staticmethod
    def insert(table: Table) -> Any:
        """An INSERT into ``table`` that takes ``on_conflict_do_nothing`` and
        ``on_conflict_do_update`` (the engine's own ``insert``)."""
        ...

    @staticmethod
    def insert_ignore(table: Table, index_elements: Sequence[str]) -> Any:
        """``INSERT ... ON CONFLICT (index_elements) DO NOTHING``."""
        ...

    @staticmethod
    def lock(statement: S, *, skip_locked: bool = False) -> S:
        """``statement`` with its rows locked until the transaction ends, where the engine
        locks rows (``skip_locked``: leave out rows another transaction holds)."""
        ...

    @staticmethod
    def in_commit_order() -> Any:
        """A statement that makes the rest of the transaction wait for every other
        transaction that ran it to end, or None where transactions never overlap: run it
        before taking numbers from a sequence that readers follow as a cursor (the index's
        change log), so numbers become visible in the order they were taken."""
        ...

    @staticmethod
    async def notify(conn: AsyncConnection, channel: str, payloads: Iterable[str]) -> None:
        """Tell every hub process on this database, when ``conn``'s transaction commits."""
        ...

    def reader(self) -> Reader:
        """The read path (the caller owns it: :meth:`Reader.close`)."""
        ...

    def lean_writer(self) -> LeanWriter | None:
        """The committer's hot-path writer on the loop, or None (the caller closes it)."""
        ...

    def write_connections(self) -> Connections:
        """Connections for the committer's asynchronous writes (the caller closes them)."""
        ...

    def listen(
        self, notifier: Notifier, verifier: TokenVerifier
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """While open: relay other processes' notifications (inbox wake-ups into
        ``notifier``, revocations into ``verifier``)."""
        ...

    async def dispose(self) -> None: ...


class Pooled:
    """A pooled connection for each transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def connection(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return self._engine.connect()

    async def close(self) -> None:
        return None


class Kept:
    """One connection kept between transactions (no pool checkout and return per group);
    dropped after a failure that left it unusable, and opened again for the next one."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
            conn = self._conn = await self._engine.connect()
        try:
            yield conn
        except BaseException:
            if conn.invalidated or conn.in_transaction():
                with contextlib.suppress(Exception):
                    await conn.close()
                self._conn = None
            raise

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None


class SqliteBackend:
    """SQLite (a file, or memory for tests), through aiosqlite and, on the hot path,
    ``pysqlite`` (:func:`~coordinator.database.engine.sqlite_sync_engine`)."""

    name: ClassVar[str] = "sqlite"
    alters_by_copy: ClassVar[bool] = True

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @staticmethod
    def insert(table: Table) -> Any:
        return sqlite.insert(table)

    @staticmethod
    def insert_ignore(table: Table, index_elements: Sequence[str]) -> Any:
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))

    @staticmethod
    def lock(statement: S, *, skip_locked: bool = False) -> S:
        return statement  # the committer's BEGIN IMMEDIATE holds the database's write lock

    @staticmethod
    def in_commit_order() -> Any:
        return None  # one writer at a time (BEGIN IMMEDIATE): commits are in number order

    @staticmethod
    async def notify(conn: AsyncConnection, channel: str, payloads: Iterable[str]) -> None:
        return (
            None  # one process per file wakes its own; revocations: coordinator.security.revocation
        )

    def reader(self) -> Reader:
        sync = sqlite_sync_engine(self.engine)
        return LoopReader(sync) if sync is not None else PooledReader(self.engine)

    def lean_writer(self) -> LeanWriter | None:
        sync = sqlite_sync_engine(self.engine)
        return LeanWriter(sync) if sync is not None else None

    def write_connections(self) -> Connections:
        return Pooled(self.engine)

    def listen(
        self, notifier: Notifier, verifier: TokenVerifier
    ) -> contextlib.AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()

    async def dispose(self) -> None:
        await self.engine.dispose()


class PostgresBackend:
    """PostgreSQL through asyncpg; LISTEN/NOTIFY between hub processes."""

    name: ClassVar[str] = "postgresql"
    alters_by_copy: ClassVar[bool] = False

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dsn = plain_postgres_dsn(engine.url)

    @staticmethod
    def insert(table: Table) -> Any:
        return postgresql.insert(table)

    @staticmethod
    def insert_ignore(table: Table, index_elements: Sequence[str]) -> Any:
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))

    @staticmethod
    def lock(statement: S, *, skip_locked: bool = False) -> S:
        return statement.with_for_update(skip_locked=skip_locked)

    @staticmethod
    def in_commit_order() -> Any:
        # a transaction-scoped advisory lock, held to the commit: two hub processes' groups
        # take change numbers one after the other, so a reader never sees number n+1
        # committed while n is still to come
        return _COMMIT_ORDER

    @staticmethod
    async def notify(conn: AsyncConnection, channel: str, payloads: Iterable[str]) -> None:
        for payload in payloads:
            await conn.execute(_PG_NOTIFY, {"channel": channel, "payload": payload})

    def reader(self) -> Reader:
        return PooledReader(self.engine)

    def lean_writer(self) -> LeanWriter | None:
        return None

    def write_connections(self) -> Connections:
        return Kept(self.engine)

    @contextlib.asynccontextmanager
    async def listen(self, notifier: Notifier, verifier: TokenVerifier) -> AsyncIterator[None]:
        from coordinator.mailbox import notifier as inbox
        from coordinator.security import revocation

        async with inbox.listen(self._dsn, notifier), revocation.listen(self._dsn, verifier):
            yield

    async def dispose(self) -> None:
        await self.engine.dispose()


_KINDS: dict[str, type[SqliteBackend] | type[PostgresBackend]] = {
    SqliteBackend.name: SqliteBackend,
    PostgresBackend.name: PostgresBackend,
}


def kind_of(
    bind: Connection | AsyncConnection | AsyncEngine,
) -> type[SqliteBackend] | type[PostgresBackend]:
    """The backend kind ``bind`` runs on (its statements: insert, lock, notify)."""
    return _KINDS[bind.dialect.name]


def create_backend(url: str) -> SqliteBackend | PostgresBackend:
    """The backend for ``url`` (already resolved by the settings), with its engine; nothing
    is connected until it is used. The caller disposes of it."""
    engine = create_engine(url)
    return _KINDS[engine.dialect.name](engine)


__all__ = [
    "Backend",
    "Connections",
    "Kept",
    "Pooled",
    "PostgresBackend",
    "SqliteBackend",
    "create_backend",
    "kind_of",
]
