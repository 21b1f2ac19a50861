"""Another organisation can neither list, fetch, acknowledge nor see a message not its own."""

from __future__ import annotations

import uuid

from coordinator.tables import Sector
from tests.functional.conftest import FAMILY_GLN, GP_GLN, PPR_GLN, Hub
from tests.functional.samples import xdis91


async def test_cross_organisation_access_is_denied(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    family = await hub.org(FAMILY_GLN, Sector.FAMILY)
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    message_id = sent["id"]

    assert await family.inbox() == []
    status, outbox, _ = await family.request("GET", "/v1/outbox")
    assert (status, outbox["messages"]) == (200, [])
    for method, path in (
        ("GET", f"/v1/messages/{message_id}"),
        ("POST", f"/v1/messages/{message_id}/ack"),
        ("GET", f"/v1/messages/{message_id}/status"),
    ):
        status, body, raw = await family.request(method, path)
        assert status == 404, (method, path)
        assert body["code"] == "not-found"
        assert b"Nancy" not in raw
        assert b"2512489996" not in raw

    # the sender may see and fetch its message, but only the receiver acknowledges it
    assert (await gp.status(message_id))["status"] == "accepted"
    status, _, _ = await gp.request("POST", f"/v1/messages/{message_id}/ack")
    assert status == 404
    # a sender's fetch does not count as the receiver's download
    await gp.fetch(message_id)
    assert (await gp.status(message_id))["status"] == "accepted"

    # unknown and malformed ids look exactly like someone else's message
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        status, body, _ = await ppr.request("GET", f"/v1/messages/{missing}")
        assert (status, body["code"]) == (404, "not-found")
    assert [m["id"] for m in await ppr.inbox()] == [message_id]


async def test_ack_is_idempotent(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    assert (await ppr.ack(sent["id"]))["status"] == "acknowledged"
    assert (await ppr.ack(sent["id"]))["status"] == "acknowledged"
    events = (await gp.status(sent["id"]))["events"]
    assert [e["status"] for e in events] == ["accepted", "acknowledged"]
