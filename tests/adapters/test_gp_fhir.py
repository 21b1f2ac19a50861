"""A GP clinic that speaks MedCom FHIR at the hub: its system still sends HL7 v2 (``REF^I12``
over MLLP), and its adapter sends the referral as a CareCommunication — the hub converts it
to an XDIS91 for an OIOXML receiver and carries it as it is to a FHIR receiver; the receipts
come back to the clinic as Acknowledgements, a refusal as a negative one. A municipal
department's letter event goes the same way. A real hub on both engines, a real MLLP client.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from adapters.base import Adapter
from adapters.filedrop import write_atomically
from adapters.letterform import OWN_FORMAT
from adapters.outbox import Item, ItemKind, ItemState
from messages.fhir.build import build_fhir
from messages.fhir.convert.letter import SorEntry, care_communication_from_oioxml
from messages.fhir.model import Acknowledgement, CareCommunication
from messages.fhir.read import read_fhir
from messages.hl7.build import build_referral
from messages.hl7.model import Organisation
from messages.hl7.samples import CHILD_CPR, GP_GLN, PPR_GLN, make_referral, make_routing
from messages.medcom.documents import parse_message
from messages.medcom.model import Correspondence
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually, gln, mllp_send
from tests.adapters.test_fhir_partner import REGISTRY, _files, _register, sor
from tests.adapters.test_filedrop import letter_bytes
from tests.adapters.test_gp import msa
from wire.client import FHIR_JSON
from wire.directory import MessageFormat, Sector

BUP_GLN = gln(78)


@pytest.fixture
def hub_database_url(hub_db: str) -> str:
    return hub_db


async def _letters(adapter: Adapter) -> list[Item]:
    return [i for i in await adapter.outbox.items() if i.kind is ItemKind.MESSAGE]


def _quiet(adapter: Adapter) -> Callable[[], Awaitable[bool]]:
    """Settled: the adapter's outbox is empty and nothing waits in its inbox at the hub."""

    async def check() -> bool:
        return adapter.outbox.depth == 0 and not await adapter.hub.inbox()

    return check


