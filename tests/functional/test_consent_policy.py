"""Which consents open which data, over real HTTP on SQLite and PostgreSQL: the hub's policy on
attested and verified consents, scope by named organisations, owners told when an attested
consent first opens their data, and owners' disputes.

The attack these tests hold off: an organisation (a stolen token will do) registers a case
for a child, records an attested consent from an invented parent for every sector, and asks
for the overview - three calls to read what psychiatry and the GP know of the child.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from coordinator.index.tables import NOTIFICATION, NotificationKind
from coordinator.state import ENGINE
from coordinator.tables import Sector
from tests.functional.conftest import (
    BUP_GLN,
    FAMILY_GLN,
    GP_GLN,
    PPR_GLN,
    Client,
    Hub,
    MakeHub,
    Partners,
    gln,
)
from tests.functional.index_samples import (
    appointment,
    call,
    case,
    consent,
    cpr_aged,
    ok,
    orgs_in,
    overview,
    verified,
)

ROGUE_GLN = gln(2002)  # a municipality's PPR whose token is in the wrong hands
THISTED_FAMILY_GLN = gln(3002)
EVERY_SECTOR = ["ppr", "family", "psychiatry", "gp"]
KINDS = {
    Sector.PPR: "ppr-assessment",
    Sector.FAMILY: "family-support",
    Sector.PSYCHIATRY: "psychiatric-assessment",
    Sector.GP: "gp-follow-up",
}
N = NOTIFICATION.c


async def _involve(cpr: str, client: Client, sector: Sector) -> None:
    await ok(client, "PUT", f"/v1/cases/C-{cpr[-4:]}", case(cpr, kind=KINDS[sector]))
    await ok(client, "PUT", f"/v1/appointments/A-{cpr[-4:]}", appointment(cpr, hours=100))


async def _owners(hub: Hub, child: str) -> Partners:
    """The partners, of whom PPR, psychiatry and the GP each have a case for ``child``."""
    p = await hub.partners()
    for client, sector in ((p.ppr, Sector.PPR), (p.bup, Sector.PSYCHIATRY), (p.gp, Sector.GP)):
        await _involve(child, client, sector)
    return p


async def _three_calls(rogue: Client, cpr: str) -> tuple[str, dict[str, Any]]:
    """The attack: a case, a consent from an invented parent for everyone, the overview."""
    await ok(rogue, "PUT", "/v1/cases/X-1", case(cpr))
    invented = consent(EVERY_SECTOR, given_by_name="Invented Parent", form="oral")
    recorded = await ok(rogue, "POST", f"/v1/children/{cpr}/consents", invented)
    return recorded["id"], await overview(rogue, cpr)


async def _notices(hub: Hub, cpr: str) -> list[tuple[Any, ...]]:
    """The child's rows in index_notification about consents: (owner, kind, about, consent,
    detail). The new-partner rows a first case writes are read by :func:`_joined`."""
    async with hub.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(N.owner_org, N.kind, N.about_org, N.consent_id, N.detail)
            .where(N.cpr == cpr, N.kind != NotificationKind.NEW_PARTNER.value)
            .order_by(N.owner_org, N.kind)
        )
        return [(r.owner_org, r.kind, r.about_org, str(r.consent_id), r.detail) for r in rows]


async def _joined(hub: Hub, cpr: str, newcomer: str) -> list[str]:
    """The owners told that ``newcomer`` joined the child (new-partner rows)."""
    async with hub.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(N.owner_org)
            .where(
                N.cpr == cpr,
                N.kind == NotificationKind.NEW_PARTNER.value,
                N.about_org == newcomer,
            )
            .order_by(N.owner_org)
        )
        return [r.owner_org for r in rows]


async def _dispute(client: Client, cpr: str, consent_id: str, reason: str) -> tuple[int, Any]:
    path = f"/v1/children/{cpr}/consents/{consent_id}/dispute"
    return await call(client, "POST", path, {"reason": reason})


async def test_three_calls_open_no_health_data_under_the_default_policy(hub: Hub) -> None:
    child = cpr_aged(10)
    p = await _owners(hub, child)
    rogue = await hub.org(ROGUE_GLN, Sector.PPR, "PPR Rebild")

    consent_id, seen = await _three_calls(rogue, child)

    # the first call already told every owner that someone joined the child
    assert await _joined(hub, child, ROGUE_GLN) == sorted([PPR_GLN, BUP_GLN, GP_GLN])
    assert orgs_in(seen) == {PPR_GLN}  # municipal data opens on a caseworker's word
    assert seen["disclosed"] == [PPR_GLN]
    assert seen["coordinator"] is None
    sectors = seen["consent"]["sectors"]
    assert (sectors["psychiatry"], sectors["gp"]) == ("verified-consent-needed",) * 2
    assert (sectors["ppr"], sectors["family"]) == ("shared", "shared")
    assert "verified consent" in seen["consent"]["detail"]
    # the one owner whose data it opened is told, once, naming the consent and its recorder
    told = [(PPR_GLN, "consent-opened", ROGUE_GLN, consent_id, None)]
    assert await _notices(hub, child) == told
    await overview(rogue, child)
    assert await _notices(hub, child) == told
    # psychiatry and the GP saw no view of their data either
    for owner in (p.bup, p.gp):
        notes = (await ok(owner, "GET", "/v1/access-notifications"))["notifications"]
        assert [n for n in notes if n["kind"] == "overview"] == []


async def test_a_policy_that_trusts_attested_consents_for_health_tells_and_heeds_owners(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(attested_consent_opens=tuple(EVERY_SECTOR))
    child = cpr_aged(9)
    p = await _owners(hub, child)
    rogue = await hub.org(ROGUE_GLN, Sector.PPR, "PPR Rebild")

    consent_id, seen = await _three_calls(rogue, child)
    assert orgs_in(seen) == {PPR_GLN, BUP_GLN, GP_GLN}
    assert set(seen["consent"]["sectors"].values()) == {"shared"}
    opened = [
        (owner, "consent-opened", ROGUE_GLN, consent_id, None)
        for owner in sorted([GP_GLN, PPR_GLN, BUP_GLN])
    ]
    assert await _notices(hub, child) == opened

    # psychiatry disputes: once, a repeat finds the first
    reason = "No parent of this child has given consent to share with PPR Rebild."
    status, first = await _dispute(p.bup, child, consent_id, reason)
    assert (status, first["created"], first["consent_id"]) == (201, True, consent_id)
    status, again = await _dispute(p.bup, child, consent_id, "twice")
    assert (status, again["created"]) == (200, False)
    assert again["disputed_at"] == first["disputed_at"]

    # from the next call its data is gone; the GP's and PPR's stay
    after = await overview(rogue, child)
    assert orgs_in(after) == {PPR_GLN, GP_GLN}
    assert after["disclosed"] == sorted([PPR_GLN, GP_GLN])
    assert after["consent"]["sectors"]["psychiatry"] == "shared"  # says nothing of BUP
    assert orgs_in(await overview(p.gp, child)) == {PPR_GLN, ROGUE_GLN}
    assert orgs_in(await overview(p.bup, child)) == {PPR_GLN, ROGUE_GLN, GP_GLN}

    # the recorder is told, with the disputer and the reason
    disputed = (ROGUE_GLN, "consent-disputed", BUP_GLN, consent_id, reason)
    assert await _notices(hub, child) == sorted([*opened, disputed])

    # the consent list shows the dispute to the recorder and the disputer; not to the GP, to
    # whom psychiatry's data is closed (the dispute would tell that psychiatry is involved)
    for client in (rogue, p.bup):
        [listed] = (await ok(client, "GET", f"/v1/children/{child}/consents"))["consents"]
        assert [(d["organisation"], d["person"], d["reason"]) for d in listed["disputes"]] == [
            (BUP_GLN, "Dorte Hansen", reason)
        ]
        assert listed["disputes"][0]["at"] == first["disputed_at"]
    [listed] = (await ok(p.gp, "GET", f"/v1/children/{child}/consents"))["consents"]
    assert listed["disputes"] == []
    # the recorder's read of the list showed psychiatry's dispute: logged, and BUP is told
    notes = (await ok(p.bup, "GET", "/v1/access-notifications"))["notifications"]
    views = [(n["kind"], n["viewer"]["organisation"]) for n in notes if "viewer" in n]
    assert ("consents", ROGUE_GLN) in views


async def test_a_consent_naming_an_organisation_covers_it_and_not_its_neighbours(
    hub: Hub,
) -> None:
    p = await hub.partners()
    thisted = await hub.org(THISTED_FAMILY_GLN, Sector.FAMILY, "Familieafdelingen Thisted")
    child = cpr_aged(8)
    await _involve(child, p.ppr, Sector.PPR)
    await _involve(child, p.family, Sector.FAMILY)
    await _involve(child, thisted, Sector.FAMILY)
    body = consent(["ppr"], organisations=[FAMILY_GLN])  # Aalborg's family department only
    recorded = await ok(p.ppr, "POST", f"/v1/children/{child}/consents", body)

    seen = await overview(p.ppr, child)
    assert orgs_in(seen) == {FAMILY_GLN}
    # the sector map speaks of a family department no consent names: it tells nobody that
    # Thisted is involved, nor that Aalborg is
    assert seen["consent"]["sectors"]["family"] == "no-consent"
    assert orgs_in(await overview(p.family, child)) == {PPR_GLN}
    assert orgs_in(await overview(thisted, child)) == set()
    [listed] = (await ok(p.ppr, "GET", f"/v1/children/{child}/consents"))["consents"]
    assert (listed["id"], listed["sectors"], listed["organisations"]) == (
        recorded["id"],
        ["ppr"],
        [FAMILY_GLN],
    )
    # Thisted's department cannot dispute what does not cover it
    status, problem = await _dispute(thisted, child, recorded["id"], "not ours")
    assert (status, problem["code"]) == (409, "consent-does-not-cover-you")

    # named organisations only, or nothing named at all
    both = consent([], organisations=[FAMILY_GLN, PPR_GLN, FAMILY_GLN])
    await ok(p.ppr, "POST", f"/v1/children/{child}/consents", both)
    listed = (await ok(p.ppr, "GET", f"/v1/children/{child}/consents"))["consents"]
    assert listed[0]["sectors"] == []
    assert listed[0]["organisations"] == sorted([FAMILY_GLN, PPR_GLN])
    for bad, code in (
        (consent([]), "consent-covers-nothing"),
        (consent(["ppr"], organisations=[gln(9999)]), "unknown-organisation"),
        (consent(["ppr"], organisations=["57900000"]), "invalid-entry"),
    ):
        status, problem = await call(p.ppr, "POST", f"/v1/children/{child}/consents", bad)
        assert (status, problem["code"]) == (422, code)
    assert gln(9999) in (await call(p.ppr, "POST", f"/v1/children/{child}/consents", consent(
        [], organisations=[gln(9999)]
    )))[1]["detail"]  # fmt: skip


async def test_an_attested_consent_recorded_by_psychiatry_opens_psychiatry_data(hub: Hub) -> None:
    child = cpr_aged(12)
    p = await _owners(hub, child)
    recorded = await ok(
        p.bup, "POST", f"/v1/children/{child}/consents", consent(EVERY_SECTOR, form="written")
    )

    seen = await overview(p.ppr, child)
    assert orgs_in(seen) == {BUP_GLN}  # its own sector's word opens psychiatry's data
    assert seen["consent"]["sectors"]["psychiatry"] == "shared"
    assert seen["consent"]["sectors"]["gp"] == "verified-consent-needed"  # not the GP's
    assert orgs_in(await overview(p.bup, child)) == {PPR_GLN}
    assert orgs_in(await overview(p.gp, child)) == {PPR_GLN, BUP_GLN}
    # PPR is told its data was opened; psychiatry, which recorded the consent, is not
    assert await _notices(hub, child) == [
        (PPR_GLN, "consent-opened", BUP_GLN, recorded["id"], None)
    ]


async def test_what_cannot_be_disputed(hub: Hub) -> None:
    p = await hub.partners()
    child, stranger = cpr_aged(11), cpr_aged(11)
    for client, sector in ((p.ppr, Sector.PPR), (p.bup, Sector.PSYCHIATRY)):
        await _involve(child, client, sector)
    await _involve(stranger, p.ppr, Sector.PPR)
    recorded = await ok(p.ppr, "POST", f"/v1/children/{child}/consents", consent(EVERY_SECTOR))
    attested = recorded["id"]
    signed = await verified(hub, p.ppr, child, consent(EVERY_SECTOR))

    refusals = [
        (p.bup, child, signed, "x", (409, "consent-verified")),
        (p.ppr, child, attested, "x", (409, "consent-recorded-by-you")),
        (p.family, child, attested, "x", (403, "no-active-case")),
        (p.ppr, stranger, attested, "x", (404, "not-found")),
        (p.bup, child, "not-a-uuid", "x", (404, "not-found")),
        (p.bup, child, attested, "   ", (422, "invalid-entry")),
        (p.bup, child, attested, "x" * 1001, (422, "invalid-entry")),
    ]
    for client, cpr, consent_id, reason, expected in refusals:
        status, problem = await _dispute(client, cpr, consent_id, reason)
        assert (status, problem["code"]) == expected, (consent_id, reason)
        assert cpr not in problem["detail"]
    path = f"/v1/children/{child}/consents/{attested}/dispute"
    status, problem = await call(p.bup, "POST", path, {"reason": "x"}, person=None)
    assert (status, problem["code"]) == (400, "on-behalf-of-missing")
    status, problem = await call(p.bup, "POST", path, {"reason": "x", "extra": 1})
    assert (status, problem["code"]) == (422, "invalid-entry")
    assert await _notices(hub, child) == []  # nothing recorded, nobody told
