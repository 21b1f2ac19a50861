"""The SQLAlchemy internals the lean SQLite path
(:class:`~coordinator.database.statements.Query` and ``Write``) is built on are still there
and still mean the same.

``pyproject.toml`` pins SQLAlchemy to the minor release this was tested on; a new release
that renames or drops one of these fails here, loudly, before any hub runs on it. The full
equivalence (the same rows and stored values as plain ``conn.execute``, on both databases)
is tests/functional/test_reader_query.py and test_reader_write.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.sqltypes import TypeEngine

from coordinator.database.statements import Query, Write
from coordinator.tables import ORGANISATION, Sector

G = ORGANISATION.c


def test_the_private_processors_exist(conn: Connection) -> None:
    assert callable(getattr(TypeEngine, "_cached_result_processor", None))
    statement = select(G.gln).where(G.id == bindparam("id"))  # a UUID: processed on SQLite
    compiled = statement.compile(dialect=conn.dialect)
    processors = getattr(compiled, "_bind_processors", None)
    assert processors is not None, "SQLCompiler._bind_processors is gone"
    assert callable(dict(processors).get("id")), "_bind_processors no longer maps bind names"
    result = G.id.type._cached_result_processor(conn.dialect, None)
    assert callable(result), "a UUID column no longer has a result processor on SQLite"


def test_query_and_write_agree_with_conn_execute(conn: Connection) -> None:
    now = datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)
    row = {
        "id": uuid.uuid4(),
        "gln": "5790000000001",
        "name": "Almen praksis",
        "sector": Sector.GP.value,
        "sor": None,
        "municipality": "851",
        "letters_consumed_by": "people",
        "created_at": now,
        "last_poll_at": None,
    }
    columns = [column.key for column in ORGANISATION.columns if column.key in row]
    assert Write(insert(ORGANISATION), columns).many(conn, [row]) == 1
    statement = select(ORGANISATION).where(G.gln == bindparam("gln"))
    lean = Query(statement).rows(conn, {"gln": row["gln"]})
    plain = conn.execute(statement, {"gln": row["gln"]}).all()
    assert [tuple(r) for r in lean] == [tuple(r) for r in plain]
    assert lean[0].id == row["id"]
    assert lean[0].created_at == now
