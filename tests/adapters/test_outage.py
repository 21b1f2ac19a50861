"""The hub goes away in the middle of traffic and comes back: nothing the sector systems
produced is lost, and nothing arrives twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.filedrop import write_atomically
from messages.hl7.build import build_referral
from messages.hl7.samples import GP_GLN, PPR_GLN, make_referral, make_routing
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message, parse_message
from messages.medcom.model import Correspondence, Party, Patient
from messages.medcom.registry import SchemaRegistry
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually, mllp_send

REGISTRY = SchemaRegistry()
REFERRALS = 24
FILES = 6


def clinic_letter(n: int) -> bytes:
    letter = new_correspondence(
        sender=Party(
            ean=GP_GLN,
            identifier="012345",
            identifier_code="ydernummer",
            organisation_name="Lægehuset",
        ),
        receiver=Party(ean=PPR_GLN, identifier=PPR_GLN, identifier_code="lokationsnummer"),
        patient=Patient(surname="Jensen", given_name="Mads", cpr="1203164321"),
        subject=f"Opfølgning {n}",
        text="Status fra almen praksis.",
        ask_for_receipt=True,
    )
    return build_message(letter)


def names(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern))


async def test_an_outage_loses_nothing_and_doubles_nothing(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)
    routing = make_routing()
    acks: list[str] = []

    async def clinic() -> None:
        for n in range(REFERRALS):
            er7 = build_referral(
                make_referral(referral_id=f"HEN-{n:04d}"), routing, control_id=f"C-{n}"
            )
            ack = await mllp_send(gp.mllp_port, er7)
            acks.append(str(ack.segment("MSA")[1]))
            if n % 4 == 0:
                write_atomically(gp.filedrop.config.outbox, f"brev-{n}.xml", clinic_letter(n))
            await asyncio.sleep(0.05)

    traffic = asyncio.create_task(clinic())
    await asyncio.sleep(0.3)
    await hub.stop()  # the hub is gone in the middle of the traffic

    async def held() -> bool:  # the adapter noticed, and keeps what it took
        return not gp.outbox.hub_reachable and gp.outbox.depth > 0

    await eventually(held, within=30)
    await hub.start()
    await traffic
    assert acks == ["AA"] * REFERRALS

    expected = REFERRALS + FILES
    inbox = ppr.filedrop.config.inbox

    async def all_letters_in() -> bool:
        return len(await asyncio.to_thread(names, inbox, "XDIS91_*.xml")) >= expected

    await eventually(all_letters_in, within=30)
    letters = [
        parse_message(p.read_bytes(), registry=REGISTRY)
        for p in await asyncio.to_thread(names, inbox, "XDIS91_*.xml")
    ]
    assert len(letters) == expected  # exactly once
    ids = {m.letter_identifier for m in letters if isinstance(m, Correspondence)}
    assert len(ids) == expected
    subjects = sorted(m.subject or "" for m in letters if isinstance(m, Correspondence))
    assert subjects.count("Henvisning HEN-0000") == 1

    async def all_receipts_back() -> bool:
        found = await asyncio.to_thread(names, gp.filedrop.config.inbox, "XCTL03_*.xml")
        return len(found) >= expected

    await eventually(all_receipts_back, within=30)
    await asyncio.sleep(0.3)
    assert len(names(gp.filedrop.config.inbox, "XCTL03_*.xml")) == expected
    sent = await gp.hub.outbox(limit=1000)
    letters_sent = [m for m in sent if m["type"] == "XDIS91"]
    assert len(letters_sent) == expected
    assert not [m for m in letters_sent if m.get("resend")]
    assert gp.outbox.depth == 0
    assert ppr.delivered == expected
