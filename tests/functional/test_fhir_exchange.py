"""A FHIR partner and an OIOXML partner exchange letters and receipts through a real hub:
each gets its own format, receipts come back across formats, duplicates are recognised
across formats, and hostile FHIR is refused with the error's code."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from coordinator.mailbox.conversion import KEPT
from coordinator.mailbox.expiry import sweep_once
from coordinator.mailbox.retention import LETTER_RETENTION_TOTALS, run_letter_retention
from coordinator.state import CLOCK, COMMITTER, ENGINE, SETTINGS
from coordinator.tables import MESSAGE_CONVERSION, MessageFormat, Sector
from messages.fhir.answer import acknowledgement_for
from messages.fhir.build import build_fhir, care_communication_tree
from messages.fhir.codec import dump_json
from messages.fhir.convert.letter import SorEntry, care_communication_from_oioxml
from messages.fhir.model import Acknowledgement, CareCommunication
from messages.fhir.read import read_fhir
from messages.medcom.binary import read_binary_letter
from messages.medcom.correspondence import read_correspondence
from messages.medcom.documents import build_message
from messages.medcom.model import MessageType, Party
from messages.medcom.receipts import read_receipt
from messages.medcom.text import to_plain
from messages.xmlsafe import parse_xml
from tests.fhir_samples import PDF, sample_binary, sample_letter, with_specific_parties
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, Hub, MakeHub, TurnedClock
from tests.functional.samples import new_id, receipt, xdis91

GP_SOR = "1017421000016003"
PPR_SOR = "1385391000016002"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _party(gln: str, name: str) -> Party:
    return Party(ean=gln, identifier=gln, identifier_code="lokationsnummer", organisation_name=name)


def care_communication(*, attachment: bool = True) -> CareCommunication:
    """A CareCommunication from the GP (FHIR) to PPR, as a FHIR system would send it."""
    letter = sample_letter(with_attachment=attachment)
    letter = replace(letter, sender=_party(GP_GLN, "Lægehuset"), receiver=_party(PPR_GLN, "PPR"))
    binary = sample_binary(letter) if attachment else None
    directory = {GP_GLN: SorEntry(sor=GP_SOR), PPR_GLN: SorEntry(sor=PPR_SOR)}
    return care_communication_from_oioxml(letter, binary, directory=directory)


async def partners(hub: Hub) -> tuple[Client, Client]:
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset", fmt=MessageFormat.FHIR, sor=GP_SOR)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR", sor=PPR_SOR)
    return gp, ppr


async def send_fhir(client: Client, body: bytes) -> tuple[int, Any]:
    status, parsed, _ = await client.request("POST", "/v1/messages", body=body, headers=FHIR_JSON)
    return status, parsed


async def _record_receipts(hub: Hub) -> tuple[bool, bool, bool]:
    """The one conversion record's (letter receipt kept, binary receipt kept, answered)."""
    async with hub.app[ENGINE].connect() as conn:
        [row] = (await conn.execute(select(MESSAGE_CONVERSION))).all()
    return row.letter_receipt is not None, row.binary_receipt is not None, row.answered


