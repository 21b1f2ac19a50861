"""``GET /v1/partner-events`` over real HTTP on SQLite and PostgreSQL: other organisations'
changes about the caller's own children, as the overview would show them, under consent
judged per owner on every read; one access-log entry per child and page; a cursor that loses
and doubles nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from coordinator.index.changes import appointment_change, write_changes_async
from coordinator.index.tables import ACCESS_LOG, DISCLOSURE
from coordinator.state import ENGINE
from coordinator.tables import Sector
from tests.functional.conftest import (
    BUP_GLN,
    FAMILY_GLN,
    GP_GLN,
    POSTGRES_ONLY,
    PPR_GLN,
    Client,
    Hub,
    MakeHub,
)
from tests.functional.index_samples import (
    PERSON,
    appointment,
    at,
    case,
    consent,
    cpr_aged,
    ok,
    overview,
    verified,
)


async def _events(
    client: Client, since: str = "0", *, limit: int = 100, person: str | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = await ok(
        client, "GET", f"/v1/partner-events?since={since}&limit={limit}", person=person
    )
    return answer


async def _all(client: Client, since: str = "0", **kw: Any) -> tuple[list[dict[str, Any]], str]:
    """Every page from ``since`` on: the events and the last cursor."""
    found: list[dict[str, Any]] = []
    while True:
        page = await _events(client, since, **kw)
        found += page["events"]
        since = page["cursor"]
        if not page["more"]:
            return found, since


async def _views(hub: Hub, viewer: str) -> list[tuple[str, str, bool, list[str]]]:
    """The viewer's logged views: (kind, person, on behalf of, owners disclosed), in order."""
    async with hub.app[ENGINE].connect() as conn:
        rows = (
            await conn.execute(
                select(
                    ACCESS_LOG.c.id,
                    ACCESS_LOG.c.kind,
                    ACCESS_LOG.c.viewer_person,
                    ACCESS_LOG.c.on_behalf_of,
                )
                .where(ACCESS_LOG.c.viewer_org == viewer)
                .order_by(ACCESS_LOG.c.at, ACCESS_LOG.c.id)
            )
        ).all()
        owners: dict[Any, list[str]] = {}
        for d in await conn.execute(select(DISCLOSURE.c.access_id, DISCLOSURE.c.owner_org)):
            owners.setdefault(d.access_id, []).append(d.owner_org)
    return [(r.kind, r.viewer_person, r.on_behalf_of, sorted(owners.get(r.id, []))) for r in rows]


async def _region(hub: Hub) -> tuple[Client, Client, Client, Client]:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg")
    family = await hub.org(FAMILY_GLN, Sector.FAMILY, "Familieafdelingen")
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset")
    return ppr, bup, family, gp


def _kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["organisation"], e["type"]) for e in events]


