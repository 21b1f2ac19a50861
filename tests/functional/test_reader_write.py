"""A :class:`~coordinator.database.statements.Write` stores what ``conn.execute`` stores:
the same values
(UUIDs, aware UTC times, NULLs, fixed values among the binds), on SQLite (``executemany`` on
its cursor, which also counts the rows changed) and PostgreSQL (``conn.execute``), in the
committer's transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from coordinator.database.committer import Batch
from coordinator.database.statements import Write
from coordinator.state import COMMITTER, ENGINE
from coordinator.tables import ORGANISATION
from tests.functional.conftest import Hub

G = ORGANISATION.c
COLUMNS = [
    "id",
    "gln",
    "name",
    "sector",
    "sor",
    "municipality",
    "letters_consumed_by",
    "created_at",
    "last_poll_at",
]
_INSERT = Write(insert(ORGANISATION), COLUMNS)
_POLLED = Write(
    update(ORGANISATION)
    .where(G.gln == bindparam("b_gln"), G.last_poll_at.is_(None))
    .values(last_poll_at=bindparam("b_at"), municipality=None)
)
_READ = select(G.id, G.gln, G.sor, G.municipality, G.created_at, G.last_poll_at).order_by(G.gln)


def _org(n: int, at: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "gln": f"57900000900{n:02d}",
        "name": f"Org {n}",
        "sector": "ppr",
        "sor": None if n % 2 else f"SOR{n}",
        "municipality": "101",
        "letters_consumed_by": "system",
        "created_at": at,
        "last_poll_at": None,
    }


async def test_a_write_stores_what_execute_stores(hub: Hub) -> None:
    at = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    polled = at + timedelta(minutes=5)
    orgs = [_org(n, at) for n in range(3)]

    def write(conn: Connection, _batch: Batch) -> tuple[int, int, int]:
        inserted = _INSERT.many(conn, orgs)
        changed = _POLLED.many(
            conn,
            [{"b_gln": orgs[0]["gln"], "b_at": polled}, {"b_gln": "5790000090099", "b_at": at}],
        )
        again = _POLLED.many(conn, [{"b_gln": orgs[0]["gln"], "b_at": at}])  # no longer NULL
        return inserted, changed, again

    counts = await hub.app[COMMITTER].write(write)
    if hub.app[ENGINE].dialect.name == "sqlite":
        assert counts == (3, 1, 0)
    else:  # asyncpg does not count the rows of several
        assert counts[0] in (3, -1)
        assert counts[1] in (1, -1)
        assert counts[2] in (0, -1)

    def read(conn: Connection, _batch: Batch) -> list[Any]:
        return list(conn.execute(_READ.where(G.gln.in_([o["gln"] for o in orgs]))).all())

    rows = await hub.app[COMMITTER].write(read)
    assert [tuple(r) for r in rows] == [
        (
            o["id"],
            o["gln"],
            o["sor"],
            None if o is orgs[0] else "101",
            at,
            polled if o is orgs[0] else None,
        )
        for o in orgs
    ]
    assert rows[0].last_poll_at.tzinfo is UTC


async def test_an_insert_that_conflicts_changes_no_row(hub: Hub) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    first, clash = _org(1, at), _org(1, at)  # the same GLN
    on_sqlite = hub.app[ENGINE].dialect.name == "sqlite"
    dialect: Any = sqlite if on_sqlite else postgresql
    ignoring = Write(
        dialect.insert(ORGANISATION).on_conflict_do_nothing(index_elements=["gln"]), COLUMNS
    )

    def write(conn: Connection, _batch: Batch) -> int:
        return ignoring.many(conn, [first, clash])

    # one row changed (asyncpg does not count the rows of several: -1)
    assert await hub.app[COMMITTER].write(write) in ((1,) if on_sqlite else (1, -1))

    def read(conn: Connection, _batch: Batch) -> list[Any]:
        return list(conn.execute(select(G.id).where(G.gln == first["gln"])).all())

    assert [tuple(r) for r in await hub.app[COMMITTER].write(read)] == [(first["id"],)]
