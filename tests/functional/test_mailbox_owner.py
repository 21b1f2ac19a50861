"""Who owns the mailbox: an organisation's letters are taken in by exactly one party, its
system (adapter) or its people (caseworker app), and the other reads them or is refused.
And the archive: the organisation's letters, incoming and sent, searchable by child, sender
and subject, in pages, with what the retention removed.

Over real HTTP on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from coordinator.mailbox.retention import LETTER_RETENTION_TOTALS, run_letter_retention
from coordinator.state import COMMITTER, SETTINGS
from coordinator.tables import Role, Sector
from tests.functional.conftest import (
    FAMILY_GLN,
    GP_GLN,
    PPR_GLN,
    Client,
    Hub,
    MakeHub,
    TurnedClock,
    gln,
)
from tests.functional.index_samples import cpr_aged
from tests.functional.samples import new_id, xdis91

SAMPLE_CPR = b"2512489996"  # the CPR samples.xdis91 writes
SAMPLE_SUBJECT = b"Henvisning til PPR"


def letter(
    sender: str, receiver: str, *, child: str | None = None, subject: str = "", **kw: Any
) -> bytes:
    body = xdis91(sender=sender, receiver=receiver, **kw)
    if child is not None:
        body = body.replace(SAMPLE_CPR, child.encode())
    if subject:
        body = body.replace(SAMPLE_SUBJECT, subject.encode("latin-1"))
    return body


async def _post(client: Client, path: str, payload: Any) -> tuple[int, Any]:
    status, parsed, _ = await client.request(
        "POST",
        path,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    return status, parsed


async def _refused(client: Client, method: str, path: str, code: str) -> None:
    status, problem, _ = await client.request(method, path)
    assert (status, problem["code"]) == (409, code), (status, problem)


async def _set_owner(operator: Client, org: str, owner: str) -> dict[str, Any]:
    status, answer = await _post(
        operator,
        f"/v1/operator/organisations/{org}/letters-consumed-by",
        {"letters_consumed_by": owner},
    )
    assert status == 200, answer
    result: dict[str, Any] = answer
    return result


async def test_where_the_system_takes_letters_in_people_read_them_but_cannot_take_them(
    hub: Hub,
) -> None:
    gp, ppr = await hub.gp_and_ppr()
    person = await hub.user(PPR_GLN, Role.CASEWORKER)
    _, who, _ = await person.request("GET", "/v1/whoami")
    assert who["organisation"]["letters_consumed_by"] == "system"  # the default

    _, sent = await gp.send(letter(GP_GLN, PPR_GLN))
    # the caseworker sees the waiting letter and reads it; it stays waiting for the system
    assert [m["id"] for m in await person.inbox()] == [sent["id"]]
    assert await person.fetch(sent["id"])
    assert (await gp.status(sent["id"]))["status"] == "accepted"
    await _refused(person, "POST", f"/v1/messages/{sent['id']}/ack", "letters-consumed-by-system")
    await _refused(person, "GET", "/v1/inbox?lease=30", "letters-consumed-by-system")
    assert [m["id"] for m in await ppr.inbox()] == [sent["id"]]

    # the system takes it in as before
    await ppr.fetch(sent["id"])
    assert (await ppr.ack(sent["id"]))["status"] == "acknowledged"
    assert await person.inbox() == []


async def test_where_people_take_letters_in_the_system_is_refused_and_the_change_audited(
    hub: Hub,
) -> None:
    gp, ppr = await hub.gp_and_ppr()
    person = await hub.user(PPR_GLN, Role.CASEWORKER)
    await hub.org(FAMILY_GLN, Sector.FAMILY)
    operator = await hub.user(FAMILY_GLN, Role.OPERATOR)
    _, first = await gp.send(letter(GP_GLN, PPR_GLN))

    assert await _set_owner(operator, PPR_GLN, "people") == {
        "organisation": PPR_GLN,
        "letters_consumed_by": "people",
        "changed": True,
    }
    assert (await _set_owner(operator, PPR_GLN, "people"))["changed"] is False
    _, listing, _ = await operator.request("GET", "/v1/operator/organisations")
    owners = {o["gln"]: o["letters_consumed_by"] for o in listing["organisations"]}
    assert owners[PPR_GLN] == "people"
    assert owners[GP_GLN] == "system"
    _, audit, _ = await operator.request("GET", "/v1/operator/audit")
    changes = [e for e in audit["entries"] if e["action"] == "letters-consumed-by"]
    assert [e["target"] for e in changes] == [PPR_GLN, PPR_GLN]
    assert "people" in changes[-1]["result"]
    assert "was system" in changes[-1]["result"]

    # the adapter's consuming calls are refused: nothing is taken from the people
    await _refused(ppr, "GET", "/v1/inbox?wait=0", "letters-consumed-by-people")
    await _refused(ppr, "GET", f"/v1/messages/{first['id']}", "letters-consumed-by-people")
    await _refused(ppr, "POST", f"/v1/messages/{first['id']}/ack", "letters-consumed-by-people")
    _, who, _ = await person.request("GET", "/v1/whoami")
    assert who["organisation"]["letters_consumed_by"] == "people"

    # the caseworker takes it in: fetched (downloaded), acknowledged
    assert [m["id"] for m in await person.inbox()] == [first["id"]]
    await person.fetch(first["id"])
    assert (await gp.status(first["id"]))["status"] == "downloaded"
    assert (await person.ack(first["id"]))["status"] == "acknowledged"
    assert await person.inbox() == []

    # sending is not taking letters in: the system still sends and follows its letters
    status, mine = await ppr.send(letter(PPR_GLN, GP_GLN))
    assert status == 202
    assert (await ppr.status(mine["id"]))["status"] == "accepted"

    # back to the system: the adapter polls again, the person reads only
    await _set_owner(operator, PPR_GLN, "system")
    _, second = await gp.send(letter(GP_GLN, PPR_GLN))
    assert [m["id"] for m in await ppr.inbox()] == [second["id"]]
    await _refused(person, "POST", f"/v1/messages/{second['id']}/ack", "letters-consumed-by-system")

    # operators only; a bad choice and an unknown organisation are refused
    status, _ = await _post(
        person,
        f"/v1/operator/organisations/{PPR_GLN}/letters-consumed-by",
        {"letters_consumed_by": "people"},
    )
    assert status == 403
    status, problem = await _post(
        operator,
        f"/v1/operator/organisations/{PPR_GLN}/letters-consumed-by",
        {"letters_consumed_by": "robots"},
    )
    assert (status, problem["code"]) == (400, "invalid-choice")
    status, _ = await _post(
        operator,
        f"/v1/operator/organisations/{gln(9999)}/letters-consumed-by",
        {"letters_consumed_by": "people"},
    )
    assert status == 404


async def test_an_admin_registers_an_organisation_whose_people_take_its_letters(
    hub: Hub,
) -> None:
    await hub.org(GP_GLN, Sector.GP)
    admin = await hub.user(GP_GLN, Role.ADMIN)
    new = gln(5002)
    status, answer = await _post(
        admin,
        "/v1/admin/organisations",
        {"gln": new, "name": "PPR Rebild", "sector": "ppr", "letters_consumed_by": "people"},
    )
    assert status == 201, answer
    assert answer["organisation"]["letters_consumed_by"] == "people"
    system = Client(admin.session, admin.base, answer["token"], new)
    await _refused(system, "GET", "/v1/inbox", "letters-consumed-by-people")
    status, problem = await _post(
        admin,
        "/v1/admin/organisations",
        {"gln": gln(5003), "name": "X", "sector": "ppr", "letters_consumed_by": "robots"},
    )
    assert (status, problem["code"]) == (422, "invalid-letters-consumed-by")


async def _search(client: Client, **asked: Any) -> dict[str, Any]:
    status, answer = await _post(client, "/v1/letters/search", asked)
    assert status == 200, answer
    result: dict[str, Any] = answer
    return result


def _ids(page: dict[str, Any]) -> list[str]:
    return [e["id"] for e in page["letters"]]


async def test_the_archive_lists_the_organisations_letters_by_child_sender_and_subject(
    make_hub: MakeHub,
) -> None:
    clock = TurnedClock()
    hub = await make_hub(
        clock=clock, letter_retention=timedelta(days=3), message_ttl=timedelta(days=30)
    )
    gp, ppr = await hub.gp_and_ppr()
    family = await hub.org(FAMILY_GLN, Sector.FAMILY)
    person = await hub.user(PPR_GLN, Role.CASEWORKER)
    anna, bo = cpr_aged(8), cpr_aged(11)

    clock.ahead = -timedelta(days=10)
    envelope_id, letter_id = new_id("K"), new_id("B")
    _, old = await gp.send(
        letter(
            GP_GLN,
            PPR_GLN,
            child=bo,
            subject="Gammel sag",
            envelope_id=envelope_id,
            letter_id=letter_id,
        )
    )
    clock.ahead = -timedelta(hours=3)
    _, a1 = await gp.send(letter(GP_GLN, PPR_GLN, child=anna, subject="Skolevægring"))
    clock.ahead = -timedelta(hours=2)
    _, a2 = await family.send(letter(FAMILY_GLN, PPR_GLN, child=anna, subject="Møde om Anna"))
    clock.ahead = -timedelta(hours=1)
    _, out = await ppr.send(letter(PPR_GLN, GP_GLN, child=anna, subject="Svar: skolevægring"))
    _, other = await gp.send(letter(GP_GLN, FAMILY_GLN, child=anna, subject="Ikke PPR's"))
    clock.ahead = timedelta(0)
    # receipts are not listed: the letter's status says what they did
    await ppr.take(old["id"])
    status, _ = await ppr.send_receipt(GP_GLN, envelope_id, letter_id)
    assert status == 202

    everything = await _search(person)
    assert everything["letters_consumed_by"] == "system"
    assert _ids(everything) == [out["id"], a2["id"], a1["id"], old["id"]]  # newest first
    by_id = {e["id"]: e for e in everything["letters"]}
    assert by_id[out["id"]]["direction"] == "sent"
    assert by_id[a1["id"]]["direction"] == "incoming"
    assert by_id[a1["id"]]["subject"] == "Skolevægring"
    assert by_id[a1["id"]]["in_inbox"] is True
    assert by_id[old["id"]]["status"] == "receipted"
    assert by_id[old["id"]]["in_inbox"] is False
    assert other["id"] not in by_id  # not PPR's
    assert anna not in json.dumps(everything)
    assert bo not in json.dumps(everything)

    assert _ids(await _search(person, child=anna)) == [out["id"], a2["id"], a1["id"]]
    assert _ids(await _search(person, child=anna[:6] + "-" + anna[6:], direction="incoming")) == [
        a2["id"],
        a1["id"],
    ]
    assert _ids(await _search(person, senders=[FAMILY_GLN])) == [a2["id"]]
    # æ, ø and å are folded as A-Z are, on both engines
    assert _ids(await _search(person, subject="SKOLEVÆGRING")) == [out["id"], a1["id"]]
    assert _ids(await _search(person, subject="MØDE OM")) == [a2["id"]]
    assert _ids(await _search(person, subject="skolev")) == [out["id"], a1["id"]]
    assert _ids(await _search(person, subject="100%")) == []  # LIKE's wildcards are text

    # in pages, by the cursor
    first = await _search(person, limit=3)
    assert _ids(first) == [out["id"], a2["id"], a1["id"]]
    second = await _search(person, limit=3, before=first["next"])
    assert _ids(second) == [old["id"]]
    assert second["next"] is None

    # the retention removes the delivered one: it stays listed by its identifiers only
    app = hub.app
    clock.ahead = timedelta(days=3, minutes=1)
    await run_letter_retention(app[COMMITTER], app[SETTINGS], clock, app[LETTER_RETENTION_TOTALS])
    after = await _search(person)
    gone = {e["id"]: e for e in after["letters"]}[old["id"]]
    assert gone["removed_at"] is not None
    assert gone["subject"] is None
    assert gone["status"] == "receipted"
    assert old["id"] not in _ids(await _search(person, child=bo))  # its child went with it
    assert _ids(await _search(person, senders=[GP_GLN])) == [a1["id"], old["id"]]
    status, problem, _ = await person.request("GET", f"/v1/messages/{old['id']}")
    assert (status, problem["code"]) == (410, "letter-removed")

    # the other organisations see their own letters only
    assert _ids(await _search(family)) == [other["id"], a2["id"]]

    # bad searches: each with its code, never the value sent
    status, problem = await _post(person, "/v1/letters/search", {"child": "3213000000"})
    assert (status, problem["code"]) == (422, "invalid-cpr")
    assert "3213000000" not in json.dumps(problem)
    status, problem = await _post(person, "/v1/letters/search", {"before": "not-a-cursor"})
    assert (status, problem["code"]) == (400, "invalid-cursor")
    status, problem = await _post(person, "/v1/letters/search", {"senders": ["5790000000000"]})
    assert (status, problem["code"]) == (422, "invalid-gln")
    status, problem = await _post(person, "/v1/letters/search", {"limit": 0, "cpr": "x"})
    assert (status, problem["code"]) == (422, "invalid-search")
    status, problem = await _post(person, "/v1/letters/search", [])
    assert (status, problem["code"]) == (400, "invalid-json")
    operator = await hub.user(GP_GLN, Role.OPERATOR)
    status, _ = await _post(operator, "/v1/letters/search", {})
    assert status == 403