async def test_fhir_letter_to_an_oioxml_partner_and_its_receipts_back(hub: Hub) -> None:
    gp, ppr = await partners(hub)
    message = care_communication()
    body = build_fhir(message)

    status, accepted = await send_fhir(gp, body)
    assert status == 202, accepted
    entries = {e["type"]: e for e in await ppr.inbox()}
    assert set(entries) == {"XDIS91", "XBIN01"}  # one XBIN01 with the attachment (C9)
    assert {e["format"] for e in entries.values()} == {"oioxml"}
    assert entries["XDIS91"]["id"] == accepted["id"]
    letter = read_correspondence(parse_xml(await ppr.fetch(entries["XDIS91"]["id"])))
    binary = read_binary_letter(parse_xml(await ppr.fetch(entries["XBIN01"]["id"])))
    assert (letter.sender.ean, letter.receiver.ean) == (GP_GLN, PPR_GLN)
    assert [o.base64 for o in binary.objects] == [message.attachments[0].data]
    assert await gp.fetch(accepted["id"]) == body  # the sender sees what it sent

    # the same bundle again is a duplicate, as a resent XDIS91 is
    status, again = await send_fhir(gp, body)
    assert (status, again["id"], again["duplicate"]) == (200, accepted["id"], True)

    kept_on_record: list[tuple[bool, bool, bool]] = []
    for kept in (letter, binary):
        await ppr.ack(entries[kept.type.value]["id"])
        status, sent = await ppr.send_receipt(
            GP_GLN, kept.envelope.identifier, kept.letter_identifier
        )
        assert status == 202
        # the hub takes the XCTL for the FHIR clinic: acknowledged, not in anyone's inbox
        seen = await ppr.status(sent["id"])
        assert seen["status"] == "acknowledged"
        assert [e["status"] for e in seen["events"]] == ["accepted", "acknowledged"]
        kept_on_record.append(await _record_receipts(hub))
    # the letter's receipt waits on the record for the attachment's; with both, the
    # Acknowledgement is made and no receipt is kept
    assert kept_on_record == [(True, False, False), (False, False, True)]
    [answer] = await gp.inbox()  # one Acknowledgement for the two XCTL03 (C11)
    assert (answer["type"], answer["format"]) == ("XCTL03", "fhir")
    status, again = await ppr.send(  # a second positive receipt: refused, no second answer
        receipt(
            sender=PPR_GLN,
            receiver=GP_GLN,
            original_envelope_id=letter.envelope.identifier,
            original_letter_id=letter.letter_identifier,
        )
    )
    assert (status, again["code"]) == (409, "already-receipted")
    assert [e["id"] for e in await gp.inbox()] == [answer["id"]]
    status, _, raw = await gp.request("GET", f"/v1/messages/{answer['id']}")
    ack = read_fhir(raw)
    assert isinstance(ack, Acknowledgement)
    assert (ack.response_identifier, ack.code) == (message.header_id, "ok")

    tracking = await gp.status(accepted["id"])
    assert tracking["status"] == "receipted"
    assert tracking["letter_id"] == letter.letter_identifier
    assert tracking["fhir_bundle_id"] == message.bundle_id
    assert tracking["fhir_message_id"] == message.header_id
    assert (tracking["sent_as"], tracking["delivered_as"]) == ("fhir", "oioxml")


async def test_oioxml_letter_to_a_fhir_partner_and_its_acknowledgement_back(hub: Hub) -> None:
    gp, ppr = await partners(hub)
    envelope, letter_id = new_id("K"), new_id("B")
    body = xdis91(sender=PPR_GLN, receiver=GP_GLN, envelope_id=envelope, letter_id=letter_id)
    status, accepted = await ppr.send(body)
    assert status == 202, accepted

    [entry] = await gp.inbox()
    assert (entry["type"], entry["format"]) == ("XDIS91", "fhir")
    status, _, raw = await gp.request("GET", f"/v1/messages/{entry['id']}")
    assert status == 200
    message = read_fhir(raw)
    assert isinstance(message, CareCommunication)
    assert (message.sender.gln, message.receiver.gln) == (PPR_GLN, GP_GLN)
    assert await ppr.fetch(accepted["id"]) == body
    await gp.ack(entry["id"])

    ack = acknowledgement_for(message, now=datetime.now(UTC))
    status, sent = await send_fhir(gp, build_fhir(ack))
    assert status == 202, sent
    status, again = await send_fhir(gp, build_fhir(ack))  # the same Acknowledgement again
    assert (status, again["duplicate"]) == (200, True)

    [answer] = await ppr.inbox()
    assert (answer["type"], answer["format"]) == ("XCTL03", "oioxml")
    xctl = read_receipt(parse_xml(await ppr.fetch(answer["id"])))
    assert xctl.type is MessageType.XCTL03
    assert xctl.original_envelope_identifier == envelope
    assert [o.identifier for o in xctl.original_letters] == [letter_id]

    tracking = await ppr.status(accepted["id"])
    assert tracking["status"] == "receipted"
    assert tracking["letter_id"] == letter_id
    assert tracking["fhir_message_id"] == message.header_id
    assert tracking["fhir_bundle_id"] == message.bundle_id
    assert (tracking["sent_as"], tracking["delivered_as"]) == ("oioxml", "fhir")


@dataclass(frozen=True)
class HeldLetter:
    clock: TurnedClock
    hub: Hub
    gp: Client
    ppr: Client
    letter: bytes
    binary: bytes
    id: str  # the held XDIS91's