async def test_partner_changes_under_consent_once_logged_per_child(hub: Hub) -> None:
    ppr, bup, family, gp = await _region(hub)
    child, other = cpr_aged(9), cpr_aged(11)
    await ok(bup, "PUT", "/v1/cases/B-0", case(child, kind="psychiatric-assessment"))
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child, title="Skolevægring"))
    await verified(hub, ppr, child, consent(["ppr", "psychiatry"]))
    await ok(
        bup, "PUT", "/v1/cases/B-0", case(child, kind="psychiatric-assessment", status="closed")
    )
    await ok(
        bup,
        "PUT",
        "/v1/cases/B-1",
        case(child, kind="psychiatric-assessment", title="Angst", contact_name="Søren Bach"),
    )
    booking = appointment(child, hours=30)
    await ok(bup, "PUT", "/v1/appointments/BA-1", booking)
    await ok(bup, "PUT", "/v1/appointments/BA-1", {**booking, "location": "Hus 2"})  # not moved
    await ok(bup, "PUT", "/v1/appointments/BA-1", appointment(child, hours=50))  # moved
    await ok(bup, "PUT", "/v1/appointments/BA-1", appointment(child, hours=50, status="cancelled"))
    # the family department: no consent covers it, so nothing of it ever shows
    await ok(family, "PUT", "/v1/cases/F-1", case(child, kind="family-support"))
    await ok(family, "PUT", "/v1/appointments/FA-1", appointment(child, hours=40))
    await ok(
        ppr,
        "PUT",
        f"/v1/children/{child}/coordinator",
        {"organisation": BUP_GLN, "contact": {"name": "Søren Bach", "role": "overlæge"}},
    )
    # another child the PPR has no case for
    await ok(bup, "PUT", "/v1/cases/B-9", case(other, kind="psychiatric-assessment"))
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child, title="Ny plan"))  # its own: not told

    page = await _events(ppr)
    events = page["events"]
    assert _kinds(events) == [
        (BUP_GLN, "case-closed"),  # B-0 opened before the PPR joined: that stays out
        (BUP_GLN, "case-opened"),
        (BUP_GLN, "appointment-booked"),
        (BUP_GLN, "appointment-moved"),
        (BUP_GLN, "appointment-cancelled"),
        (BUP_GLN, "coordinator-named"),
    ]
    assert page["more"] is False
    assert {e["child_cpr"] for e in events} == {child}
    closed, opened, booked, moved, cancelled, named = events
    assert closed["case"] == {
        "kind": "psychiatric-assessment",
        "status": "closed",
        "opened_on": "2026-01-05",
    }
    assert opened["case"]["contact"]["name"] == "Søren Bach"
    assert (opened["organisation_name"], opened["sector"]) == ("BUP Aalborg", "psychiatry")
    assert booked["entry"] == moved["entry"] == cancelled["entry"] != opened["entry"]
    assert moved["appointment"]["starts_at"] != booked["appointment"]["starts_at"]
    assert cancelled["appointment"]["status"] == "cancelled"
    assert named["coordinator"]["name"] == "Søren Bach"
    # never more than the overview shows: no reference, no title
    raw = str(events)
    for secret in ("B-1", "BA-1", "Angst", "FA-1", FAMILY_GLN, "Familieafdelingen"):
        assert secret not in raw
    shown = await overview(ppr, child)
    assert {c["organisation"] for c in shown["others"]["cases"]} == {BUP_GLN}
    assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)

    # one access-log entry for the child and page, naming BUP and the system that asked
    views = await _views(hub, PPR_GLN)
    assert [v for v in views if v[0] == "partner-events"] == [
        ("partner-events", views[0][1], False, [BUP_GLN])
    ]
    assert views[0][1]  # the system's name
    # BUP is told who read its entries
    notes = (await ok(bup, "GET", "/v1/access-notifications"))["notifications"]
    assert "partner-events" in {n["kind"] for n in notes}

    # the cursor: nothing again; a page of one at a time gives the same events once each
    again = await _events(ppr, page["cursor"])
    assert (again["events"], again["cursor"]) == ([], page["cursor"])
    one_by_one, last = await _all(ppr, limit=1, person=PERSON)
    assert [e["id"] for e in one_by_one] == [e["id"] for e in events]
    assert last == page["cursor"]
    assert ("partner-events", PERSON, True, [BUP_GLN]) in await _views(hub, PPR_GLN)

    # an organisation without an active case for the child: nothing, and nothing logged
    assert (await _events(gp))["events"] == []
    assert await _views(hub, GP_GLN) == []
    # the family department: no consent opens the others to it
    assert (await _events(family))["events"] == []
    assert await _views(hub, FAMILY_GLN) == []


async def test_a_revoked_consent_withholds_from_the_next_read(hub: Hub) -> None:
    ppr, bup, _, _ = await _region(hub)
    child = cpr_aged(8)
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    recorded = await verified(hub, ppr, child, consent(["ppr", "psychiatry"]))
    await ok(bup, "PUT", "/v1/cases/B-1", case(child, kind="psychiatric-assessment"))
    first = await _events(ppr)
    assert _kinds(first["events"]) == [(BUP_GLN, "case-opened")]

    await ok(ppr, "DELETE", f"/v1/children/{child}/consents/{recorded}")
    await ok(bup, "PUT", "/v1/appointments/BA-1", appointment(child, hours=20))
    logged = len(await _views(hub, PPR_GLN))
    after = await _events(ppr, first["cursor"])
    assert after["events"] == []
    assert int(after["cursor"]) > int(first["cursor"])  # moved past, saying nothing of it
    assert (await _events(ppr))["events"] == []  # nor from the start
    assert len(await _views(hub, PPR_GLN)) == logged  # nothing shown, nothing logged

    # once the PPR's case is closed, nothing of the child comes any more
    await verified(hub, ppr, child, consent(["ppr", "psychiatry"]))
    assert len((await _events(ppr))["events"]) == 2
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child, status="closed"))
    assert (await _events(ppr))["events"] == []


