"""The MedCom file drop: broken files are rejected with a reason, good ones go on, letters
arrive atomically, and a letter the hub refuses comes back as an XCTL01."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from adapters.filedrop import write_atomically
from messages.hl7.samples import GP_GLN, PPR_GLN
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message, parse_message
from messages.medcom.model import MessageType, Party, Patient, Receipt
from messages.medcom.registry import SchemaRegistry
from tests.adapters.conftest import MakeAdapter, eventually, gln

REGISTRY = SchemaRegistry()


def letter_bytes(sender: str, receiver: str, *, ask: bool = True) -> bytes:
    letter = new_correspondence(
        sender=Party(
            ean=sender,
            identifier=sender,
            identifier_code="lokationsnummer",
            organisation_name="Afsender",
        ),
        receiver=Party(ean=receiver, identifier=receiver, identifier_code="lokationsnummer"),
        patient=Patient(surname="Jensen", given_name="Mads", cpr="1203164321"),
        subject="Status",
        text="Barnet er set i dag.",
        ask_for_receipt=ask,
    )
    return build_message(letter)


def exists(path: Path) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await asyncio.to_thread(path.exists)

    return check


async def test_broken_files_are_rejected_with_a_reason_and_good_ones_still_go(
    make_adapter: MakeAdapter,
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)
    drop = gp.filedrop.config
    good = letter_bytes(GP_GLN, PPR_GLN)
    write_atomically(drop.outbox, "a-broken.xml", b"<Emessage><unclosed>")
    write_atomically(
        drop.outbox,
        "b-invalid.xml",
        good.replace(b"<Subject>", b"<Subjekt>", 1).replace(b"</Subject>", b"</Subjekt>", 1),
    )
    write_atomically(drop.outbox, "c-not-ours.xml", letter_bytes(PPR_GLN, GP_GLN))
    write_atomically(drop.outbox, "d-good.xml", good)
    write_atomically(drop.outbox, "e-notes.txt", b"not for sending")

    await eventually(exists(drop.sent / "d-good.xml"))
    for name, code in (
        ("a-broken.xml", "syntaksfejl"),
        ("b-invalid.xml", "syntaksfejl"),
        ("c-not-ours.xml", "sender-mismatch"),
    ):
        await eventually(exists(drop.rejected / f"{name}.reason.txt"))
        reason = (drop.rejected / f"{name}.reason.txt").read_text()
        assert f"code: {code}" in reason, reason
        assert (drop.rejected / name).exists()
        assert "1203164321" not in reason
    assert (drop.outbox / "e-notes.txt").exists()  # not a MedCom file: left alone
    await eventually(
        lambda: asyncio.to_thread(lambda: any(ppr.filedrop.config.inbox.glob("XDIS91_*")))
    )
    assert gp.health()["files_rejected"] == 3
    assert gp.health()["files_sent"] == 1


async def test_a_file_to_an_unknown_receiver_comes_back_as_xctl01(
    make_adapter: MakeAdapter,
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    write_atomically(gp.filedrop.config.outbox, "lost.xml", letter_bytes(GP_GLN, gln(8_888)))

    async def xctl01() -> list[Path]:
        return await asyncio.to_thread(lambda: sorted(gp.filedrop.config.inbox.glob("XCTL01_*")))

    found = await eventually(xctl01)
    receipt = parse_message(found[0].read_bytes(), registry=REGISTRY)
    assert isinstance(receipt, Receipt)
    assert receipt.type is MessageType.XCTL01
    assert receipt.refuse_code is not None
    assert receipt.refuse_code.value == "ukendt_lokationsnummer"
    assert await gp.outbox.drain(5.0)


async def test_inbox_files_appear_whole_and_the_letter_is_handed_over_once(
    make_adapter: MakeAdapter,
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)
    body = letter_bytes(PPR_GLN, GP_GLN, ask=False)
    (status,) = [await ppr.hub.submit(body)]
    target = gp.filedrop.config.inbox / f"XDIS91_{status['id']}.xml"
    await eventually(exists(target))
    assert target.read_bytes() == body  # byte for byte
    assert not [p for p in gp.filedrop.config.inbox.iterdir() if p.name.startswith(".")]

    async def acked() -> bool:
        state = await ppr.hub.status(status["id"])
        return bool(state["status"] == "acknowledged")

    await eventually(acked)
    again = await ppr.hub.submit(body)  # the same letter again: a duplicate at the hub
    assert again["duplicate"]
    assert again["id"] == status["id"]  # no new message: nothing more can reach the GP
    assert (await ppr.hub.status(status["id"]))["status"] == "acknowledged"  # not queued again
    assert gp.delivered == 1
    # no positive receipt was asked for, so none is sent
    assert not [i for i in await gp.outbox.items() if i.kind == "message"]
