"""The shared index's sharing rules, over real HTTP on SQLite and PostgreSQL: no browsing,
nothing from others without consent, the age rule, revocation, the coordinator, hints."""

from __future__ import annotations

from coordinator.tables import Role
from tests.functional.conftest import BUP_GLN, FAMILY_GLN, GP_GLN, PPR_GLN, Client, Hub
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


async def _involve(cpr: str, *clients: Client) -> None:
    kinds = {
        PPR_GLN: "ppr-assessment",
        FAMILY_GLN: "family-support",
        BUP_GLN: "psychiatric-assessment",
        GP_GLN: "gp-follow-up",
    }
    for client in clients:
        body = case(cpr, kind=kinds[client.gln], contact_name=f"Contact {client.gln}")
        await ok(client, "PUT", f"/v1/cases/C-{cpr[-4:]}", body)
        await ok(client, "PUT", f"/v1/appointments/A-{cpr[-4:]}", appointment(cpr, hours=200))


async def test_no_overview_without_an_own_active_case(hub: Hub) -> None:
    ppr, family, bup, _ = await hub.partners()
    child, stranger = cpr_aged(10), cpr_aged(11)
    await _involve(child, ppr, bup)
    await ok(family, "PUT", "/v1/cases/F-1", case(child, kind="family-support", status="closed"))

    answers = []
    for client, who in ((family, child), (family, stranger), (ppr, stranger)):
        for path in ("overview", "consents", "access-log"):
            status, body = await call(client, "GET", f"/v1/children/{who}/{path}")
            assert (status, body["code"]) == (403, "no-active-case"), path
            answers.append(body["detail"])
        status, body = await call(client, "POST", f"/v1/children/{who}/consents", consent(["ppr"]))
        assert (status, body["code"]) == (403, "no-active-case")
    assert len(set(answers)) == 1  # a known child and an unknown one look alike

    mine = await overview(ppr, child)
    assert [c["kind"] for c in mine["own"]["cases"]] == ["ppr-assessment"]
    assert mine["own"]["cases"][0]["ref"] == f"C-{child[-4:]}"
    assert len(mine["own"]["appointments"]) == 1
    status, body = await call(ppr, "GET", "/v1/children/0113001234/overview")
    assert (status, body["code"]) == (400, "invalid-cpr")
    assert "0113001234" not in body["detail"]


async def test_nothing_from_others_without_consent(hub: Hub) -> None:
    ppr, family, bup, gp = await hub.partners()
    child = cpr_aged(9)
    await _involve(child, ppr, family, bup, gp)
    await ok(ppr, "PUT", f"/v1/children/{child}/coordinator", {
        "organisation": GP_GLN, "contact": {"name": "Dr. Lund", "role": "læge"}
    })  # fmt: skip

    for client in (ppr, family, bup, gp):
        seen = await overview(client, child)
        assert orgs_in(seen) == set()
        assert seen["disclosed"] == []
        assert seen["hints"] == []
        assert seen["consent"]["state"] == "missing"
        assert set(seen["consent"]["sectors"].values()) == {"no-consent"}
        assert "says nothing about whether any exist" in seen["consent"]["detail"]
        if client is not gp:
            assert seen["coordinator"] is None
    # a child with no one else involved gets the very same consent answer
    lonely = cpr_aged(9)
    await _involve(lonely, ppr)
    alone = await overview(ppr, lonely)
    assert alone["consent"] == (await overview(ppr, child))["consent"]
    assert (await ok(ppr, "GET", f"/v1/children/{child}/access-log"))["entries"] == []


async def test_under_15_a_custodial_parent_consents(hub: Hub) -> None:
    ppr, family, bup, gp = await hub.partners()
    child = cpr_aged(12)
    await _involve(child, ppr, family, bup, gp)
    status, body = await call(
        ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr", "gp"], relation="self")
    )
    assert (status, body["code"]) == (422, "consent-not-valid-for-age")
    # verified: psychiatry's and the GP's data open only under a verified consent, or one their
    # own sector recorded (tests/functional/test_consent_policy.py)
    await verified(hub, ppr, child, consent(["ppr", "psychiatry", "gp"]))

    seen = await overview(ppr, child)
    assert orgs_in(seen) == {BUP_GLN, GP_GLN}
    assert seen["disclosed"] == sorted([BUP_GLN, GP_GLN])
    assert seen["consent"]["state"] == "partial"
    assert seen["consent"]["sectors"]["family"] == "no-consent"
    assert seen["consent"]["age"] == 12
    assert "under 15" in seen["consent"]["rule"]
    other = seen["others"]["cases"][0]
    assert "ref" not in other
    assert "title" not in other
    assert {"organisation", "sector", "kind", "status", "opened_on", "contact"} <= set(other)
    # the family department is not covered: it sees nothing, and PPR's view left it out
    assert orgs_in(await overview(family, child)) == set()
    assert orgs_in(await overview(bup, child)) == {PPR_GLN, GP_GLN}