def from_ppr() -> tuple[bytes, bytes]:
    """An XDIS91 with one attachment from PPR (OIOXML) to the GP (FHIR), and its XBIN01;
    each call a new letter, attachment (object identifier) and XBIN01."""
    letter = replace(sample_letter(), sender=_party(PPR_GLN, "PPR"), receiver=_party(GP_GLN, "GP"))
    object_id = uuid.uuid4()
    [ref] = letter.references
    assert ref.binary is not None
    ref = replace(ref, binary=replace(ref.binary, object_identifier=object_id.hex))
    letter = replace(letter, references=(ref,))
    binary = sample_binary(letter)
    [obj] = binary.objects
    binary = replace(
        binary,
        envelope=replace(binary.envelope, identifier=new_id("E")),
        letter_identifier=new_id("L"),
        sender=letter.sender,
        receiver=letter.receiver,
        objects=(replace(obj, object_identifier=str(object_id)),),
    )
    return build_message(letter), build_message(binary)


async def test_an_attachment_sent_before_its_letter_travels_inside_it(hub: Hub) -> None:
    gp, ppr = await partners(hub)
    letter, binary = from_ppr()
    status, bin_sent = await ppr.send(binary)  # the XBIN01 first: held for its XDIS91
    assert status == 202
    assert await gp.inbox() == []
    status, sent = await ppr.send(letter)
    assert status == 202

    [entry] = await gp.inbox()  # one CareCommunication, the attachment's data inside
    assert (entry["type"], entry["format"]) == ("XDIS91", "fhir")
    _, _, raw = await gp.request("GET", f"/v1/messages/{entry['id']}")
    message = read_fhir(raw)
    assert isinstance(message, CareCommunication)
    assert [a.data for a in message.attachments] == [PDF]
    await gp.ack(entry["id"])

    ack = acknowledgement_for(message, now=datetime.now(UTC))
    status, _ = await send_fhir(gp, build_fhir(ack))
    assert status == 202
    receipts = await ppr.inbox()  # two XCTL03: one for the XDIS91, one for the XBIN01 (C11)
    assert sorted(r["type"] for r in receipts) == ["XCTL03", "XCTL03"]
    assert (await ppr.status(sent["id"]))["status"] == "receipted"
    assert (await ppr.status(bin_sent["id"]))["status"] == "receipted"


PAIRS = 20


async def _send_at_once(hub: Hub, gp: Client, senders: tuple[Client, Client]) -> None:
    """PPR sends :data:`PAIRS` letters, each XDIS91 and its XBIN01 at once (two POSTs,
    ``senders[0]`` the XDIS91's, ``senders[1]`` the XBIN01's; half of them the XBIN01
    first); each pair ends in one CareCommunication with the data, nothing held apart,
    and its Acknowledgement becomes two XCTL03 (C10, C11)."""
    sent: dict[str, str] = {}  # the XDIS91's id -> its XBIN01's
    for n in range(PAIRS):
        letter, binary = from_ppr()
        posts = [senders[0].send(letter), senders[1].send(binary)]
        if n % 2:
            posts.reverse()
        answers = dict(zip(("letter", "binary"), await asyncio.gather(*posts), strict=True))
        if n % 2:
            answers = {"letter": answers["binary"], "binary": answers["letter"]}
        assert [status for status, _ in answers.values()] == [202, 202], answers
        sent[answers["letter"][1]["id"]] = answers["binary"][1]["id"]

    entries = await gp.inbox()  # one CareCommunication per pair, the data inside
    assert sorted(e["id"] for e in entries) == sorted(sent)
    assert {(e["type"], e["format"]) for e in entries} == {("XDIS91", "fhir")}
    clock = hub.app[CLOCK]
    assert isinstance(clock, TurnedClock)
    clock.ahead = timedelta(minutes=61)  # nothing held: the sweep has nothing to let go
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    assert sorted(e["id"] for e in await gp.inbox()) == sorted(sent)

    ppr = senders[0]
    for entry in entries:
        _, _, raw = await gp.request("GET", f"/v1/messages/{entry['id']}")
        message = read_fhir(raw)
        assert isinstance(message, CareCommunication)
        assert [a.data for a in message.attachments] == [PDF]
        await gp.ack(entry["id"])
        status, _ = await send_fhir(gp, build_fhir(acknowledgement_for(message, now=clock())))
        assert status == 202
    receipts = await ppr.inbox()  # two XCTL03 per pair: one per OIOXML letter (C11)
    assert [r["type"] for r in receipts] == ["XCTL03"] * 2 * PAIRS
    for letter_id, binary_id in sent.items():
        assert (await ppr.status(letter_id))["status"] == "receipted"
        assert (await ppr.status(binary_id))["status"] == "receipted"


