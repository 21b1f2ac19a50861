"""Two hubs on one PostgreSQL database behave as one: each message delivered once, and a
long-poll on hub A wakes when hub B accepts (PostgreSQL LISTEN/NOTIFY; the two apps share no
memory)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from coordinator.tables import Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, MakeHub
from tests.functional.samples import xdis91


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
async def hub_db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    from tests.functional import conftest

    gen = conftest.hub_db.__wrapped__(request, tmp_path)  # type: ignore[attr-defined]
    url = await gen.__anext__()
    yield url
    with pytest.raises(StopAsyncIteration):
        await gen.__anext__()


def _as(client: Client, base: str) -> Client:
    return Client(client.session, base, client.token, client.gln)


async def test_long_poll_on_one_hub_wakes_when_the_other_accepts(make_hub: MakeHub) -> None:
    hub_a = await make_hub()
    hub_b = await make_hub()
    gp_b = await hub_b.org(GP_GLN, Sector.GP)
    ppr_a = _as(await hub_b.org(PPR_GLN, Sector.PPR), hub_a.base)
    started = time.monotonic()
    poll = asyncio.create_task(ppr_a.inbox(wait=20))
    await asyncio.sleep(0.3)
    assert not poll.done()
    _, sent = await gp_b.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    messages = await asyncio.wait_for(poll, timeout=5)
    assert [m["id"] for m in messages] == [sent["id"]]
    assert time.monotonic() - started < 2.0


async def test_messages_through_both_hubs_are_delivered_once(make_hub: MakeHub) -> None:
    hub_a = await make_hub()
    hub_b = await make_hub()
    gp = await hub_a.org(GP_GLN, Sector.GP)
    ppr = await hub_a.org(PPR_GLN, Sector.PPR)
    senders = [gp, _as(gp, hub_b.base)]
    bodies = [xdis91(sender=GP_GLN, receiver=PPR_GLN) for _ in range(40)]
    # every message is sent to both hubs at once: one store, one delivery each
    answers = await asyncio.gather(*(sender.send(body) for body in bodies for sender in senders))
    accepted = {answer["id"] for _, answer in answers}
    assert len(accepted) == len(bodies)
    assert sorted(status for status, _ in answers).count(202) == len(bodies)

    consumers = [ppr, _as(ppr, hub_b.base)]
    delivered: list[str] = []

    async def consume(consumer: Client) -> None:
        while True:
            batch = await consumer.inbox(wait=0.5)
            if not batch:
                return
            for entry in batch:
                status, _, _ = await consumer.request("POST", f"/v1/messages/{entry['id']}/ack")
                assert status == 200
                delivered.append(entry["id"])

    await asyncio.gather(*(consume(c) for c in consumers))
    assert set(delivered) == accepted
    for message_id in accepted:  # competing acks: each message acknowledged exactly once
        history = [e["status"] for e in (await gp.status(message_id))["events"]]
        assert history == ["accepted", "acknowledged"]
