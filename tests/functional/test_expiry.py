"""Unacknowledged letters expire with an XCTL01 to the sender; missing receipts are overdue."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from coordinator.tables import Role, Sector
from tests.functional.conftest import GP_GLN, PPR_GLN
from tests.functional.samples import xdis91

NETWORK_GLN = "5790000000005"


async def test_unacknowledged_letter_expires_with_a_network_receipt(make_hub: Any) -> None:
    hub = await make_hub(message_ttl=timedelta(seconds=0.5), expiry_interval=0.1)
    gp = await hub.org(GP_GLN, Sector.GP)
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    [entry] = await gp.inbox(wait=10)  # woken by the sweep's commit
    assert entry["type"] == "XCTL01"
    assert entry["sender"] == NETWORK_GLN
    body = await gp.fetch(entry["id"])
    assert b"NegativeVansReceipt" in body
    assert sent["id"] not in body.decode("latin-1")
    status = await gp.status(sent["id"])
    assert status["status"] == "expired"
    assert status["receipt_id"] == entry["id"]
    assert await ppr.inbox() == []
    code, problem, _ = await ppr.request("POST", f"/v1/messages/{sent['id']}/ack")
    assert (code, problem["code"]) == (409, "conflict")


async def test_missing_positive_receipt_is_flagged_overdue(make_hub: Any) -> None:
    hub = await make_hub(receipt_deadline=timedelta(seconds=0.3), expiry_interval=0.1)
    gp = await hub.org(GP_GLN, Sector.GP)
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    _, asked = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, ack=True))
    _, not_asked = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, ack=False))
    await ppr.ack(asked["id"])
    for _ in range(50):
        if (await gp.status(asked["id"]))["overdue"]:
            break
        await asyncio.sleep(0.1)
    assert (await gp.status(asked["id"]))["overdue"] is True
    assert (await gp.status(not_asked["id"]))["overdue"] is False
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    code, summary, _ = await operator.request("GET", "/v1/operator/summary")
    assert code == 200
    assert summary["overdue_receipts"] == 1
