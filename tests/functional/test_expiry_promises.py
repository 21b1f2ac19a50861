"""What expiry promises: the overdue flag goes with the letter, the receiver cannot read a
letter its sender was told was not delivered, and the XCTL01 says what happened in words.

The sweep runs on a clock the test turns forward: no test waits for a deadline to pass.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from coordinator.database.engine import _alembic_config, normalise_url
from coordinator.mailbox.status import MessageStatus
from coordinator.sqltypes import utcnow
from coordinator.tables import MESSAGE, Role, Sector
from messages.medcom.documents import parse_message
from messages.medcom.model import Receipt
from messages.medcom.registry import SchemaRegistry
from messages.medcom.text import to_plain
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, Hub, TurnedClock
from tests.functional.samples import new_id, xdis91

TTL = timedelta(hours=5)
DEADLINE = timedelta(hours=2)


async def _hub(make_hub: Any, clock: TurnedClock) -> Hub:
    hub: Hub = await make_hub(
        clock=clock, message_ttl=TTL, receipt_deadline=DEADLINE, expiry_interval=0.05
    )
    return hub


async def _until_overdue(client: Client, message_id: str) -> bool:
    for _ in range(200):  # the sweep runs every 0.05 s; this bounds a broken sweep
        if (await client.status(message_id))["overdue"]:
            return True
        await asyncio.sleep(0.05)
    return False


async def _overdue_counts(hub: Hub, operator: Client) -> tuple[int, str]:
    code, summary, _ = await operator.request("GET", "/v1/operator/summary")
    assert code == 200
    _, _, raw = await hub.anonymous().request("GET", "/metrics")
    [line] = [x for x in raw.decode().splitlines() if x.startswith("samspil_overdue_receipts ")]
    return summary["overdue_receipts"], line


def _receipt_text(body: bytes) -> str:
    receipt = parse_message(body, registry=SchemaRegistry())
    assert isinstance(receipt, Receipt)
    assert receipt.refuse_text is not None
    return to_plain(receipt.refuse_text)


async def test_an_expired_letter_is_no_longer_overdue(make_hub: Any) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock)
    gp = await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN, Sector.PPR)
    operator = await hub.user(GP_GLN, Role.OPERATOR)
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, ack=True))

    clock.turn(DEADLINE + timedelta(minutes=1))
    assert await _until_overdue(gp, sent["id"])
    assert await _overdue_counts(hub, operator) == (1, "samspil_overdue_receipts 1")

    clock.turn(TTL)
    [network_receipt] = await gp.inbox(wait=10)  # woken by the sweep's commit
    assert network_receipt["type"] == "XCTL01"
    status = await gp.status(sent["id"])
    assert (status["status"], status["overdue"]) == ("expired", False)
    assert await _overdue_counts(hub, operator) == (0, "samspil_overdue_receipts 0")


async def test_the_receiver_cannot_read_a_letter_that_expired_unfetched(make_hub: Any) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock)
    gp = await hub.org(GP_GLN, Sector.GP)
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    letter = xdis91(sender=GP_GLN, receiver=PPR_GLN)
    _, sent = await gp.send(letter)

    clock.turn(TTL + timedelta(minutes=1))
    [network_receipt] = await gp.inbox(wait=10)
    text = _receipt_text(await gp.fetch(network_receipt["id"]))
    assert text == "Brevet er ikke hentet af modtageren inden for 5 timer og er udløbet."

    code, problem, raw = await ppr.request("GET", f"/v1/messages/{sent['id']}")
    assert (code, problem["code"], problem["status"]) == (410, "expired", 410)
    assert problem["detail"]
    assert b"Nancy" not in raw  # no letter text
    assert await gp.fetch(sent["id"]) == letter  # the sender still reads its own letter
    code, problem, _ = await ppr.request("POST", f"/v1/messages/{sent['id']}/ack")
    assert code == 409


async def test_the_network_receipt_says_the_letter_was_fetched_but_not_acknowledged(
    make_hub: Any,
) -> None:
    clock = TurnedClock()
    hub = await make_hub(clock=clock, message_ttl=timedelta(minutes=90), expiry_interval=0.05)
    gp = await hub.org(GP_GLN, Sector.GP)
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    letter = xdis91(sender=GP_GLN, receiver=PPR_GLN)
    _, sent = await gp.send(letter)
    assert await ppr.fetch(sent["id"]) == letter  # fetched, never acknowledged

    clock.turn(timedelta(hours=2))
    [network_receipt] = await gp.inbox(wait=10)
    text = _receipt_text(await gp.fetch(network_receipt["id"]))
    assert text == (
        "Brevet er hentet af modtageren, men modtagelsen er ikke bekræftet inden for "
        "1 time og 30 minutter; brevet er udløbet."
    )
    code, problem, _ = await ppr.request("GET", f"/v1/messages/{sent['id']}")
    assert (code, problem["code"]) == (410, "expired")


async def test_nothing_expires_before_its_time(make_hub: Any) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock)
    gp = await hub.org(GP_GLN, Sector.GP)
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    _, early = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    clock.turn(TTL - timedelta(minutes=30))
    _, late = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    clock.turn(timedelta(minutes=31))  # past the first letter's deadline, not the second's
    [network_receipt] = await gp.inbox(wait=10)
    assert network_receipt["type"] == "XCTL01"
    assert (await gp.status(early["id"]))["status"] == "expired"
    assert (await gp.status(late["id"]))["status"] == "accepted"
    assert [entry["id"] for entry in await ppr.inbox()] == [late["id"]]


async def test_the_migration_clears_the_flag_letters_expired_before_kept(hub_db: str) -> None:
    engine = create_async_engine(normalise_url(hub_db))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda sync: command.upgrade(_alembic_config(sync), "0008")  # before the fix
            )
            await conn.execute(
                insert(MESSAGE),
                [_stored_letter(MessageStatus.EXPIRED), _stored_letter(MessageStatus.ACKNOWLEDGED)],
            )
        async with engine.begin() as conn:  # the fix itself, whatever revisions follow it
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "0009"))
        async with engine.connect() as conn:
            flags = dict((await conn.execute(select(MESSAGE.c.status, MESSAGE.c.overdue))).all())
    finally:
        await engine.dispose()
    assert flags == {"expired": False, "acknowledged": True}  # a real overdue one stays


def _stored_letter(status: MessageStatus) -> dict[str, Any]:
    at = utcnow() - timedelta(days=6)
    return {
        "id": uuid.uuid4(),
        "type": "XDIS91",
        "sender_gln": GP_GLN,
        "receiver_gln": PPR_GLN,
        "envelope_id": new_id("K"),
        "letter_id": new_id("B"),
        "episode_id": None,
        "ack_requested": True,
        "is_resend": False,
        "resend_of": None,
        "original_id": None,
        "status": status.value,
        "in_inbox": False,
        "body": b"<Emessage/>",
        "size": 11,
        "received_at": at,
        "updated_at": at,
        "receipt_id": None,
        "overdue": True,
        "leased_until": None,
        "patient_cpr": None,
        "subject": None,
        "in_reply_to": None,
    }
