"""The database seam: each backend kind builds its engine's statements, and the statements
built once per kind (:mod:`coordinator.database.statements`) read and write on SQLite what
the plain statements do. PostgreSQL's side runs in the functional tests (``hub_db``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from coordinator.database.backend import PostgresBackend, SqliteBackend, kind_of
from coordinator.database.statements import ForEngine, InsertIgnore, Lookup, UpdateEach
from coordinator.tables import ORGANISATION, Sector

G = ORGANISATION.c
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _organisation(gln: str, name: str = "Almen praksis") -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "gln": gln,
        "name": name,
        "sector": Sector.GP.value,
        "sor": None,
        "municipality": None,
        "letters_consumed_by": "system",
        "format": "oioxml",
        "created_at": NOW,
        "last_poll_at": None,
    }


def test_each_kind_builds_its_engines_statements() -> None:
    rows = select(G.gln).where(G.name == "x")
    pg, lite = postgresql.dialect(), sqlite.dialect()  # type: ignore[no-untyped-call]
    assert "FOR UPDATE SKIP LOCKED" in str(
        PostgresBackend.lock(rows, skip_locked=True).compile(dialect=pg)
    )
    assert "FOR UPDATE" not in str(SqliteBackend.lock(rows).compile(dialect=lite))
    for kind, dialect in ((PostgresBackend, pg), (SqliteBackend, lite)):
        sql = str(kind.insert_ignore(ORGANISATION, ["gln"]).compile(dialect=dialect))
        assert "ON CONFLICT (gln) DO NOTHING" in sql


def test_a_connection_has_its_kind(conn: Connection) -> None:
    assert kind_of(conn) is SqliteBackend
    built = ForEngine(lambda kind: kind.name)
    assert built.of(conn) == "sqlite"


def test_insert_ignore_tells_which_rows_it_inserted(conn: Connection) -> None:
    first = _organisation("5790000000001")
    insert = InsertIgnore(ORGANISATION, ["gln"])
    assert insert.inserted(conn, [first]) == {first["id"]}
    again = _organisation("5790000000001", "Another name")
    other = _organisation("5790000000002")
    assert insert.inserted(conn, [again, other]) == {other["id"]}
    insert.many(conn, [_organisation("5790000000002", "Third name")])
    names = dict(conn.execute(select(G.gln, G.name)).all())
    assert names == {"5790000000001": "Almen praksis", "5790000000002": "Almen praksis"}


def test_lookup_and_update_each_agree_with_plain_statements(conn: Connection) -> None:
    rows = [_organisation(f"579000000000{n}", f"Praksis {n}") for n in range(1, 5)]
    InsertIgnore(ORGANISATION, ["gln"]).many(conn, rows)
    lookup = Lookup(select(G.id, G.gln, G.name), [G.gln, G.name], lock_order=G.id)
    asked = {("5790000000001", "Praksis 1"), ("5790000000002", "Praksis 2"), ("nobody", "x")}
    found = sorted((row.gln, row.name, row.id) for row in lookup.rows(conn, asked))
    plain = sorted(
        (row.gln, row.name, row.id)
        for row in conn.execute(select(G.id, G.gln, G.name))
        if (row.gln, row.name) in asked
    )
    assert found == plain
    assert len(found) == 2
    assert lookup.rows(conn, []) == []

    renamed = UpdateEach(update(ORGANISATION).values(municipality="851"), G.id)
    renamed.run(conn, [([rows[0]["id"], rows[2]["id"]], {}), ([], {})])
    changed = {row.gln for row in conn.execute(select(G.gln).where(G.municipality == "851"))}
    assert changed == {"5790000000001", "5790000000003"}
