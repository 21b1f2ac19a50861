"""The hub's database: its engines, the seam between SQLite and PostgreSQL, and how SQL is
written.

* :mod:`~coordinator.database.engine`: the async engine for a URL, migrations;
* :mod:`~coordinator.database.backend`: :class:`~coordinator.database.backend.Backend`, one
  implementation per engine kind; the only place that knows which engine runs;
* :mod:`~coordinator.database.reader`: the read path;
* :mod:`~coordinator.database.writer`: the committer's lean writer on a SQLite file;
* :mod:`~coordinator.database.statements`: statements built once, run per engine;
* :mod:`~coordinator.database.backup`: online backups of either engine (``samspil backup``).

The rule for SQL (ARCHITECTURE.md, "The SQL rule"):

1. **SQL lives in stores** (``store.py``, ``intake.py``, ``index_store.py``,
   ``access_log.py``, ``operator_store.py``, ``credentials.py``, ...). Routes call store
   functions and never import ``sqlalchemy``, ``sqlmodel`` or ``asyncpg`` (an import-linter
   contract in ``pyproject.toml``).
2. **Tables are SQLModel classes; statements are SQLAlchemy Core** on the tables
   (``select``/``insert``/``update`` on ``X.__table__``), built once at import where they
   are reused. No ORM sessions.
3. **One way per need.** A read on the hot path is a function of a synchronous
   :class:`~sqlalchemy.engine.Connection` run by the
   :class:`~coordinator.database.reader.Reader`; other reads use the engine
   (``async with engine.connect()``). Every write goes through the
   :class:`~coordinator.database.committer.Committer`: a bulk write (a group's items together) on
   the
   hot path, an op for the rest. A statement used per request is a
   :class:`~coordinator.database.statements.Query`/``Write``/``Lookup``/``UpdateEach``/
   ``InsertIgnore``, built once.
4. **No engine branches outside this package.** Where SQLite and PostgreSQL differ (insert-
   ignore, upserts, row locks, notifications, connections) a store asks the backend
   (:func:`~coordinator.database.backend.kind_of` for a connection's kind, or a
   :class:`~coordinator.database.statements.ForEngine` statement); it never tests
   ``dialect.name``.
5. **SQLAlchemy's errors stop at the store** that ran the statement (or the committer and
   the reader), as :class:`~coordinator.errors.StoreError`.
"""
