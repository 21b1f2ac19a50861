"""An adapter whose organisation speaks MedCom FHIR: its system's FHIR bundles (``*.json`` in
the file drop) go to the hub as they are, letters come as CareCommunications (``*.json``)
and are acknowledged with a FHIR Acknowledgement; its OIOXML partner sees XDIS91 and XCTL03.
A real hub converts between them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.base import Adapter
from adapters.filedrop import write_atomically
from coordinator.security.credentials import local_actor, register_organisation
from coordinator.state import ENGINE
from coordinator.tables import MessageFormat, OrganisationCreate, Sector
from messages.fhir.build import build_fhir
from messages.fhir.convert.letter import SorEntry, care_communication_from_oioxml
from messages.fhir.model import Acknowledgement, CareCommunication
from messages.fhir.read import read_fhir
from messages.hl7.samples import PPR_GLN
from messages.medcom.documents import parse_message
from messages.medcom.model import Correspondence, Receipt
from messages.medcom.registry import SchemaRegistry
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually, gln
from tests.adapters.test_filedrop import letter_bytes

BUP_GLN = gln(77)
REGISTRY = SchemaRegistry()


def sor(number: str) -> str:
    return f"10{number}"


async def _register(hub: RestartableHub, number: str, sector: Sector, fmt: MessageFormat) -> None:
    assert hub.app is not None
    _, hub.tokens[number] = await register_organisation(
        actor=local_actor(),
        engine=hub.app[ENGINE],
        organisation=OrganisationCreate(
            gln=number, name=f"Org {number}", sector=sector, sor=sor(number), format=fmt
        ),
    )


async def _files(adapter: Adapter, pattern: str) -> list[Path]:
    async def found() -> list[Path]:
        inbox = adapter.filedrop.config.inbox
        return await asyncio.to_thread(lambda: sorted(inbox.glob(pattern)))

    return await eventually(found)  # type: ignore[no-any-return]


async def test_a_fhir_partner_and_an_oioxml_partner_through_their_adapters(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    await _register(hub, BUP_GLN, Sector.PSYCHIATRY, MessageFormat.FHIR)
    await _register(hub, PPR_GLN, Sector.PPR, MessageFormat.OIOXML)
    bup = await make_adapter("psychiatry", BUP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)

    # OIOXML → FHIR, and the Acknowledgement back as an XCTL03
    write_atomically(ppr.filedrop.config.outbox, "letter.xml", letter_bytes(PPR_GLN, BUP_GLN))
    [arrived] = await _files(bup, "XDIS91_*.json")
    message = read_fhir(arrived.read_bytes())
    assert isinstance(message, CareCommunication)
    assert (message.sender.gln, message.receiver.gln) == (PPR_GLN, BUP_GLN)
    [receipt] = await _files(ppr, "XCTL03_*.xml")
    xctl = parse_message(receipt.read_bytes(), registry=REGISTRY)
    assert isinstance(xctl, Receipt)
    assert xctl.sender_ean == BUP_GLN

    # FHIR (the system's bundle from the file drop) → OIOXML, and the XCTL03 back as FHIR
    letter = parse_message(letter_bytes(BUP_GLN, PPR_GLN), registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    directory = {n: SorEntry(sor=sor(n)) for n in (BUP_GLN, PPR_GLN)}
    bundle = build_fhir(care_communication_from_oioxml(letter, directory=directory))
    write_atomically(bup.filedrop.config.outbox, "letter.json", bundle)
    [converted] = await _files(ppr, "XDIS91_*.xml")
    assert isinstance(parse_message(converted.read_bytes(), registry=REGISTRY), Correspondence)
    [ack_file] = await _files(bup, "XCTL03_*.json")
    ack = read_fhir(ack_file.read_bytes())
    assert isinstance(ack, Acknowledgement)
    assert ack.positive
    assert list(bup.filedrop.config.rejected.iterdir()) == []