async def test_from_15_health_data_needs_the_young_persons_own_consent(hub: Hub) -> None:
    ppr, family, bup, gp = await hub.partners()
    child = cpr_aged(16)
    await _involve(child, ppr, family, bup, gp)
    everyone = ["ppr", "family", "psychiatry", "gp"]
    await ok(family, "POST", f"/v1/children/{child}/consents", consent(everyone))

    seen = await overview(ppr, child)
    assert orgs_in(seen) == {FAMILY_GLN}  # municipal data under the parent's consent
    assert seen["consent"]["sectors"]["psychiatry"] == "own-consent-needed"
    assert seen["consent"]["sectors"]["gp"] == "own-consent-needed"
    assert "from 15 their own consent" in seen["consent"]["rule"]
    # the psychiatry sees the municipal data (a parent's consent covers it)...
    assert orgs_in(await overview(bup, child)) == {PPR_GLN, FAMILY_GLN}

    await ok(
        bup,
        "POST",
        f"/v1/children/{child}/consents",
        consent(["ppr", "psychiatry"], relation="self", given_by_name="Emma", form="oral"),
    )
    seen = await overview(ppr, child)
    assert orgs_in(seen) == {FAMILY_GLN, BUP_GLN}
    assert seen["consent"]["sectors"]["gp"] == "own-consent-needed"
    # the GP sees municipal data only: the young person's consent names PPR and psychiatry
    assert orgs_in(await overview(gp, child)) == {PPR_GLN, FAMILY_GLN}


async def test_revocation_takes_effect_on_the_next_call(hub: Hub) -> None:
    ppr, family, _, _ = await hub.partners()
    child = cpr_aged(7)
    await _involve(child, ppr, family)
    recorded = await ok(
        ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr", "family"], form="oral")
    )
    assert orgs_in(await overview(family, child)) == {PPR_GLN}
    listed = (await ok(family, "GET", f"/v1/children/{child}/consents"))["consents"]
    assert [(c["id"], c["active"], c["recorded_by_you"]) for c in listed] == [
        (recorded["id"], True, False)
    ]

    revoked = await ok(family, "DELETE", f"/v1/children/{child}/consents/{recorded['id']}")
    assert orgs_in(await overview(family, child)) == set()
    assert orgs_in(await overview(ppr, child)) == set()
    again = await ok(ppr, "DELETE", f"/v1/children/{child}/consents/{recorded['id']}")
    assert again["revoked_at"] == revoked["revoked_at"]  # idempotent
    listed = (await ok(family, "GET", f"/v1/children/{child}/consents"))["consents"]
    assert listed[0]["active"] is False
    assert listed[0]["revoked_at"] == revoked["revoked_at"]
    other_child = cpr_aged(8)
    await _involve(other_child, ppr)
    status, body = await call(
        ppr, "DELETE", f"/v1/children/{other_child}/consents/{recorded['id']}"
    )
    assert (status, body["code"]) == (404, "not-found")

    # a consent not yet in force, or past its end, shows nothing either
    for window in ({"valid_from": "2099-01-01T00:00:00Z"}, {
        "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2021-01-01T00:00:00Z"
    }):  # fmt: skip
        await ok(
            ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr", "family"], **window)
        )
        assert orgs_in(await overview(family, child)) == set()