async def test_a_fhir_clinics_referrals_reach_oioxml_and_fhir_receivers_and_come_back_acknowledged(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    await _register(hub, GP_GLN, Sector.GP, MessageFormat.FHIR)
    await _register(hub, PPR_GLN, Sector.PPR, MessageFormat.OIOXML)
    await _register(hub, BUP_GLN, Sector.PSYCHIATRY, MessageFormat.FHIR)
    gp = await make_adapter("gp", GP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)
    bup = await make_adapter("psychiatry", BUP_GLN)

    # the directory names each organisation's SOR code and format
    entries = {e["gln"]: e for e in await gp.hub.organisations()}
    assert (entries[GP_GLN]["sor"], entries[GP_GLN]["format"]) == (sor(GP_GLN), "fhir")
    assert (entries[PPR_GLN]["sor"], entries[PPR_GLN]["format"]) == (sor(PPR_GLN), "oioxml")

    # to PPR (OIOXML): sent as a CareCommunication, converted by the hub into an XDIS91
    ack = await mllp_send(
        gp.mllp_port, build_referral(make_referral(), make_routing(), control_id="R-1")
    )
    assert msa(ack)[:2] == ("AA", "R-1")
    [arrived] = await _files(ppr, "XDIS91_*.xml")
    letter = parse_message(arrived.read_bytes(), registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    assert (letter.sender.ean, letter.receiver.ean) == (GP_GLN, PPR_GLN)
    assert letter.patient.cpr == CHILD_CPR
    # MedCom's C7: the Subject is "<category>, <topic>" (a referral's letter is "other")
    assert letter.subject == "Andet, Henvisning HEN-2024-000042"
    [sent] = await _letters(gp)
    assert (sent.state, sent.content_type) == (ItemState.SENT, FHIR_JSON)
    status = await gp.hub.status(sent.result["id"])
    assert (status["sent_as"], status["delivered_as"]) == ("fhir", "oioxml")
    # PPR's adapter answers with an XCTL03; the clinic gets it as an Acknowledgement
    [receipt] = await _files(gp, "XCTL03_*.json")
    answer = read_fhir(receipt.read_bytes())
    assert isinstance(answer, Acknowledgement)
    assert answer.positive
    assert answer.response_identifier == status["fhir_message_id"]
    assert (await gp.hub.status(sent.result["id"]))["status"] == "receipted"

    # to child psychiatry (FHIR): the CareCommunication as the clinic's adapter sent it
    referral = make_referral(
        referral_id="HEN-2024-000043", receiver=Organisation(BUP_GLN, "BUP Midt")
    )
    ack = await mllp_send(gp.mllp_port, build_referral(referral, make_routing(), control_id="R-2"))
    assert msa(ack)[:2] == ("AA", "R-2")
    [carried] = await _files(bup, "XDIS91_*.json")
    message = read_fhir(carried.read_bytes())
    assert isinstance(message, CareCommunication)
    assert (message.sender.sor, message.receiver.sor) == (sor(GP_GLN), sor(BUP_GLN))
    second = next(i for i in await _letters(gp) if i.id != sent.id)
    status = await gp.hub.status(second.result["id"])
    assert (status["sent_as"], status["delivered_as"]) == ("fhir", "fhir")
    assert message.bundle_id == status["fhir_bundle_id"]

    # child psychiatry's adapter acknowledges it; the Acknowledgement comes as it was sent
    async def acknowledged() -> list[object]:
        answers = [read_fhir(p.read_bytes()) for p in await _files(gp, "XCTL03_*.json")]
        return [
            a
            for a in answers
            if isinstance(a, Acknowledgement) and a.response_identifier == message.header_id
        ]

    [bup_answer] = await eventually(acknowledged)
    assert isinstance(bup_answer, Acknowledgement)
    assert bup_answer.positive

    # each referral is one letter, and its case entry went after it
    async def settled() -> bool:
        items = await gp.outbox.items()
        return all(i.state is ItemState.SENT for i in items) and len(items) == 4

    await eventually(settled)
    assert len(list(ppr.filedrop.config.inbox.glob("XDIS91_*"))) == 1
    assert len(list(bup.filedrop.config.inbox.glob("XDIS91_*"))) == 1


async def test_a_referral_stored_while_the_hub_is_away_goes_once_in_the_clinics_format(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    await _register(hub, GP_GLN, Sector.GP, MessageFormat.FHIR)
    await _register(hub, PPR_GLN, Sector.PPR, MessageFormat.OIOXML)
    gp = await make_adapter("gp", GP_GLN, start=False)
    ppr = await make_adapter("municipality", PPR_GLN)
    await hub.stop()
    await gp.start()
    try:
        ack = await mllp_send(
            gp.mllp_port, build_referral(make_referral(), make_routing(), control_id="R-3")
        )
        assert msa(ack)[:2] == ("AA", "R-3")  # stored: the outbox sends it later
        # the form is the hub's to say: undecided until the hub answers
        [held] = await _letters(gp)
        assert (held.state, held.content_type) == (ItemState.PENDING, OWN_FORMAT)
    finally:
        await gp.stop(grace=0.5)

    await hub.start()
    again = await make_adapter("gp", GP_GLN)  # the same folders and outbox
    [arrived] = await _files(ppr, "XDIS91_*.xml")
    assert isinstance(parse_message(arrived.read_bytes(), registry=REGISTRY), Correspondence)

    async def sent() -> Item | None:
        [item] = await _letters(again)
        return item if item.state is ItemState.SENT else None

    item = await eventually(sent)
    assert item.content_type == FHIR_JSON
    status = await again.hub.status(item.result["id"])
    assert status["sent_as"] == "fhir"
    await eventually(_quiet(ppr))
    assert len(list(ppr.filedrop.config.inbox.glob("XDIS91_*"))) == 1


async def test_a_care_communication_the_hub_refuses_comes_back_as_a_negative_acknowledgement(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    await _register(hub, GP_GLN, Sector.GP, MessageFormat.FHIR)
    gp = await make_adapter("gp", GP_GLN)
    nobody = gln(9_998)  # a GLN no organisation at the hub has
    letter = parse_message(letter_bytes(GP_GLN, nobody), registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    directory = {n: SorEntry(sor=sor(n)) for n in (GP_GLN, nobody)}
    message = care_communication_from_oioxml(letter, directory=directory)
    write_atomically(gp.filedrop.config.outbox, "letter.json", build_fhir(message))

    [refusal] = await _files(gp, "XCTL01_refused_*.json")
    assert refusal.name == f"XCTL01_refused_{message.bundle_id}.json"
    answer = read_fhir(refusal.read_bytes())
    assert isinstance(answer, Acknowledgement)
    assert not answer.positive
    assert answer.response_identifier == message.header_id
    assert "ukendt_lokationsnummer" in (answer.details or "")
    [item] = await _letters(gp)
    assert (item.state, item.code) == (ItemState.REFUSED, "ukendt_lokationsnummer")


async def test_a_fhir_departments_letter_event_goes_as_a_care_communication(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    family = gln(3_002)
    await _register(hub, family, Sector.FAMILY, MessageFormat.FHIR)
    await _register(hub, GP_GLN, Sector.GP, MessageFormat.OIOXML)
    department = await make_adapter("municipality", family, sector=Sector.FAMILY)
    gp = await make_adapter("gp", GP_GLN)
    event = {
        "id": "ev-1",
        "type": "letter",
        "receiver_gln": GP_GLN,
        "child_cpr": CHILD_CPR,
        "child_name": {"family": "Testesen", "given": "Alma"},
        "subject": "Fælles møde",
        "text": "Vi foreslår et fælles møde med skolen.",
    }
    [result] = await department.take_lines([json.dumps(event)], "events:test")
    assert result.code is None

    [arrived] = await _files(gp, "XDIS91_*.xml")
    letter = parse_message(arrived.read_bytes(), registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    assert (letter.sender.ean, letter.subject) == (family, "Andet, Fælles møde")
    [receipt] = await _files(department, "XCTL03_*.json")
    answer = read_fhir(receipt.read_bytes())
    assert isinstance(answer, Acknowledgement)
    assert answer.positive
    [item] = await _letters(department)
    assert item.content_type == FHIR_JSON