async def test_who_may_ask_and_bad_cursors(hub: Hub) -> None:
    ppr, _, _, _ = await _region(hub)
    for query in ("since=-1", "since=x", "limit=0", "limit=501", "since=1e3"):
        status, parsed, _ = await ppr.request("GET", f"/v1/partner-events?{query}")
        assert status == 400, (query, parsed)
    status, _, _ = await hub.anonymous("nope").request("GET", "/v1/partner-events")
    assert status == 401
    far = await _events(ppr, "999999")
    assert (far["events"], far["cursor"]) == ([], "999999")
    assert at(0)  # the samples' clock is in use


@POSTGRES_ONLY
async def test_two_hub_processes_writing_at_once_lose_no_event_behind_the_cursor(
    make_hub: MakeHub,
) -> None:
    """On PostgreSQL two hub processes commit changes at once: a reader following the cursor
    while they write sees every event exactly once (numbers become visible in commit order)."""
    first, second = await make_hub(), await make_hub()
    ppr, bup, _, _ = await _region(first)
    bup_there = Client(bup.session, second.base, bup.token, bup.gln)
    child = cpr_aged(10)
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    await verified(first, ppr, child, consent(["ppr", "psychiatry"]))
    await ok(bup, "PUT", "/v1/cases/B-1", case(child, kind="psychiatric-assessment"))
    start = await _events(ppr)
    writes = 40
    written = asyncio.Event()

    async def write() -> None:
        await asyncio.gather(
            *(
                ok(
                    bup if n % 2 else bup_there,
                    "PUT",
                    f"/v1/appointments/BA-{n}",
                    appointment(child, hours=24 + n),
                )
                for n in range(writes)
            )
        )
        written.set()

    seen: list[str] = []

    async def follow() -> None:
        cursor = start["cursor"]
        for _ in range(10_000):  # a bound, never reached by a good run
            page = await _events(ppr, cursor, limit=3)
            seen.extend(e["id"] for e in page["events"])
            cursor = page["cursor"]
            if written.is_set() and not page["more"] and len(seen) >= writes:
                return
            if not page["events"]:
                await asyncio.sleep(0)

    await asyncio.gather(write(), follow())
    assert len(seen) == len(set(seen)) == writes


@POSTGRES_ONLY
async def test_a_change_committed_late_is_not_passed_by_the_cursor(hub: Hub) -> None:
    """Two transactions numbering changes at once (PostgreSQL): the later one waits for the
    earlier one's commit, so no reader's cursor can move past a number still to come."""
    ppr, bup, _, _ = await _region(hub)
    child = cpr_aged(10)
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    await verified(hub, ppr, child, consent(["ppr", "psychiatry"]))
    before = (await _events(ppr))["cursor"]

    def change(hours: int) -> dict[str, Any]:
        start = datetime.now(UTC) + timedelta(hours=hours)
        row = appointment_change(
            org_gln=BUP_GLN,
            cpr=child,
            entry_id=uuid.uuid4(),
            was=None,
            values={
                "starts_at": start,
                "ends_at": start + timedelta(hours=1),
                "status": "booked",
                "location": None,
                "with_name": "Søren Bach",
                "with_role": "overlæge",
            },
            at=datetime.now(UTC),
        )
        assert row is not None
        return row

    engine = hub.app[ENGINE]
    async with engine.connect() as early, engine.connect() as late:
        await early.begin()
        await write_changes_async(early, [change(24)])  # numbered, not yet committed

        async def later() -> None:
            await late.begin()
            await write_changes_async(late, [change(48)])
            await late.commit()

        second = asyncio.create_task(later())
        # the later writer waits for the earlier one (its advisory lock), nothing is read
        await _waiting_for_the_change_log(hub)
        assert not second.done()
        page = await _events(ppr, before)
        assert (page["events"], page["cursor"]) == ([], before)
        await early.commit()
        await second
    events, _ = await _all(ppr, before)
    assert [e["type"] for e in events] == ["appointment-booked"] * 2
    assert bup.gln == events[0]["organisation"]


async def _waiting_for_the_change_log(hub: Hub) -> None:
    """Poll (bounded) until a transaction waits for the change log's advisory lock."""
    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    for _ in range(2000):
        async with hub.app[ENGINE].connect() as conn:
            if await conn.scalar(waiting):
                return
        await asyncio.sleep(0.005)
    raise AssertionError("no transaction waited for the change log's lock")