async def test_disclosures_are_logged_with_the_person_and_owners_are_told(hub: Hub) -> None:
    ppr, family, bup, gp = await hub.partners()
    child = cpr_aged(13)
    await _involve(child, ppr, family, bup, gp)
    await verified(hub, gp, child, consent(["ppr", "gp", "psychiatry"]))
    caseworker = await hub.user(PPR_GLN, Role.CASEWORKER)  # a person's own credential: "Test"
    operator = await hub.user(FAMILY_GLN, Role.OPERATOR)

    status, body = await call(ppr, "GET", f"/v1/children/{child}/overview", person=None)
    assert (status, body["code"]) == (400, "on-behalf-of-missing")
    await overview(ppr, child, person="Dorte Hansen")
    await overview(caseworker, child, person="Someone Else")  # a user token names itself
    await overview(family, child)  # nothing disclosed: nothing to log

    for reader in (ppr, bup, operator):  # their reads are logged too (test_suggested_case.py)
        reason = "Aktindsigt 2026-4" if reader is operator else None
        logged = (await ok(reader, "GET", f"/v1/children/{child}/access-log", reason=reason))[
            "entries"
        ]
        entries = [e for e in logged if e["kind"] == "overview"]
        assert [(e["organisation"], e["person"], e["on_behalf_of"]) for e in entries] == [
            (PPR_GLN, "Test", False),
            (PPR_GLN, "Dorte Hansen", True),
        ]
        assert [d["organisation"] for d in entries[0]["disclosed"]] == sorted([BUP_GLN, GP_GLN])
    # the family department has an active case but no consent: it is not told who looked,
    # only that an operator read the log (an operator is not involved with the child)
    [seen] = (await ok(family, "GET", f"/v1/children/{child}/access-log"))["entries"]
    assert (seen["kind"], seen["operator"], seen["disclosed"]) == ("access-log", True, [])

    for owner in (gp, bup):
        notes = (await ok(owner, "GET", "/v1/access-notifications"))["notifications"]
        notes = [n for n in notes if n["kind"] == "overview"]
        assert [(n["viewer"]["organisation"], n["viewer"]["person"]) for n in notes] == [
            (PPR_GLN, "Test"),
            (PPR_GLN, "Dorte Hansen"),
        ]
        assert {n["child_cpr"] for n in notes} == {child}
        later = await ok(owner, "GET", f"/v1/access-notifications?since={notes[0]['at']}")
        assert [n for n in later["notifications"] if n["kind"] == "overview"] == []
    for unseen in (family, ppr):  # nobody's overview showed their entries
        notes = (await ok(unseen, "GET", "/v1/access-notifications"))["notifications"]
        assert [n for n in notes if n["kind"] == "overview"] == []


async def test_appointment_overlap_hints(hub: Hub) -> None:
    ppr, family, bup, gp = await hub.partners()
    child = cpr_aged(11)
    for client, kind in ((ppr, "ppr-assessment"), (family, "family-support")):
        await ok(client, "PUT", "/v1/cases/K1", case(child, kind=kind))
    for client, kind in ((bup, "psychiatric-assessment"), (gp, "gp-follow-up")):
        await ok(client, "PUT", "/v1/cases/K1", case(child, kind=kind))
    await verified(hub, ppr, child, consent(["ppr", "psychiatry", "gp"]))
    await ok(ppr, "PUT", "/v1/appointments/P1", appointment(child, hours=24))
    await ok(bup, "PUT", "/v1/appointments/B1", appointment(child, hours=24 + 30))
    await ok(gp, "PUT", "/v1/appointments/G1", appointment(child, hours=24 + 200))
    await ok(gp, "PUT", "/v1/appointments/G2", appointment(child, hours=25, status="cancelled"))
    await ok(family, "PUT", "/v1/appointments/F1", appointment(child, hours=26))  # no consent

    hints = (await overview(ppr, child))["hints"]
    assert [(h["code"], h["sectors"]) for h in hints] == [
        ("appointments-within-48h", ["ppr", "psychiatry"])
    ]
    assert [a["organisation"] for a in hints[0]["appointments"]] == [PPR_GLN, BUP_GLN]
    # the family department's own appointment is not compared with entries it cannot see
    assert (await overview(family, child))["hints"] == []


async def test_the_coordinator_is_shown_under_consent(hub: Hub) -> None:
    ppr, family, bup, _ = await hub.partners()
    child = cpr_aged(6)
    await _involve(child, ppr, family, bup)
    named = {"organisation": FAMILY_GLN, "contact": {"name": "Lis Berg", "role": "rådgiver"}}
    assert (await ok(ppr, "PUT", f"/v1/children/{child}/coordinator", named))[
        "organisation"
    ] == FAMILY_GLN
    assert (await overview(family, child))["coordinator"]["contact"]["name"] == "Lis Berg"
    assert (await overview(bup, child))["coordinator"] is None
    await ok(bup, "POST", f"/v1/children/{child}/consents", consent(["family", "psychiatry"]))
    seen = await overview(bup, child)
    assert seen["coordinator"]["organisation"] == FAMILY_GLN
    assert seen["disclosed"] == [FAMILY_GLN]
    status, body = await call(
        ppr, "PUT", f"/v1/children/{child}/coordinator", {**named, "organisation": "5790000000999"}
    )
    assert (status, body["code"]) == (422, "unknown-organisation")
