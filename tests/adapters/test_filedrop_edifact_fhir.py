"""A clinic whose system speaks EDIFACT refers to a partner whose system speaks MedCom FHIR:
the DIS91 from the clinic's file drop arrives as a CareCommunication, the partner's system
answers with an Acknowledgement, and the clinic gets its CTL03 back, in EDIFACT. A real hub
converts both ways."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydifact.parser import Parser

from adapters.config import FileDropConfig, ReceiptsBy
from adapters.filedrop import write_atomically
from coordinator.security.credentials import local_actor, register_organisation
from coordinator.state import ENGINE
from coordinator.tables import MessageFormat, OrganisationCreate, Sector
from messages.fhir.answer import acknowledgement_for
from messages.fhir.build import build_fhir
from messages.fhir.model import CPR_SYSTEM, CareCommunication
from messages.fhir.read import read_fhir
from messages.hl7.samples import GP_GLN
from messages.medcom.edifact import build_edifact, parse_edifact
from messages.medcom.model import MessageType, Receipt
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually, gln
from tests.adapters.test_filedrop_edifact import edifact_drop, files, letter

BUP_GLN = gln(78)


async def _register(hub: RestartableHub, number: str, sector: Sector, fmt: MessageFormat) -> None:
    """Register with a SOR code (a CareCommunication names both ends by SOR and GLN)."""
    assert hub.app is not None
    _, hub.tokens[number] = await register_organisation(
        actor=local_actor(),
        engine=hub.app[ENGINE],
        organisation=OrganisationCreate(
            gln=number, name=f"Org {number}", sector=sector, sor=f"10{number}", format=fmt
        ),
    )


def _pydifact(data: bytes) -> dict[str, list[list[Any]]]:
    """The segments pydifact (an independent EDIFACT reader) finds, by tag."""
    with warnings.catch_warnings():  # pydifact has no directory for MedCom's D93A
        warnings.simplefilter("ignore")
        segments = list(Parser().parse(data.decode("latin-1")))
    by_tag: dict[str, list[list[Any]]] = {}
    for segment in segments:
        by_tag.setdefault(segment.tag, []).append(list(segment.elements))
    return by_tag


def _resources(bundle: Bundle, kind: str | None = None) -> list[Any]:
    resources = [e.resource for e in bundle.entry or [] if e.resource is not None]
    return [r for r in resources if kind is None or r.__resource_type__ == kind]


async def test_an_edifact_clinic_refers_to_a_fhir_partner_and_gets_its_ctl_as_edifact(
    hub: RestartableHub, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    await _register(hub, GP_GLN, Sector.GP, MessageFormat.OIOXML)
    await _register(hub, BUP_GLN, Sector.PSYCHIATRY, MessageFormat.FHIR)
    gp = await make_adapter("gp", GP_GLN, filedrop=edifact_drop(tmp_path))
    # the partner's own system writes the Acknowledgement
    partner_drop = FileDropConfig(
        root=tmp_path / "bup", poll_interval=0.05, receipts=ReceiptsBy.SYSTEM
    )
    bup = await make_adapter("psychiatry", BUP_GLN, filedrop=partner_drop)

    sent = letter(GP_GLN, BUP_GLN)
    write_atomically(gp.filedrop.config.outbox, "henvisning.edi", build_edifact(sent))

    # the partner's file drop receives a CareCommunication bundle ...
    [arrived] = await eventually(files(partner_drop.inbox, "XDIS91_*.json"))
    body = arrived.read_bytes()
    message = read_fhir(body)
    assert isinstance(message, CareCommunication)
    assert (message.sender.gln, message.receiver.gln) == (GP_GLN, BUP_GLN)
    assert message.patient.cprs == ("1203164321",)
    assert "Mads har svært ved at komme i skole." in message.texts[0].text
    # ... which an independent FHIR library reads the same way
    bundle = Bundle.model_validate_json(body)
    assert len(_resources(bundle)) == len(bundle.entry or []) > 0
    for resource in _resources(bundle):  # each entry against its own R4B model
        tree = resource.model_dump(mode="json")
        get_fhir_model_class(tree["resourceType"]).model_validate(tree)
    [patient] = _resources(bundle, "Patient")
    assert [(i.system, i.value) for i in patient.identifier] == [(CPR_SYSTEM, "1203164321")]
    [communication] = _resources(bundle, "Communication")
    assert any(
        "Mads har svært ved at komme i skole." in (p.contentString or "")
        for p in communication.payload
    )
    assert list(partner_drop.rejected.iterdir()) == []
    assert (gp.filedrop.config.sent / "henvisning.edi").exists()

    # the partner's system answers with a positive Acknowledgement
    ack = acknowledgement_for(message, now=datetime.now(UTC))
    write_atomically(partner_drop.outbox, "ack.json", build_fhir(ack))

    # the clinic's EDIFACT inbox holds a CTL03 for its letter
    [ctl] = await eventually(files(gp.filedrop.config.inbox, "CTL03_*.edi"))
    data = ctl.read_bytes()
    receipt = parse_edifact(data)
    assert isinstance(receipt, Receipt)
    assert receipt.type is MessageType.XCTL03
    assert (receipt.sender_ean, receipt.receiver_ean) == (BUP_GLN, GP_GLN)
    assert receipt.original_envelope_identifier == sent.envelope.identifier
    assert [o.identifier for o in receipt.original_letters] == [sent.letter_identifier]
    segments = _pydifact(data)
    [unh] = segments["UNH"]
    assert unh[1] == ["CONTRL", "D", "93A", "ZZ", "C0330Q"]  # CTL03
    [uci] = segments["UCI"]
    assert (uci[0], uci[3]) == (sent.envelope.identifier, "7")  # 7: accepted
    [ucm] = segments["UCM"]
    assert (ucm[0], ucm[2]) == (sent.letter_identifier, "7")
    assert "FTX" not in segments
    assert list(partner_drop.rejected.iterdir()) == []
    assert list(gp.filedrop.config.rejected.iterdir()) == []
    assert (partner_drop.sent / "ack.json").exists()
    assert bup.health()["files_rejected"] == gp.health()["files_rejected"] == 0