async def test_a_letter_and_its_attachment_sent_at_once_travel_as_one(make_hub: MakeHub) -> None:
    hub = await make_hub(clock=TurnedClock())
    gp, ppr = await partners(hub)
    await _send_at_once(hub, gp, (ppr, ppr))


@pytest.mark.parametrize(  # one hub process per SQLite file: PostgreSQL only
    "hub_db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_hub_processes_pair_a_letter_and_its_attachment_sent_at_once(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(clock=TurnedClock())
    other = await make_hub(clock=TurnedClock())  # another process on the same database
    gp, ppr = await partners(hub)
    ppr_there = Client(other.session, other.base, ppr.token, ppr.gln)
    await _send_at_once(hub, gp, (ppr, ppr_there))


async def archive(client: Client) -> list[str]:
    """The ids the organisation's archive lists."""
    status, page, _ = await client.request(
        "POST",
        "/v1/letters/search",
        body=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, page
    return [e["id"] for e in page["letters"]]


async def held_letter(
    make_hub: MakeHub, *, binary_first: bool = False, **settings: Any
) -> HeldLetter:
    """A hub on a turned clock, and PPR's XDIS91 with one attachment sent to the GP (FHIR)
    without its XBIN01: held for it (C10), accepted and not in the GP's inbox;
    ``binary_first``: the XBIN01 sent without its XDIS91 instead (``id`` the XBIN01's)."""
    clock = TurnedClock()
    hub = await make_hub(clock=clock, **settings)
    gp, ppr = await partners(hub)
    letter, binary = from_ppr()
    status, sent = await ppr.send(binary if binary_first else letter)
    assert status == 202
    assert await gp.inbox() == []
    return HeldLetter(clock, hub, gp, ppr, letter, binary, sent["id"])


async def test_a_letter_waits_for_its_attachment_and_travels_with_it(make_hub: MakeHub) -> None:
    held = await held_letter(make_hub)
    clock, hub, gp, ppr = held.clock, held.hub, held.gp, held.ppr
    status, _, _ = await gp.request("GET", f"/v1/messages/{held.id}")
    assert status == 404  # not fetchable while it waits, nor listed in the receiver's archive
    assert await archive(gp) == []
    assert await archive(ppr) == [held.id]  # its sender's
    assert (await ppr.status(held.id))["status"] == "accepted"
    status, again = await ppr.send(held.letter)  # the same letter again: still a duplicate
    assert (status, again["id"], again["duplicate"]) == (200, held.id, True)

    clock.ahead = timedelta(minutes=59)
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    assert await gp.inbox() == []  # still waiting
    status, bin_sent = await ppr.send(held.binary)  # within the hour: the letter goes, whole
    assert status == 202

    [entry] = await gp.inbox()  # one CareCommunication with the data; no XBIN01 beside it
    assert (entry["id"], entry["type"], entry["format"]) == (held.id, "XDIS91", "fhir")
    assert await archive(gp) == [held.id]
    _, _, raw = await gp.request("GET", f"/v1/messages/{entry['id']}")
    message = read_fhir(raw)
    assert isinstance(message, CareCommunication)
    assert [a.data for a in message.attachments] == [PDF]
    assert all(a.title for a in message.attachments)
    assert (await ppr.status(held.id))["fhir_message_id"] == message.header_id
    await gp.ack(entry["id"])
    clock.ahead = timedelta(minutes=121)
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    assert await gp.inbox() == []  # the XBIN01 is inside the letter: never released apart

    ack = acknowledgement_for(message, now=datetime.now(UTC))
    status, _ = await send_fhir(gp, build_fhir(ack))
    assert status == 202
    receipts = await ppr.inbox()  # two XCTL03: one per OIOXML letter (C11)
    assert sorted(r["type"] for r in receipts) == ["XCTL03", "XCTL03"]
    assert (await ppr.status(held.id))["status"] == "receipted"
    assert (await ppr.status(bin_sent["id"]))["status"] == "receipted"


async def test_a_letter_whose_attachment_does_not_come_goes_without_it(
    make_hub: MakeHub,
) -> None:
    held = await held_letter(make_hub)
    gp = held.gp
    held.clock.ahead = timedelta(minutes=61)
    await sweep_once(held.hub.app[COMMITTER], held.hub.app[SETTINGS], held.clock)
    [entry] = await gp.inbox()  # released as converted: the attachment without data (C10)
    assert (entry["id"], entry["format"]) == (held.id, "fhir")
    _, _, raw = await gp.request("GET", f"/v1/messages/{entry['id']}")
    message = read_fhir(raw)
    assert isinstance(message, CareCommunication)
    assert [(a.data, a.title) for a in message.attachments] == [(None, None)]
    await gp.ack(entry["id"])

    status, _ = await held.ppr.send(held.binary)  # late: forwarded unconverted (C10)
    assert status == 202
    [late] = await gp.inbox()
    assert (late["type"], late["format"]) == ("XBIN01", "oioxml")
    assert await gp.fetch(late["id"]) == held.binary


async def test_an_attachment_whose_letter_never_comes_goes_on_after_an_hour(
    make_hub: MakeHub,
) -> None:
    clock = TurnedClock()
    hub = await make_hub(clock=clock)
    gp, ppr = await partners(hub)
    _, binary = from_ppr()
    status, _ = await ppr.send(binary)
    assert status == 202
    clock.ahead = timedelta(minutes=59)
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    assert await gp.inbox() == []  # still waiting for its XDIS91
    clock.ahead = timedelta(minutes=61)
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    [entry] = await gp.inbox()
    assert (entry["type"], entry["format"]) == ("XBIN01", "oioxml")


async def test_a_negative_receipt_becomes_a_negative_acknowledgement(hub: Hub) -> None:
    gp, ppr = await partners(hub)
    message = care_communication(attachment=False)
    status, accepted = await send_fhir(gp, build_fhir(message))
    assert status == 202
    [entry] = await ppr.inbox()
    letter = read_correspondence(parse_xml(await ppr.fetch(entry["id"])))
    status, _ = await ppr.send_receipt(
        GP_GLN,
        letter.envelope.identifier,
        letter.letter_identifier,
        refuse_code="ikke_specificeret",
    )
    assert status == 202
    [answer] = await gp.inbox()
    assert answer["type"] == "XCTL02"
    _, _, raw = await gp.request("GET", f"/v1/messages/{answer['id']}")
    ack = read_fhir(raw)
    assert isinstance(ack, Acknowledgement)
    assert ack.code == "fatal-error"
    assert (await gp.status(accepted["id"]))["status"] == "rejected"


async def test_fhir_to_fhir_is_carried_as_it_is(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP, fmt=MessageFormat.FHIR, sor=GP_SOR)
    ppr = await hub.org(PPR_GLN, Sector.PPR, fmt=MessageFormat.FHIR, sor=PPR_SOR)
    message = care_communication()
    body = build_fhir(message, fmt="xml")
    status, accepted, _ = await gp.request(
        "POST", "/v1/messages", body=body, headers={"Content-Type": "application/fhir+xml"}
    )
    assert status == 202, accepted
    [entry] = await ppr.inbox()
    status, _, raw = await ppr.request("GET", f"/v1/messages/{entry['id']}")
    assert raw == body
    ack = acknowledgement_for(message, now=datetime.now(UTC))
    status, _ = await send_fhir(ppr, build_fhir(ack))
    assert status == 202
    [answer] = await gp.inbox()
    assert answer["format"] == "fhir"
    assert (await gp.status(accepted["id"]))["status"] == "receipted"


EXPECTED = {
    "fhir-syntax": (400, "fhir-syntax"),
    "fhir-too-deep": (400, "fhir-too-deep"),
    "fhir-duplicate-full-url": (422, "fhir-duplicate-fullurl"),
    "fhir-reference-to-nowhere": (422, "fhir-unresolved-reference"),
    "fhir-wrong-resource-type": (422, "fhir-wrong-resource-type"),
    "fhir-profile": (422, "medcom-status"),
    "fhir-author-role-twice": (422, "cc-7"),
    "fhir-sender-of-another": (422, "cc-11"),
    "fhir-recipient-of-another": (422, "cc-12"),
}


async def test_after_three_months_a_receipt_passes_unconverted(make_hub: MakeHub) -> None:
    clock = TurnedClock()
    hub = await make_hub(clock=clock, message_ttl=timedelta(days=200))
    gp, ppr = await partners(hub)
    status, _ = await send_fhir(gp, build_fhir(care_communication(attachment=False)))
    assert status == 202
    [entry] = await ppr.inbox()
    letter = read_correspondence(parse_xml(await ppr.fetch(entry["id"])))
    await ppr.ack(entry["id"])

    clock.ahead = KEPT + timedelta(days=1)
    app = hub.app
    removed = await run_letter_retention(
        app[COMMITTER], app[SETTINGS], clock, app[LETTER_RETENTION_TOTALS]
    )
    assert removed.conversions == 1
    status, _ = await ppr.send_receipt(GP_GLN, letter.envelope.identifier, letter.letter_identifier)
    assert status == 202
    [answer] = await gp.inbox()  # the XCTL03 as it is: no record to convert it by
    assert (answer["type"], answer["format"]) == ("XCTL03", "oioxml")


def _tree(message: CareCommunication) -> dict[str, Any]:
    tree: dict[str, Any] = care_communication_tree(message)
    return tree


async def test_hostile_fhir_is_refused_with_its_code(hub: Hub) -> None:
    gp, ppr = await partners(hub)
    plain = care_communication(attachment=False)
    good = _tree(plain)

    deep: Any = {}
    for _ in range(200):
        deep = {"extension": [deep]}
    duplicate = json.loads(json.dumps(good))
    duplicate["entry"].append(duplicate["entry"][1])
    nowhere = json.loads(json.dumps(good))
    nowhere["entry"][0]["resource"]["focus"] = [{"reference": f"Communication/{uuid.uuid4()}"}]
    wrong = json.loads(json.dumps(good))
    wrong["entry"][0]["resource"]["focus"] = [{"reference": wrong["entry"][1]["fullUrl"]}]
    broken = replace(care_communication(attachment=False), status="final")
    role_twice = json.loads(json.dumps(good))
    role = next(
        e["resource"]
        for e in role_twice["entry"]
        if e["resource"]["resourceType"] == "PractitionerRole"
    )
    role["code"][0]["text"] = "Overlæge"  # a code and a text: cc-7 wants one of them
    ids = {"sender": plain.sender.id, "receiver": plain.receiver.id}
    cases = {
        "fhir-syntax": b"{not json",
        "fhir-too-deep": json.dumps({"resourceType": "Bundle", **deep}).encode(),
        "fhir-duplicate-full-url": dump_json(duplicate),
        "fhir-reference-to-nowhere": dump_json(nowhere),
        "fhir-profile": build_fhir(broken),
        "fhir-wrong-resource-type": dump_json(wrong),
        "fhir-author-role-twice": dump_json(role_twice),
        "fhir-sender-of-another": dump_json(
            with_specific_parties(good, sender_org=ids["receiver"], recipient_org=ids["receiver"])
        ),
        "fhir-recipient-of-another": dump_json(
            with_specific_parties(good, sender_org=ids["sender"], recipient_org=ids["sender"])
        ),
    }
    codes = {}
    for name, body in cases.items():
        status, problem = await send_fhir(gp, body)
        assert 400 <= status < 500, (name, status, problem)
        codes[name] = (status, problem["code"])
    assert codes == EXPECTED
    assert await gp.inbox() == []
    fitting = with_specific_parties(good, sender_org=ids["sender"], recipient_org=ids["receiver"])
    status, accepted = await send_fhir(gp, dump_json(fitting))  # the parties' own organisations
    assert status == 202, accepted
    [entry] = await ppr.inbox()
    letter = read_correspondence(parse_xml(await ppr.fetch(entry["id"])))
    assert to_plain(letter.clinical_information[0]).endswith(  # C7: as text, in XDIS91
        "\nSpecifik afsender: Lægehuset\nSpecifik modtager: Team 1, PPR\n"
    )


async def test_an_oversized_bundle_is_refused_before_it_is_read(make_hub: MakeHub) -> None:
    hub = await make_hub(max_body_bytes=64 * 1024)
    gp, _ = await partners(hub)
    huge = b'{"resourceType":"Bundle","x":"' + b"a" * (65 * 1024) + b'"}'
    status, problem = await send_fhir(gp, huge)
    assert (status, problem["code"]) == (413, "payload-too-large")
