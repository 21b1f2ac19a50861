"""A :class:`~coordinator.database.statements.Query` reads what ``conn.execute`` reads:
the same rows with
the same Python values (UUIDs, aware UTC times, dates, booleans, labels), on SQLite (its own
lean path) and PostgreSQL (``conn.execute``), through the hub's :class:`Reader`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from coordinator.database.statements import Query
from coordinator.index.tables import APPOINTMENT, CASE
from coordinator.state import ENGINE, READER
from coordinator.tables import CREDENTIAL, ORGANISATION, Sector
from tests.functional.conftest import PPR_GLN, Hub

C, A, G = CASE.c, APPOINTMENT.c, ORGANISATION.c
CPR = "0101154321"

_CASES = (
    select(C.id, C.ref, C.status, C.opened_on, C.closed_on, C.updated_at, G.name.label("org"))
    .join(ORGANISATION, G.gln == C.org_gln)
    .where(C.cpr == bindparam("cpr"), C.status == "active")  # a fixed value among the binds
    .order_by(C.ref)
)
_APPOINTMENTS = (
    select(A.ref, A.starts_at, A.location)
    .where(A.cpr == bindparam("cpr"), A.starts_at >= bindparam("since"))
    .order_by(A.starts_at)
)
_CREDENTIALS = select(CREDENTIAL.c.id, CREDENTIAL.c.disabled, CREDENTIAL.c.expires_at).where(
    CREDENTIAL.c.org_gln == bindparam("gln")
)


async def _fill(hub: Hub) -> None:
    now = datetime.now(UTC).replace(microsecond=123456)
    async with hub.app[ENGINE].begin() as conn:
        await conn.execute(
            insert(CASE),
            [
                {
                    "id": uuid.uuid4(),
                    "org_gln": PPR_GLN,
                    "ref": f"Q-{n}",
                    "cpr": CPR,
                    "kind": "ppr-assessment",
                    "status": "active" if n != 1 else "closed",
                    "opened_on": date(2026, 1, 5),
                    "closed_on": None if n != 1 else date(2026, 2, 1),
                    "title": None,
                    "contact_name": "Kim",
                    "contact_role": "psykolog",
                    "contact_phone": None,
                    "contact_email": None,
                    "created_at": now,
                    "updated_at": now + timedelta(seconds=n),
                }
                for n in range(3)
            ],
        )
        await conn.execute(
            insert(APPOINTMENT),
            [
                {
                    "id": uuid.uuid4(),
                    "org_gln": PPR_GLN,
                    "ref": f"M-{n}",
                    "cpr": CPR,
                    "case_ref": None,
                    "starts_at": now + timedelta(hours=n - 2),
                    "ends_at": now + timedelta(hours=n - 1),
                    "status": "booked",
                    "location": None if n % 2 else "Vesterbro 12",
                    "with_name": "Kim",
                    "with_role": "psykolog",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(5)
            ],
        )


def _both(conn: Connection, query: Query, params: dict[str, Any]) -> tuple[Any, Any, Any]:
    lean = [tuple(row) for row in query.rows(conn, params)]
    usual = [tuple(row) for row in conn.execute(query.statement, params)]
    first = query.first(conn, params)
    return lean, usual, first


@pytest.mark.parametrize(
    ("query", "params", "count"),
    [
        (Query(_CASES), {"cpr": CPR}, 2),
        (Query(_CASES), {"cpr": "0202154321"}, 0),
        (Query(_APPOINTMENTS), {"cpr": CPR, "since": datetime.now(UTC) - timedelta(minutes=5)}, 3),
        (Query(_CREDENTIALS), {"gln": PPR_GLN}, 1),
    ],
)
async def test_a_query_reads_what_execute_reads(
    hub: Hub, query: Query, params: dict[str, Any], count: int
) -> None:
    await hub.org(PPR_GLN, Sector.PPR)
    await _fill(hub)
    for _ in range(2):  # compiled on the first use, reused after
        lean, usual, first = await hub.app[READER](_both, query, params)
        assert lean == usual
        assert len(lean) == count
        assert (first is None) == (count == 0)
        if first is not None:
            assert tuple(first) == usual[0]
            assert first._fields == tuple(query.statement.selected_columns.keys())
    for row in lean:
        for value in row:
            if isinstance(value, datetime):
                assert value.tzinfo is UTC


async def test_a_query_with_an_in_list_is_refused(hub: Hub) -> None:
    await hub.org(PPR_GLN, Sector.PPR)
    orgs = ORGANISATION.c
    query = Query(select(orgs.gln).where(orgs.gln.in_(bindparam("glns", expanding=True))))

    def read(conn: Connection) -> list[Any]:
        return query.rows(conn, {"glns": [PPR_GLN, "5790000000005"]})

    if hub.app[ENGINE].dialect.name == "sqlite":
        with pytest.raises(TypeError):
            await hub.app[READER](read)
    else:  # conn.execute there, which expands the list
        assert [tuple(r) for r in await hub.app[READER](read)] == [(PPR_GLN,)]
