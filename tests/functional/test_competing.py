"""Competing consumers: two adapters of one organisation poll the same inbox with a lease.

Each message is handed to one of them only; a lease that runs out before the message is
acknowledged makes it visible again (nothing is lost); a plain listing still shows all.
"""

from __future__ import annotations

import asyncio
import time

from coordinator.tables import Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, Hub
from tests.functional.samples import xdis91


async def _lease(client: Client, *, lease: float, wait: float = 0, limit: int = 100) -> list[str]:
    status, parsed, _ = await client.request(
        "GET", f"/v1/inbox?lease={lease}&wait={wait}&limit={limit}"
    )
    assert status == 200, parsed
    return [entry["id"] for entry in parsed["messages"]]


async def test_two_consumers_never_get_the_same_message(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    adapter_a = await hub.org(PPR_GLN, Sector.PPR)
    adapter_b = Client(adapter_a.session, adapter_a.base, adapter_a.token, PPR_GLN)
    sent = [(await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN)))[1]["id"] for _ in range(30)]
    got: dict[str, list[str]] = {"a": [], "b": []}

    async def consume(name: str, client: Client) -> None:
        while True:
            ids = await _lease(client, lease=30, limit=4)
            if not ids:
                return
            got[name].extend(ids)
            for message_id in ids:
                await client.fetch(message_id)
                await client.ack(message_id)

    await asyncio.gather(consume("a", adapter_a), consume("b", adapter_b))
    assert sorted(got["a"] + got["b"]) == sorted(sent)  # each once, none lost
    assert not set(got["a"]) & set(got["b"])
    assert got["a"], "both took part"
    assert got["b"], "both took part"
    assert await adapter_a.inbox() == []


async def test_an_unacknowledged_lease_runs_out_and_the_message_comes_back(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    adapter_a = await hub.org(PPR_GLN, Sector.PPR)
    adapter_b = Client(adapter_a.session, adapter_a.base, adapter_a.token, PPR_GLN)
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    assert await _lease(adapter_a, lease=1) == [sent["id"]]  # a takes it, then dies
    assert await _lease(adapter_b, lease=30) == []  # hidden from b meanwhile
    assert [m["id"] for m in await adapter_b.inbox()] == [sent["id"]]  # a listing shows it
    started = time.monotonic()
    # b long-polls: it is woken when a's lease runs out, not at the end of its wait
    assert await _lease(adapter_b, lease=30, wait=20) == [sent["id"]]
    assert time.monotonic() - started < 5
    assert await _lease(adapter_a, lease=30) == []  # now b holds it
    assert (await adapter_b.ack(sent["id"]))["status"] == "acknowledged"
    assert await _lease(adapter_a, lease=30) == []
    events = [e["status"] for e in (await gp.status(sent["id"]))["events"]]
    assert events == ["accepted", "acknowledged"]


async def test_a_leasing_long_poll_wakes_on_commit(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    adapter = await hub.org(PPR_GLN, Sector.PPR)
    poll = asyncio.create_task(_lease(adapter, lease=30, wait=20))
    await asyncio.sleep(0.3)
    assert not poll.done()
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    assert await asyncio.wait_for(poll, timeout=5) == [sent["id"]]


async def test_lease_must_be_a_number_in_range(hub: Hub) -> None:
    adapter = await hub.org(PPR_GLN, Sector.PPR)
    for bad in ("x", "-1", "3601"):
        status, parsed, _ = await adapter.request("GET", f"/v1/inbox?lease={bad}")
        assert (status, parsed["code"]) == (400, "bad-request")
