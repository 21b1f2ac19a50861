"""Statements built once, each run the way its engine runs it best.

* :class:`Query` and :class:`Write`: a SELECT, an INSERT or UPDATE compiled once and run lean
  on SQLite (the compiled SQL straight on the DBAPI cursor), ``conn.execute`` on PostgreSQL;
* :class:`Lookup`: rows by key, for a group: one ``IN`` statement on PostgreSQL (its rows
  locked if asked), an index probe per key on SQLite;
* :class:`UpdateEach`: an UPDATE of rows by key, for a group: one ``IN`` statement per set
  of values on PostgreSQL, one ``executemany`` on SQLite;
* :class:`InsertIgnore`: ``INSERT ... ON CONFLICT DO NOTHING``, and which rows it inserted;
* :class:`ForEngine`: any statement that depends on the engine, built once per kind
  (:mod:`coordinator.database.backend`).

The lean path runs SQL through SQLAlchemy's private processors
(``TypeEngine._cached_result_processor``, ``SQLCompiler._bind_processors``): ``pyproject.toml``
pins SQLAlchemy to the release it is tested on, and tests/unit/test_lean_internals.py fails
loudly if they change; tests/functional/test_reader_query.py and test_reader_write.py check
that the rows read and the values stored are those of plain ``conn.execute``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, Table, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.database.backend import PostgresBackend, SqliteBackend, kind_of

T = TypeVar("T")

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


class ForEngine(Generic[T]):
    """A statement that depends on the engine, built once per engine kind by ``build``
    (given the backend kind: its ``insert``, ``insert_ignore``, ``lock``)."""

    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self._built: dict[str, T] = {}

    def of(self, bind: Connection | AsyncConnection | AsyncEngine) -> T:
        built = self._built.get(bind.dialect.name)
        if built is None:
            built = self._built[bind.dialect.name] = self._build(kind_of(bind))
        return built


class Lookup:
    """The rows of a SELECT for a group of keys (values of ``keys``' columns).

    On PostgreSQL one statement, ``WHERE k1 IN (...) AND k2 IN (...)`` (with two key columns
    it may return rows for combinations not asked for: callers match rows to what they
    asked), its rows locked ``FOR UPDATE`` in ``lock_order`` (one lock order for every
    process: no deadlock) when ``lock_order`` is given. On SQLite, where the committer holds
    the write lock, an index probe per key through a :class:`Query` compiled once (no
    statement to render per group as an expanding ``IN`` needs). Row order is not defined.
    """

    __slots__ = ("_batched", "_names", "_probe")

    def __init__(
        self, statement: Select[Any], keys: Sequence[Any], *, lock_order: Any = None
    ) -> None:
        self._names = [f"k_{i}" for i in range(len(keys))]
        self._probe = Query(
            statement.where(
                *(key == bindparam(n) for key, n in zip(keys, self._names, strict=True))
            )
        )
        batched = statement.where(
            *(
                key.in_(bindparam(n, expanding=True))
                for key, n in zip(keys, self._names, strict=True)
            )
        )
        if lock_order is not None:
            batched = PostgresBackend.lock(batched.order_by(lock_order))
        self._batched = batched

    def rows(self, conn: Connection, keys: Iterable[tuple[Any, ...]]) -> list[Any]:
        wanted = set(keys)
        if not wanted:
            return []
        if conn.dialect.name == "sqlite":
            probe = self._probe
            names = self._names
            return [
                row
                for key in wanted
                for row in probe.rows(conn, dict(zip(names, key, strict=True)))
            ]
        params = {
            name: sorted(set(values))
            for name, values in zip(self._names, zip(*wanted, strict=True), strict=True)
        }
        return list(conn.execute(self._batched, params))


class UpdateEach:
    """An UPDATE of rows by ``key``, for sets of keys sharing their other values.

    On PostgreSQL one ``WHERE key IN (...)`` statement per set; on SQLite the statement a
    row at a time for all sets, with one ``executemany`` (an index probe each; nothing to
    render per group). The statement's other parameters must not be named ``b_key``.
    """

    __slots__ = ("_batched", "_each")

    def __init__(self, statement: Any, key: Any) -> None:
        self._each = Write(statement.where(key == bindparam("b_key")))
        self._batched = statement.where(key.in_(bindparam("b_keys", expanding=True)))

    def run(self, conn: Connection, sets: Iterable[tuple[list[Any], dict[str, Any]]]) -> None:
        """For each ``(keys, values)`` of ``sets``: the rows of ``keys`` updated with ``values``."""
        if conn.dialect.name == "sqlite":
            rows = [{"b_key": k, **values} for keys, values in sets for k in keys]
            if rows:
                self._each.many(conn, rows)
            return
        for keys, values in sets:
            if keys:
                conn.execute(self._batched, {"b_keys": keys, **values})


class InsertIgnore:
    """``INSERT ... ON CONFLICT (index_elements) DO NOTHING`` into ``table``."""

    __slots__ = ("_columns", "_id", "_lean", "_returning", "_statement", "_stored")

    def __init__(self, table: Table, index_elements: Sequence[str]) -> None:
        self._statement = ForEngine(lambda kind: kind.insert_ignore(table, index_elements))
        self._id = table.c.id
        self._returning = PostgresBackend.insert_ignore(table, index_elements).returning(table.c.id)
        columns = [column.key for column in table.columns]
        self._lean = Write(SqliteBackend.insert_ignore(table, index_elements), columns)
        self._stored = Query(select(table.c.id).where(table.c.id == bindparam("id")))

    def many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert those of ``rows`` that conflict with no stored row."""
        conn.execute(self._statement.of(conn), rows)

    def inserted(self, conn: Connection, rows: list[dict[str, Any]]) -> set[Any]:
        """Insert those of ``rows`` that conflict with no stored row; the ids (``id``) of
        those inserted. On PostgreSQL ``RETURNING``; on SQLite a lean ``executemany``, and
        only when it inserted fewer rows than given, a probe for each row's id."""
        if conn.dialect.name != "sqlite":
            return {got.id for got in conn.execute(self._returning, rows)}
        if self._lean.many(conn, rows) == len(rows):
            return {row["id"] for row in rows}
        return {
            row["id"] for row in rows if self._stored.first(conn, {"id": row["id"]}) is not None
        }
