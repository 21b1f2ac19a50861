"""Partners told when someone joins a child, over real HTTP on SQLite and PostgreSQL: the
organisations with an active case hear of a newcomer's first active case (whom to call,
never what the case is), the newcomer's answer names them, nobody is told twice, and an
owner lists what it was told beside the views of its entries."""

from __future__ import annotations

import uuid
from typing import Any

from coordinator.index.notifications import Notice, tell
from coordinator.state import COMMITTER
from tests.functional.conftest import (
    BUP_GLN,
    FAMILY_GLN,
    GP_GLN,
    PPR_GLN,
    Client,
    Hub,
)
from tests.functional.index_samples import case, consent, cpr_aged, ok, overview, verified
from wire.entries import Contact
from wire.index import NotificationKind

PPR = {"organisation": PPR_GLN, "name": "PPR Aalborg", "sector": "ppr"}
BUP = {"organisation": BUP_GLN, "name": "BUP Aalborg", "sector": "psychiatry"}
GP = {"organisation": GP_GLN, "name": "Lægehuset Vestbyen", "sector": "gp"}


async def _told(client: Client, **query: Any) -> list[dict[str, Any]]:
    """The client's notifications (not the views of its entries), newest first."""
    path = "/v1/access-notifications"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    notes = (await ok(client, "GET", path))["notifications"]
    return [n for n in notes if "viewer" not in n]


def _gp_case(child: str, **extra: Any) -> dict[str, Any]:
    extra.setdefault("contact_name", "Lise Læge")
    return case(child, kind="gp-follow-up", title="Ondt i maven, skolefravær", **extra)


async def test_the_owners_are_told_of_a_newcomer_and_the_newcomer_of_them(hub: Hub) -> None:
    ppr, family, bup, gp = await hub.partners()
    child = cpr_aged(10)
    first = await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    assert first["told"] == []  # nobody else involved yet
    joined = await ok(bup, "PUT", "/v1/cases/B-1", case(child, kind="psychiatric-assessment"))
    assert joined["told"] == [PPR]
    await ok(family, "PUT", "/v1/cases/F-1", case(child, kind="family-support", status="closed"))

    answer = await ok(gp, "PUT", "/v1/cases/GP-77", _gp_case(child))
    # the newcomer learns who was told: the organisations with an active case, by GLN
    assert (answer["created"], answer["told"]) == (True, [PPR, BUP])

    contact = {
        "name": "Lise Læge",
        "role": "psykolog",
        "phone": "+45 99 31 31 31",
        "email": "kim@example.invalid",
    }
    for owner in (ppr, bup):
        [note] = [n for n in await _told(owner) if n["about"]["organisation"] == GP_GLN]
        at = note.pop("at")
        assert at
        # presence and whom to call: never the case's kind, title or reference
        assert note == {
            "child_cpr": child,
            "kind": "new-partner",
            "about": GP,
            "consent_id": None,
            "contact": contact,
            "detail": None,
        }
    assert [n["about"]["organisation"] for n in await _told(ppr)] == [GP_GLN, BUP_GLN]
    assert await _told(family) == []  # its case is closed: not involved now
    assert await _told(gp) == []  # the newcomer heard it in its answer


