"""Correspondence feeds the index, and every look at a child's data is in its access log.

Over real HTTP on SQLite and PostgreSQL: an XDIS91 about a child reaching an organisation
with no active case for that child is offered as a case to register (``suggested_case``),
never forced, and the offer goes as soon as the receiver has an active case (and comes back
when it closes it); receipts and letters without a real CPR offer nothing; the inbox entry
carries the letter's thread facts but never the child's CPR. Operators' reads of a child's
access log are logged and shown to the family's organisations; consent lists and access-log
reads that show other organisations' data are logged with their kind.
"""

from __future__ import annotations

import json
from typing import Any

from coordinator.tables import Role, Sector
from tests.functional.conftest import BUP_GLN, FAMILY_GLN, GP_GLN, PPR_GLN, Client, Hub, gln
from tests.functional.index_samples import case, consent, cpr_aged, ok, overview, verified
from tests.functional.samples import new_id, xdis91

SAMPLE_CPR = b"2512489996"  # the CPR samples.xdis91 writes
OPERATOR_GLN = gln(9001)


def letter_about(child: str, **kw: Any) -> bytes:
    return xdis91(sender=GP_GLN, receiver=PPR_GLN, **kw).replace(SAMPLE_CPR, child.encode())


async def inbox_raw(client: Client, query: str = "") -> tuple[list[dict[str, Any]], bytes]:
    status, parsed, raw = await client.request("GET", f"/v1/inbox{query}")
    assert status == 200, parsed
    return parsed["messages"], raw


async def suggested(client: Client, message_id: str, query: str = "") -> bool:
    entries, _ = await inbox_raw(client, query)
    [entry] = [e for e in entries if e["id"] == message_id]
    result: bool = entry["suggested_case"]
    return result


async def test_a_letter_about_a_child_without_a_case_suggests_one(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset Vestbyen")
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    child = cpr_aged(9)
    await ok(gp, "PUT", "/v1/cases/G-1", case(child, kind="gp-follow-up"))  # not PPR's case
    envelope_id, letter_id = new_id("K"), new_id("B")
    status, sent = await gp.send(
        letter_about(child, envelope_id=envelope_id, letter_id=letter_id, episode="EP-77")
    )
    assert status == 202, sent

    [entry], raw = await inbox_raw(ppr)
    assert entry["id"] == sent["id"]
    assert entry["suggested_case"] is True
    assert (entry["letter_id"], entry["episode_id"]) == (letter_id, "EP-77")
    assert entry["subject"] == "Henvisning til PPR"
    assert child.encode() not in raw  # the CPR is in the letter, never in the inbox
    assert "cpr" not in json.dumps(entry).lower()
    assert await suggested(ppr, sent["id"], "?lease=30") is True  # competing consumers too

    # the receiver registers a case: the offer is gone on the next listing
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    assert await suggested(ppr, sent["id"]) is False
    # a closed case is no active case: offered again; active again: gone again
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child, status="closed"))
    assert await suggested(ppr, sent["id"]) is True
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    assert await suggested(ppr, sent["id"]) is False

    # the receipt back to the GP offers nothing and has no subject or episode
    assert (await ppr.send_receipt(GP_GLN, envelope_id, letter_id))[0] == 202
    [back], raw = await inbox_raw(gp)
    assert back["type"] == "XCTL03"
    assert (back["suggested_case"], back["subject"], back["episode_id"]) == (False, None, None)
    assert back["letter_id"]
    assert child.encode() not in raw


async def test_only_a_real_cpr_suggests_a_case(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset Vestbyen")
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    child = cpr_aged(12)
    plain = letter_about(child)
    replacement = plain.replace(
        f"<CivilRegistrationNumber>{child}</CivilRegistrationNumber>".encode(),
        b"<AlternativeIdentifier>X12345678Z</AlternativeIdentifier>",
    )
    no_date = letter_about("3102154321")  # carried as it is, but no case can be made for it
    no_subject = letter_about(child).replace(b"<Subject>Henvisning til PPR</Subject>", b"")
    danish = letter_about(child).replace(
        b"Henvisning til PPR", "Svar på henvisning - Ærø".encode("ISO-8859-1")
    )
    assert replacement != plain
    sent = {}
    for name, body in (
        ("replacement", replacement),
        ("no-date", no_date),
        ("no-subject", no_subject),
        ("danish", danish),
    ):
        status, answer = await gp.send(body)
        assert status == 202, (name, answer)
        sent[answer["id"]] = name
    entries, raw = await inbox_raw(ppr)
    found = {sent[e["id"]]: (e["suggested_case"], e["subject"]) for e in entries}
    assert found == {
        "replacement": (False, "Henvisning til PPR"),
        "no-date": (False, "Henvisning til PPR"),
        "no-subject": (True, None),
        "danish": (True, "Svar på henvisning - Ærø"),
    }
    assert child.encode() not in raw
    assert b"3102154321" not in raw


async def _involved(hub: Hub, child: str) -> tuple[Client, Client, Client]:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg")
    family = await hub.org(FAMILY_GLN, Sector.FAMILY, "Familieafdelingen Aalborg")
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    await ok(bup, "PUT", "/v1/cases/B-1", case(child, kind="psychiatric-assessment"))
    await ok(family, "PUT", "/v1/cases/F-1", case(child, kind="family-support"))
    await verified(hub, ppr, child, consent(["ppr", "psychiatry"]))
    return ppr, bup, family


def _log(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            e["kind"],
            e["operator"],
            e["organisation"],
            e["person"],
            [d["organisation"] for d in e["disclosed"]],
        )
        for e in entries
    ]


