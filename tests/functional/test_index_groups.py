"""The index's writes in groups: upserts and access-log entries that share one commit behave
as if they ran one after the other, and one refused item fails only its own request.

The writes are put on the committer together (queued before its task runs again), so they
land in one group on SQLite and PostgreSQL alike; what they leave is read back over HTTP.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select

from coordinator.database.committer import Committer
from coordinator.errors import InvalidEntry
from coordinator.index.access_log import View, log_views
from coordinator.index.notifications import Involved
from coordinator.index.store import (
    Stored,
    Viewer,
    put_appointment,
    put_case,
    upsert_entries,
)
from coordinator.index.tables import (
    ACCESS_LOG,
    DISCLOSURE,
    ViewKind,
)
from coordinator.state import COMMITTER, ENGINE
from coordinator.tables import Sector
from messages.identifiers import parse_cpr
from tests.functional.conftest import BUP_GLN, PPR_GLN, Hub
from tests.functional.index_samples import (
    appointment,
    call,
    case,
    consent,
    cpr_aged,
    ok,
    overview,
    verified,
)
from wire.entries import AppointmentEntry, CaseEntry


def _case(gln: str, ref: str, cpr: str, **extra: Any) -> Any:
    return put_case(
        org_gln=gln, ref=ref, cpr=parse_cpr(cpr), case=CaseEntry.model_validate(case(cpr, **extra))
    )


def _appointment(gln: str, ref: str, cpr: str, **extra: Any) -> Any:
    body = AppointmentEntry.model_validate(appointment(cpr, **extra))
    return put_appointment(org_gln=gln, ref=ref, cpr=parse_cpr(cpr), appointment=body)


async def _together(committer: Committer, items: list[Any]) -> list[Any]:
    """Queue every item before the committer runs again: one group. Results or errors."""
    return await asyncio.gather(
        *(committer.bulk(upsert_entries, item) for item in items), return_exceptions=True
    )


async def test_upserts_in_one_group_run_as_if_in_order(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    child, other = cpr_aged(9), cpr_aged(11)
    committer = hub.app[COMMITTER]
    results = await _together(
        committer,
        [
            _case(PPR_GLN, "G-1", child),  # created
            _appointment(PPR_GLN, "M-1", child, case_ref="G-1"),  # names the case just made
            _case(PPR_GLN, "G-1", child, kind="ppr-counselling"),  # updates it
            _case(PPR_GLN, "G-1", other),  # another child: refused
            _appointment(PPR_GLN, "M-2", child, case_ref="G-9"),  # no such case: refused
            _appointment(PPR_GLN, "M-3", other, case_ref="G-1"),  # the case is another child's
            _appointment(PPR_GLN, "M-1", child, case_ref="G-1", status="cancelled"),  # update
        ],
    )
    assert committer.stats.largest >= 7  # one group, one commit
    assert results[:3] == [Stored(True), Stored(True), Stored(False)]
    assert getattr(results[3], "code", None) == "ref-belongs-to-another-child"
    assert [type(r) for r in results[4:6]] == [InvalidEntry, InvalidEntry]
    assert [getattr(r, "code", None) for r in results[4:6]] == ["unknown-case-ref"] * 2
    assert results[6] == Stored(False)
    mine = await overview(ppr, child)
    assert [(c["ref"], c["kind"]) for c in mine["own"]["cases"]] == [("G-1", "ppr-counselling")]
    assert [(a["ref"], a["status"]) for a in mine["own"]["appointments"]] == [("M-1", "cancelled")]
    # the refused items left nothing: the other child has no case, so no overview of it
    status, refused = await call(ppr, "GET", f"/v1/children/{other}/overview")
    assert (status, refused["code"]) == (403, "no-active-case")


async def test_a_group_of_upserts_by_several_organisations(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY)
    children = [cpr_aged(5 + n % 10, days=40 + n) for n in range(40)]
    items = [_case(PPR_GLN, f"P-{n}", c) for n, c in enumerate(children)]
    items += [
        _case(BUP_GLN, f"P-{n}", c, kind="psychiatric-assessment") for n, c in enumerate(children)
    ]
    first = await _together(hub.app[COMMITTER], items)
    assert [r.created for r in first] == [True] * 80
    # each of BUP's cases joined a child PPR has an active case for (earlier in the group)
    assert [r.told for r in first[:40]] == [()] * 40
    assert {r.told for r in first[40:]} == {(Involved(PPR_GLN, "Org", Sector.PPR),)}
    assert await _together(hub.app[COMMITTER], items) == [Stored(False)] * 80  # idempotent
    for client in (ppr, bup):
        body = await overview(client, children[7])
        assert [c["ref"] for c in body["own"]["cases"]] == ["P-7"]


async def test_access_log_entries_of_one_group(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY)
    child = cpr_aged(10)
    await ok(ppr, "PUT", "/v1/cases/L-1", case(child))
    await ok(bup, "PUT", "/v1/cases/L-1", case(child, kind="psychiatric-assessment"))
    await verified(hub, ppr, child, consent(["ppr", "psychiatry"]))
    # overviews at once: each answered only after its own entry was committed
    bodies = await asyncio.gather(*(overview(ppr, child) for _ in range(12)))
    assert all(b["disclosed"] == [BUP_GLN] for b in bodies)
    async with hub.app[ENGINE].connect() as conn:
        views = await conn.scalar(
            select(func.count()).select_from(ACCESS_LOG).where(ACCESS_LOG.c.cpr == child)
        )
        shown = await conn.scalar(
            select(func.count()).select_from(DISCLOSURE).where(DISCLOSURE.c.cpr == child)
        )
    assert (views, shown) == (12, 12)
    # the bulk write itself, several entries in one group and one commit
    viewer = Viewer(PPR_GLN, "Kim", uuid.uuid4(), True)
    view = View(viewer, parse_cpr(child), ViewKind.OVERVIEW, (BUP_GLN,))
    done = await asyncio.gather(*(hub.app[COMMITTER].bulk(log_views, view) for _ in range(5)))
    assert done == [None] * 5
    log = await ok(ppr, "GET", f"/v1/children/{child}/access-log")
    assert [e["kind"] for e in log["entries"]].count("overview") == 17
