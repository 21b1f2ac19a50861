"""A clinic whose system speaks EDIFACT: DIS91 letters and CTL receipts through the GP
adapter's file drop (``[filedrop] syntax = "edifact"``), both ways, over a real hub."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from adapters.config import DropSyntax, FileDropConfig, ReceiptsBy
from adapters.errors import AdapterConfigError
from adapters.filedrop import write_atomically
from messages.hl7.samples import GP_GLN, PPR_GLN
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message, parse_message
from messages.medcom.edifact import build_edifact, parse_edifact
from messages.medcom.model import Correspondence, MessageType, Party, Patient, Receipt
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry
from tests.adapters.conftest import MakeAdapter, eventually

REGISTRY = SchemaRegistry()


def letter(sender: str, receiver: str, *, ask: bool = True) -> Correspondence:
    return new_correspondence(
        sender=Party(
            ean=sender,
            identifier="123456",
            identifier_code="ydernummer",
            organisation_name="Lægehuset Vestbyen",
            medical_speciality="almen_medicin",
        ),
        receiver=Party(ean=receiver, identifier=receiver, identifier_code="lokationsnummer"),
        patient=Patient(surname="Jensen", given_name="Mads", cpr="1203164321"),
        subject="Henvisning: Mads + skole?",
        text="Mads har svært ved at komme i skole.\n\nVenlig hilsen\nLægehuset",
        ask_for_receipt=ask,
    )


def edifact_drop(root: Path, **over: Any) -> FileDropConfig:
    return FileDropConfig(
        root=root / "clinic", poll_interval=0.05, syntax=DropSyntax.EDIFACT, **over
    )


def files(folder: Path, pattern: str) -> Any:
    async def found() -> list[Path]:
        return await asyncio.to_thread(lambda: sorted(folder.glob(pattern)))

    return found


async def test_a_dis91_from_the_clinic_arrives_as_xdis91_and_its_ctl03_comes_back(
    make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    gp = await make_adapter("gp", GP_GLN, filedrop=edifact_drop(tmp_path))
    ppr = await make_adapter("municipality", PPR_GLN)
    sent = letter(GP_GLN, PPR_GLN)
    write_atomically(gp.filedrop.config.outbox, "brev1.edi", build_edifact(sent))

    [arrived] = await eventually(files(ppr.filedrop.config.inbox, "XDIS91_*.xml"))
    assert parse_message(arrived.read_bytes(), registry=REGISTRY) == sent
    assert (gp.filedrop.config.sent / "brev1.edi").exists()

    [ctl] = await eventually(files(gp.filedrop.config.inbox, "CTL03_*.edi"))
    receipt = parse_edifact(ctl.read_bytes())
    assert isinstance(receipt, Receipt)
    assert receipt.type is MessageType.XCTL03
    assert receipt.original_envelope_identifier == sent.envelope.identifier
    assert receipt.original_letters[0].identifier == sent.letter_identifier


async def test_a_letter_to_the_clinic_arrives_as_dis91_and_the_clinics_ctl03_goes_back(
    make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    gp = await make_adapter(
        "gp", GP_GLN, filedrop=edifact_drop(tmp_path, receipts=ReceiptsBy.SYSTEM)
    )
    ppr = await make_adapter("municipality", PPR_GLN)
    sent = letter(PPR_GLN, GP_GLN)
    status = await ppr.hub.submit(build_message(sent))

    [arrived] = await eventually(files(gp.filedrop.config.inbox, f"DIS91_{status['id']}.edi"))
    received = parse_edifact(arrived.read_bytes())
    assert received == sent
    assert isinstance(received, Correspondence)

    # the clinic's system writes its own CTL03, in EDIFACT
    write_atomically(gp.filedrop.config.outbox, "kvit.edi", build_edifact(receipt_for(received)))

    async def receipted() -> bool:
        state = await ppr.hub.status(status["id"])
        return bool(state["status"] == "receipted")

    await eventually(receipted)
    [xctl] = await eventually(files(ppr.filedrop.config.inbox, "XCTL03_*.xml"))
    receipt = parse_message(xctl.read_bytes(), registry=REGISTRY)
    assert isinstance(receipt, Receipt)
    assert receipt.original_letters[0].identifier == sent.letter_identifier


async def test_bad_edifact_is_rejected_with_a_reason_and_a_ctl01(
    make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    gp = await make_adapter("gp", GP_GLN, filedrop=edifact_drop(tmp_path))
    drop = gp.filedrop.config
    good = build_edifact(letter(GP_GLN, PPR_GLN))
    write_atomically(drop.outbox, "a-count.edi", good.replace(b"UNZ+1+", b"UNZ+2+"))
    write_atomically(drop.outbox, "b-cut.edi", good[:300])
    write_atomically(drop.outbox, "c-cp1252.edi", good.replace(b"Jensen", b"Jen\x80sen"))
    broken_ctl = build_edifact(receipt_for(letter(PPR_GLN, GP_GLN))).replace(b"UNT+", b"UNT+9")
    write_atomically(drop.outbox, "d-ctl.edi", broken_ctl)

    for name, code in (
        ("a-count.edi", "edifact-count"),
        ("b-cut.edi", "edifact-truncated"),
        ("c-cp1252.edi", "edifact-charset"),
        ("d-ctl.edi", "edifact-count"),
    ):
        [reason] = await eventually(files(drop.rejected, f"{name}.reason.txt"))
        text = reason.read_text()
        assert f"code: {code}" in text, text
        assert "1203164321" not in text
    # a file's CTL01 is written before its reason: all are there now
    ctls = sorted(drop.inbox.glob("CTL01_*.edi"))
    receipts = [parse_edifact(p.read_bytes()) for p in ctls]
    assert len(receipts) == 3  # none for the broken receipt: a receipt is never receipted
    for receipt in receipts:
        assert isinstance(receipt, Receipt)
        assert receipt.type is MessageType.XCTL01
        assert receipt.sender_ean == gp.config.network_gln
        assert receipt.receiver_ean == GP_GLN
    assert gp.health()["files_rejected"] == 4


async def test_edifact_is_a_gp_setting(make_adapter: MakeAdapter, tmp_path: Path) -> None:
    with pytest.raises(AdapterConfigError, match="syntax must be"):
        FileDropConfig(root=tmp_path, syntax="x12")  # type: ignore[arg-type]
    with pytest.raises(AdapterConfigError, match="the gp adapter"):
        await make_adapter("municipality", PPR_GLN, filedrop=edifact_drop(tmp_path), start=False)
