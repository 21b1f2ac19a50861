"""Alembic environment: migrations always run on a connection handed over by
:func:`coordinator.database.engine.migrate` (``config.attributes["connection"]``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from coordinator.database.backend import kind_of
from coordinator.tables import METADATA


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        render_as_batch=kind_of(connection).alters_by_copy,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if _connection is None:
    raise RuntimeError(
        "run migrations through coordinator.database.engine.migrate (samspil serve does)"
    )
run_on(_connection)
