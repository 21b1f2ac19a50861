"""The GP adapter through a real hub: MLLP in (python-hl7's client), files out, ACKs back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from adapters.outbox import ItemState
from messages.hl7.build import build_appointment, build_episode_event, build_referral
from messages.hl7.model import AppointmentEvent, AppointmentStatus, EpisodeEventKind, Organisation
from messages.hl7.samples import (
    CHILD_CPR,
    GP_GLN,
    PPR_GLN,
    make_appointment,
    make_episode_event,
    make_referral,
    make_routing,
)
from messages.medcom.documents import parse_message
from messages.medcom.model import Correspondence, MessageType, Receipt
from messages.medcom.registry import SchemaRegistry
from tests.adapters.conftest import MakeAdapter, eventually, gln, mllp_send

REGISTRY = SchemaRegistry()


def msa(ack: Any) -> tuple[str, str, str]:
    segment = ack.segment("MSA")
    return str(segment[1]), str(segment[2]), str(segment[3]) if len(segment) > 3 else ""


def files(folder: Path, pattern: str) -> Any:
    async def check() -> list[Path]:
        return await asyncio.to_thread(lambda: sorted(folder.glob(pattern)))

    return check


async def test_referral_over_mllp_reaches_ppr_as_a_file_and_the_receipt_comes_back(
    make_adapter: MakeAdapter,
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)
    er7 = build_referral(make_referral(), make_routing(), control_id="REF-1")

    ack = await mllp_send(gp.mllp_port, er7)
    assert msa(ack)[:2] == ("AA", "REF-1")

    letters = await eventually(files(ppr.filedrop.config.inbox, "XDIS91_*.xml"))
    letter = parse_message(letters[0].read_bytes(), registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    assert letter.sender.ean == GP_GLN
    assert letter.receiver.ean == PPR_GLN
    assert letter.patient.cpr == CHILD_CPR
    assert letter.subject == "Henvisning HEN-2024-000042"
    assert letter.envelope.wants_positive_receipt

    receipts = await eventually(files(gp.filedrop.config.inbox, "XCTL03_*.xml"))
    receipt = parse_message(receipts[0].read_bytes(), registry=REGISTRY)
    assert isinstance(receipt, Receipt)
    assert receipt.type is MessageType.XCTL03
    assert receipt.original_letters[0].identifier == letter.letter_identifier

    # the hub saw the letter through: receipted; the GP's own case entry went out too
    sent = [i for i in await gp.outbox.items() if i.kind == "message"]
    status = await gp.hub.status(sent[0].result["id"])
    assert status["status"] == "receipted"

    async def case_sent() -> dict[str, ItemState] | None:
        kinds = {i.kind: i.state for i in await gp.outbox.items()}
        return kinds if kinds.get("case") is not ItemState.PENDING else None

    kinds = await eventually(case_sent)
    assert kinds["message"] is ItemState.SENT
    assert kinds["case"] is ItemState.SENT

    # both sides acknowledged what they took: nothing left in either inbox
    async def both_empty() -> bool:
        return bool(await gp.hub.inbox() == [] and await ppr.hub.inbox() == [])

    await eventually(both_empty)


async def test_the_same_referral_sent_again_is_one_letter(make_adapter: MakeAdapter) -> None:
    gp = await make_adapter("gp", GP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)
    er7 = build_referral(make_referral(), make_routing(), control_id="REF-2")
    first = await mllp_send(gp.mllp_port, er7)
    again = await mllp_send(gp.mllp_port, er7)  # the ACK was lost; the clinic resends
    assert msa(first)[0] == msa(again)[0] == "AA"
    await eventually(files(ppr.filedrop.config.inbox, "XDIS91_*.xml"))

    # settled: the GP's outbox has sent all it holds and nothing waits in PPR's inbox at
    # the hub, so no second letter can still be on its way
    async def settled() -> bool:
        return gp.outbox.depth == 0 and not await ppr.hub.inbox()

    await eventually(settled)
    assert len(list(ppr.filedrop.config.inbox.glob("XDIS91_*.xml"))) == 1
    assert len([i for i in await gp.outbox.items() if i.kind == "message"]) == 1


async def test_an_unknown_receiver_is_answered_ae_with_the_hubs_code(
    make_adapter: MakeAdapter,
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    referral = make_referral(receiver=Organisation(gln(9_999), "Ukendt PPR"))
    ack = await mllp_send(gp.mllp_port, build_referral(referral, make_routing()))
    code, _, text = msa(ack)
    assert code == "AE"
    assert "ukendt_lokationsnummer" in text
    assert str(ack.segment("ERR")[5]) == "ukendt_lokationsnummer"
    # the clinic also gets the MedCom answer it understands: an XCTL01 in its inbox
    xctl01 = await eventually(files(gp.filedrop.config.inbox, "XCTL01_*.xml"))
    receipt = parse_message(xctl01[0].read_bytes(), registry=REGISTRY)
    assert isinstance(receipt, Receipt)
    assert receipt.type is MessageType.XCTL01
    assert receipt.refuse_code is not None
    assert receipt.refuse_code.value == "ukendt_lokationsnummer"
    assert await gp.outbox.drain(5.0)  # refused for good: nothing stuck
    states = {i.kind: (i.state, i.code) for i in await gp.outbox.items()}
    assert states["message"] == (ItemState.REFUSED, "ukendt_lokationsnummer")
    assert states["case"] == (ItemState.REFUSED, "referral-refused")


async def test_appointments_and_episodes_are_acknowledged(make_adapter: MakeAdapter) -> None:
    gp = await make_adapter("gp", GP_GLN)
    routing = make_routing()
    messages = [
        build_episode_event(make_episode_event(case_ref="GP-1"), routing, control_id="A04-1"),
        build_appointment(make_appointment(case_ref="GP-1"), routing, control_id="S12-1"),
        build_appointment(
            make_appointment(
                case_ref="GP-1",
                event=AppointmentEvent.CANCELLED,
                status=AppointmentStatus.CANCELLED,
            ),
            routing,
            control_id="S15-1",
        ),
        build_episode_event(
            make_episode_event(case_ref="GP-1", kind=EpisodeEventKind.END),
            routing,
            control_id="A03-1",
        ),
    ]
    for number, er7 in enumerate(messages):
        ack = await mllp_send(gp.mllp_port, er7)
        assert msa(ack)[0] in ("AA", "AE"), number  # AE only if the index API is not there yet
    assert gp.health()["acks"]["AR"] == 0
    await gp.outbox.drain(5.0)
    assert gp.outbox.depth == 0


async def test_malformed_hl7_is_answered_ae_and_garbage_ar(
    make_adapter: MakeAdapter,
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    bad_cpr = build_referral(make_referral(), make_routing(), control_id="BAD-1").replace(
        CHILD_CPR, "3113164321"
    )
    ack = await mllp_send(gp.mllp_port, bad_cpr)
    assert msa(ack)[:2] == ("AE", "BAD-1")
    assert str(ack.segment("ERR")[5]) == "invalid-cpr"
    unsupported = "MSH|^~\\&|X|Y|Z|W|20240312101500||ORU^R01|C-9|P|2.5\rPID|1||1203164321"
    ack = await mllp_send(gp.mllp_port, unsupported)
    assert msa(ack)[:2] == ("AE", "C-9")

    ack = await mllp_send(gp.mllp_port, b"this is not HL7 at all")
    assert msa(ack)[:2] == ("AR", "")  # nothing to acknowledge but the frame itself
    assert str(ack.segment("ERR")[5]) == "no-msh"
    assert gp.health()["unreadable"] == 1
    # and the listener goes on serving
    ack = await mllp_send(gp.mllp_port, build_referral(make_referral(), make_routing()))
    assert msa(ack)[0] in ("AA", "AE")


async def test_an_oversize_frame_closes_that_connection_only(make_adapter: MakeAdapter) -> None:
    from adapters.config import MllpConfig

    gp = await make_adapter("gp", GP_GLN, mllp=MllpConfig(port=0, max_frame=4096))
    reader, writer = await asyncio.open_connection("127.0.0.1", gp.mllp_port)
    writer.write(b"\x0bMSH|^~\\&|" + b"X" * 10_000 + b"\x1c\x0d")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert gp.health()["oversize_frames"] == 1
    ack = await mllp_send(gp.mllp_port, build_referral(make_referral(), make_routing()))
    assert msa(ack)[0] == "AE"  # PPR is not registered in this test: unknown receiver
