"""The engines: one async engine per hub process, on SQLite or PostgreSQL, and migrations.

Durability choice for SQLite: WAL journal with ``synchronous=FULL``. In WAL mode ``NORMAL``
may lose the last transactions on power loss; the hub answers 202 only after a commit, so a
202 must survive power loss, hence ``FULL``. Its cost (one fsync per commit) is paid once per
*group* of messages by :class:`coordinator.database.committer.Committer`.

PostgreSQL runs through asyncpg; ``postgresql://`` URLs are normalised to
``postgresql+asyncpg://``. Migrations take an advisory lock, so several hub processes can start
at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from coordinator.errors import ConfigError, StoreError, store_error

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_LOCK = 0x53414D53  # "SAMS": the advisory lock migrations take on PostgreSQL
SQLITE_CACHE_KIB = 512
"""Each SQLite connection's page cache (KiB; SQLite's default is 2 MiB). A hub process holds
up to 19 connections, each cache filling as the file grows, and the operating system caches
the file anyway: bounded small, the caches are full within minutes instead of growing for
an hour."""


def normalise_url(url: str) -> URL:
    """An async SQLAlchemy URL: ``postgresql://`` → asyncpg, ``sqlite://`` → aiosqlite."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"the database URL cannot be read: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ConfigError(f"Samspil runs on SQLite or PostgreSQL, not {backend!r}")


def plain_postgres_dsn(url: URL) -> str:
    """The libpq-style DSN of a PostgreSQL URL (for asyncpg's own LISTEN connection)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA busy_timeout=10000",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}",
    ):
        cursor.execute(pragma)
    cursor.close()
    # SQLite's own lower() folds A-Z only: a search for "SKOLEVÆGRING" would miss
    # "Skolevægring". Python's folds every letter, as PostgreSQL's does.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def create_engine(url: str) -> AsyncEngine:
    """The engine for ``url`` (already resolved by the settings)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        # aiosqlite logs every statement with its parameters (CPR numbers, letters) at DEBUG
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, pool_size=8, max_overflow=8, pool_timeout=30)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pool_pre_ping: on asyncpg it costs up to three round trips on every checkout (BEGIN,
    # ping, ROLLBACK). A connection that died with the server fails its first statement
    # instead, and SQLAlchemy then drops every pooled connection older than that: the Reader
    # tries a read once more on a fresh one, the Committer retries a failed group's writes
    # one by one, and a lone write that met the dead connection is answered 503
    # database-unavailable with Retry-After (once per process and restart).
    return create_async_engine(
        parsed,
        pool_size=10,
        max_overflow=20,
        pool_timeout=30,
        connect_args={"async_creator_fn": _connect_postgres},
    )


async def _connect_postgres(*args: Any, **kwargs: Any) -> Any:
    """asyncpg's connect, with a refused or reset socket made a DBAPI error: SQLAlchemy
    wraps only those (as ``OperationalError``), and every store module translates
    SQLAlchemy's errors into ``StoreError`` (503 ``database-unavailable``). Without this a
    connection attempt while PostgreSQL restarts escaped as a bare ``OSError`` (a 500)."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except (OSError, TimeoutError) as exc:
        raise AsyncAdapt_asyncpg_dbapi.OperationalError(  # type: ignore[no-untyped-call]
            f"cannot connect to PostgreSQL: {type(exc).__name__}"
        ) from exc


@contextlib.asynccontextmanager
async def guarded(
    engine: AsyncEngine, what: str = "the message store", *, write: bool = True
) -> AsyncIterator[AsyncConnection]:
    """A connection to ``engine`` for the ``async with`` block, in a transaction committed at
    its end when ``write`` (else without one); a SQLAlchemy error in the block is raised as
    the :class:`StoreError` naming ``what`` (:func:`~coordinator.errors.store_error`)."""
    try:
        async with engine.begin() if write else engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise store_error(exc, what) from exc


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def sqlite_sync_engine(engine: AsyncEngine) -> Engine | None:
    """A synchronous (``pysqlite``) engine on ``engine``'s SQLite file, or None (PostgreSQL,
    or an in-memory database, which another engine could not see).

    The hub's hot path uses it for what aiosqlite makes slow: aiosqlite hands every call
    (execute, fetch, close, rollback) to its thread and back, a round trip through a busy
    event loop each. Connections from this engine run in SQLite's autocommit mode and never
    send a ``BEGIN`` of their own: a caller that wants a transaction sends it
    (``BEGIN IMMEDIATE`` for the committer's writer, which takes the write lock up front; the
    hot-path reader sends none, so its statements each read in a snapshot of their own). No
    engine-level event is listened for: with one, SQLAlchemy dispatches its execution events
    on every statement. Callers own the engine.
    """
    url = engine.url
    if sqlite_file(url) is None:
        return None
    sync = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"),
        pool_size=2,
        max_overflow=2,
        connect_args={"check_same_thread": False},
    )

    def connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN: the caller's own
        _sqlite_pragmas(dbapi_connection, record)

    event.listen(sync.pool, "connect", connect)  # a pool event: no execution events
    return sync


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    command.upgrade(_alembic_config(connection), "head")


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def migrate(engine: AsyncEngine) -> str | None:
    """Upgrade the schema to the newest revision; the revision it is at afterwards."""
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
        async with engine.connect() as conn:
            revision = await conn.run_sync(_current)
    except SQLAlchemyError as exc:
        raise StoreError(f"the database could not be migrated: {type(exc).__name__}") from exc
    log.info("database schema at revision %s", revision)
    return revision
