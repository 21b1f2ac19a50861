"""Reads on the hub's hot path: one call per request, whatever the database.

A read is a synchronous function of a SQLAlchemy :class:`~sqlalchemy.engine.Connection`
(``fn(conn, *args)``):

* on **SQLite** it runs on the event loop, on a connection of its own. A read of the hub's
  tables is an index lookup that takes microseconds: less than handing it to a thread and
  back, and far less than aiosqlite's round trip per call. WAL readers do not wait for the
  writer; should SQLite still answer "busy" (a checkpoint resetting the log, another process
  recovering it), the read gives the loop back and is tried again, so it never blocks the loop.
  The connection runs in autocommit mode, each statement its own snapshot: a read of several
  statements may see a commit land between two of them (harmless for the hub's reads). No
  ``BEGIN`` is ever sent on it, so SQLAlchemy's transaction on it is bookkeeping only: begun
  by the first read and never ended (ending it after every read cost a third of a read). A
  read must consume what it selects (``.all()``, ``.first()``, ``.scalar()``): an open
  cursor would hold its snapshot;
* on **PostgreSQL** it runs through asyncpg with ``AsyncConnection.run_sync``, on a pooled
  connection in autocommit mode: no ``BEGIN`` and ``ROLLBACK`` round trips around a read
  (under PostgreSQL's READ COMMITTED each statement reads a snapshot of its own anyway).

SQLAlchemy's errors are translated to :class:`~coordinator.errors.StoreError` here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import namedtuple
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.db import sqlite_sync_engine
from coordinator.errors import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_RETRIES = 50


def _busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


_REQUIRED = object()  # a parameter without a fixed value: the caller gives it


class Query:
    """A SELECT built once and run lean on SQLite.

    SQLAlchemy spends some 15 µs of Python on every execution (cache key, compiled-cache
    lookup, execution context, events, result metadata) around a lookup that SQLite answers
    in a few. On SQLite a :class:`Query` is compiled once, and :meth:`rows` runs its SQL on
    the DBAPI cursor with the same bind and result processing the column types define (so
    UUIDs, UTC times and booleans come back as through SQLAlchemy), as named tuples. On
    PostgreSQL it is an ordinary ``conn.execute``. Expanding (``IN``) parameters are not
    supported: such a statement stays with ``conn.execute``.
    """

    __slots__ = ("_plan", "statement")

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._plan: _Plan | None = None

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[Any]:
        """Every row for ``params``."""
        if conn.dialect.name != "sqlite":
            return list(conn.execute(self.statement, params).all())
        plan = self._plan
        if plan is None:
            plan = self._plan = _Plan.of(self.statement, conn.dialect)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(plan.sql, plan.binds(params))
            raw = cursor.fetchall()
        except plan.dbapi_errors as exc:  # as conn.execute would raise it
            raise DBAPIError.instance(plan.sql, None, exc, plan.dbapi_error) from exc
        finally:
            cursor.close()
        return [plan.row(raw_row) for raw_row in raw]

    def first(self, conn: Connection, params: dict[str, Any]) -> Any:
        """The first row for ``params``, or None."""
        found = self.rows(conn, params)
        return found[0] if found else None


class Write:
    """An INSERT or UPDATE built once and run lean on SQLite, the writes' :class:`Query`.

    On SQLite :meth:`many` runs the compiled SQL with ``executemany`` on the DBAPI cursor,
    binding each row through the column types' own processing; on PostgreSQL it is an
    ordinary ``conn.execute``. ``columns`` names the values an INSERT without ``.values()``
    takes. Expanding (``IN``) parameters and ``RETURNING`` are not supported.
    """

    __slots__ = ("_columns", "_plan", "statement")

    def __init__(self, statement: Any, columns: list[str] | None = None) -> None:
        self.statement = statement
        self._columns = columns
        self._plan: _Plan | None = None

    def many(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """The statement once per row of ``rows``; how many rows it changed in all (on
        PostgreSQL -1 when the driver does not say, as asyncpg does not for several rows)."""
        if conn.dialect.name != "sqlite":
            return int(conn.execute(self.statement, rows).rowcount)
        plan = self._plan
        if plan is None:
            plan = self._plan = _Plan.of(self.statement, conn.dialect, self._columns)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(plan.sql, [plan.binds(row) for row in rows])
            return int(cursor.rowcount)
        except plan.dbapi_errors as exc:  # as conn.execute would raise it
            raise DBAPIError.instance(plan.sql, None, exc, plan.dbapi_error) from exc
        finally:
            cursor.close()


class _Plan:
    """A :class:`Query` compiled for SQLite: its SQL, how to bind, how to read a row."""

    def __init__(
        self,
        sql: str,
        names: list[str],
        fixed: dict[str, Any],
        bind: dict[str, Any],
        result: list[Any],
        keys: list[str],
        dbapi_error: type[Exception],
    ) -> None:
        self.sql = sql
        # per parameter: its name, its type's processing, its fixed value (or _REQUIRED)
        self._steps = [(name, bind.get(name), fixed.get(name, _REQUIRED)) for name in names]
        # only the columns whose type converts the value (UUIDs, times, booleans)
        self._processed = [(i, process) for i, process in enumerate(result) if process]
        self._width = len(result)
        self._tuple: Any = namedtuple("Row", keys, rename=True)  # type: ignore[misc]
        self.dbapi_error = dbapi_error
        self.dbapi_errors: tuple[type[Exception], ...] = (dbapi_error,)

    @classmethod
    def of(cls, statement: Any, dialect: Any, columns: list[str] | None = None) -> _Plan:
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        names = list(compiled.positiontup or [])
        if any(b.expanding for b in compiled.binds.values()):
            raise TypeError("a Query cannot expand IN parameters; use conn.execute")
        fixed = {name: b.effective_value for name, b in compiled.binds.items() if not b.required}
        result: list[Any] = []
        keys = ["rowcount"]  # an INSERT or UPDATE: no rows come back
        if not statement.is_dml:
            selected = statement.selected_columns
            result = [column.type._cached_result_processor(dialect, None) for column in selected]
            keys = list(selected.keys())
        return cls(
            compiled.string,
            names,
            fixed,
            dict(compiled._bind_processors),
            result,
            keys,
            dialect.loaded_dbapi.Error,
        )

    def binds(self, params: dict[str, Any]) -> list[Any]:
        out = []
        for name, process, fixed in self._steps:
            value = params[name] if fixed is _REQUIRED else params.get(name, fixed)
            out.append(process(value) if process is not None and value is not None else value)
        return out

    def row(self, raw: tuple[Any, ...]) -> Any:
        if len(raw) != self._width:
            raise ValueError(f"a row of {len(raw)} values for {self._width} columns")
        if not self._processed:
            return self._tuple._make(raw)
        values = list(raw)
        for i, process in self._processed:
            value = values[i]
            if value is not None:
                values[i] = process(value)
        return self._tuple._make(values)


class Reader:
    """Runs reads; owns the SQLite read connection (:meth:`close` at shutdown)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sync = sqlite_sync_engine(engine)
        self._conn: Connection | None = None
        if self._sync is not None:
            self._conn = self._sync.connect()
            self._conn.exec_driver_sql("PRAGMA busy_timeout=0")  # never wait on the loop
            self._conn.rollback()

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)``; its result."""
        try:
            if self._conn is None:
                return await self._pooled(fn, *args)
            for attempt in range(BUSY_RETRIES):
                try:
                    return fn(self._conn, *args)
                except OperationalError as exc:
                    if not _busy(exc):
                        raise
                    await asyncio.sleep(0.001 * (attempt + 1))
            raise StoreError("the message store stayed busy; try again")
        except SQLAlchemyError as exc:
            log.error("a read failed in the database: %s", type(exc).__name__)
            raise StoreError(
                f"the message store is unavailable ({type(exc).__name__}); try again"
            ) from exc

    async def _pooled(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn`` on a pooled connection; once more on a fresh one when the first had died
        (the server restarted since it was last used: the pool does not ping)."""
        try:
            async with self._engine.connect() as conn:
                return await conn.run_sync(fn, *args)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        async with self._engine.connect() as conn:
            return await conn.run_sync(fn, *args)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._sync is not None:
            self._sync.dispose()