async def test_a_second_case_an_update_or_a_reopened_case_tells_no_one_again(hub: Hub) -> None:
    ppr, family, bup, gp = await hub.partners()
    child = cpr_aged(8)
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    assert (await ok(gp, "PUT", "/v1/cases/G-1", _gp_case(child)))["told"] == [PPR]
    assert (await ok(gp, "PUT", "/v1/cases/G-2", _gp_case(child)))["told"] == []  # a second
    update = await ok(gp, "PUT", "/v1/cases/G-1", _gp_case(child, contact_name="Ny Læge"))
    assert (update["created"], update["told"]) == (False, [])
    for ref in ("G-1", "G-2"):  # the GP leaves the child, and comes back
        await ok(gp, "PUT", f"/v1/cases/{ref}", _gp_case(child, status="closed"))
    assert (await ok(gp, "PUT", "/v1/cases/G-1", _gp_case(child)))["told"] == []
    assert len(await _told(ppr)) == 1

    # a case registered closed joins no one; opened later, it joins
    await ok(family, "PUT", "/v1/cases/F-1", case(child, kind="family-support", status="closed"))
    assert len(await _told(ppr)) == 1
    opened = await ok(family, "PUT", "/v1/cases/F-1", case(child, kind="family-support"))
    assert [o["organisation"] for o in opened["told"]] == [GP_GLN, PPR_GLN]
    assert [n["about"]["organisation"] for n in await _told(ppr)] == [FAMILY_GLN, GP_GLN]
    # BUP's own children are not PPR's business
    other = cpr_aged(12)
    await ok(bup, "PUT", "/v1/cases/B-1", case(other, kind="psychiatric-assessment"))
    await ok(family, "PUT", "/v1/cases/F-2", case(other, kind="family-support"))
    assert len(await _told(ppr)) == 2


async def test_an_owner_lists_what_it_was_told_beside_the_views_newest_first(hub: Hub) -> None:
    ppr, _family, bup, gp = await hub.partners()
    child, other = cpr_aged(11), cpr_aged(6)
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    await ok(bup, "PUT", "/v1/cases/B-1", case(child, kind="psychiatric-assessment"))
    # verified: an attested consent opening PPR's data would tell PPR itself (consent-opened)
    await verified(hub, bup, child, consent(["ppr", "psychiatry"]))
    await overview(bup, child)  # a view of PPR's entries
    consent_id = uuid.uuid4()
    await hub.app[COMMITTER].call(
        tell(
            Notice(
                PPR_GLN,
                child,
                NotificationKind.CONSENT_OPENED,
                BUP_GLN,
                consent_id=consent_id,
                detail="An attested consent opened your entries to BUP Aalborg.",
            ),
            Notice(  # told once per owner, kind and consent
                PPR_GLN, child, NotificationKind.CONSENT_OPENED, BUP_GLN, consent_id=consent_id
            ),
        )
    )
    await hub.app[COMMITTER].call(
        tell(
            Notice(
                PPR_GLN,
                child,
                NotificationKind.CONSENT_DISPUTED,
                GP_GLN,
                consent_id=consent_id,
                contact=Contact(name="Lise Læge", role="læge"),
                detail="Forældrene kender ikke til samtykket.",
            ),
            Notice(BUP_GLN, other, NotificationKind.NEW_PARTNER, GP_GLN),  # BUP's, not PPR's
        )
    )

    notes = (await ok(ppr, "GET", "/v1/access-notifications"))["notifications"]
    assert [n["kind"] for n in notes] == [
        "consent-disputed",
        "consent-opened",
        "overview",
        "new-partner",
    ]
    assert [n["at"] for n in notes] == sorted((n["at"] for n in notes), reverse=True)
    disputed, opened, view, joined = notes
    assert (disputed["about"], disputed["consent_id"], disputed["contact"]) == (
        GP,
        str(consent_id),
        {"name": "Lise Læge", "role": "læge", "phone": None, "email": None},
    )
    assert disputed["detail"] == "Forældrene kender ikke til samtykket."
    assert (opened["about"], opened["consent_id"], opened["contact"]) == (
        BUP,
        str(consent_id),
        None,
    )
    assert view["viewer"]["organisation"] == BUP_GLN
    assert (joined["about"], joined["child_cpr"]) == (BUP, child)

    newest_two = (await ok(ppr, "GET", "/v1/access-notifications?limit=2"))["notifications"]
    assert newest_two == notes[:2]
    since = notes[2]["at"].replace("+00:00", "Z")
    later = (await ok(ppr, "GET", f"/v1/access-notifications?since={since}"))["notifications"]
    assert later == notes[:2]
    assert (await ok(ppr, "GET", f"/v1/access-notifications?since={notes[0]['at']}")) == {
        "notifications": []
    }
    assert [n["kind"] for n in await _told(bup)] == ["new-partner"]
    assert await _told(gp) == []