async def test_an_operators_read_of_the_access_log_is_logged(hub: Hub) -> None:
    child = cpr_aged(10)
    ppr, bup, family = await _involved(hub, child)
    await hub.org(OPERATOR_GLN, Sector.PPR, "Samspil drift")
    operator = await hub.user(OPERATOR_GLN, Role.OPERATOR)  # named "Test"
    await overview(ppr, child, person="Dorte Hansen")  # discloses BUP's case

    log = f"/v1/children/{child}/access-log"
    first = (await ok(operator, "GET", log, reason="Aktindsigt 2026-1"))["entries"]
    assert _log(first) == [("overview", False, PPR_GLN, "Dorte Hansen", [BUP_GLN])]
    again = (await ok(operator, "GET", log, reason="Aktindsigt 2026-1"))["entries"]
    # the operator's first read is in the log, disclosing whose data it showed
    assert _log(again)[0] == ("access-log", True, OPERATOR_GLN, "Test", sorted([BUP_GLN, PPR_GLN]))
    assert _log(again)[1:] == _log(first)

    # the family's organisations see that an operator looked, each only what its consent
    # covers: PPR and BUP share; the family department has no consent
    seen = (await ok(bup, "GET", f"/v1/children/{child}/access-log"))["entries"]
    assert _log(seen) == [
        ("access-log", True, OPERATOR_GLN, "Test", sorted([BUP_GLN, PPR_GLN])),
        ("access-log", True, OPERATOR_GLN, "Test", sorted([BUP_GLN, PPR_GLN])),
        ("overview", False, PPR_GLN, "Dorte Hansen", [BUP_GLN]),
    ]
    # BUP's own read showed PPR's views: logged too, and PPR sees it
    seen = (await ok(ppr, "GET", f"/v1/children/{child}/access-log"))["entries"]
    assert _log(seen)[0] == ("access-log", False, BUP_GLN, "Dorte Hansen", [PPR_GLN])
    seen = (await ok(family, "GET", f"/v1/children/{child}/access-log"))["entries"]
    assert _log(seen) == [
        ("access-log", True, OPERATOR_GLN, "Test", []),
        ("access-log", True, OPERATOR_GLN, "Test", []),
    ]

    # owners are told: BUP's notifications name the operator's reads of its data
    notes = (await ok(bup, "GET", "/v1/access-notifications"))["notifications"]
    operator_notes = [n for n in notes if "viewer" in n and n["viewer"]["operator"]]
    assert len(operator_notes) == 2
    assert {(n["kind"], n["viewer"]["organisation"]) for n in operator_notes} == {
        ("access-log", OPERATOR_GLN)
    }


async def test_an_operators_read_of_an_unknown_child_is_kept_for_the_family(hub: Hub) -> None:
    await hub.org(OPERATOR_GLN, Sector.PPR, "Samspil drift")
    operator = await hub.user(OPERATOR_GLN, Role.OPERATOR)
    child = cpr_aged(6)
    log = f"/v1/children/{child}/access-log"
    assert (await ok(operator, "GET", log, reason="Aktindsigt 2026-2"))["entries"] == []
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    seen = (await ok(ppr, "GET", f"/v1/children/{child}/access-log"))["entries"]
    assert _log(seen) == [("access-log", True, OPERATOR_GLN, "Test", [])]


async def test_reads_of_others_consents_are_logged_and_own_ones_are_not(hub: Hub) -> None:
    child = cpr_aged(11)
    ppr, bup, _family = await _involved(hub, child)
    listed = (await ok(ppr, "GET", f"/v1/children/{child}/consents"))["consents"]
    assert [c["recorded_by_you"] for c in listed] == [True]  # only its own: nothing to log
    listed = (await ok(bup, "GET", f"/v1/children/{child}/consents"))["consents"]
    assert [c["recorded_by_you"] for c in listed] == [False]

    seen = (await ok(ppr, "GET", f"/v1/children/{child}/access-log"))["entries"]
    assert _log(seen) == [("consents", False, BUP_GLN, "Dorte Hansen", [PPR_GLN])]
    notes = (await ok(ppr, "GET", "/v1/access-notifications"))["notifications"]
    views = [n for n in notes if "viewer" in n]  # besides: BUP and the family joined the child
    assert [(n["kind"], n["viewer"]["organisation"]) for n in views] == [("consents", BUP_GLN)]
