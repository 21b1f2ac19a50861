"""GET /v1/inbox?wait= returns as soon as a message is committed, not after the wait."""

from __future__ import annotations

import asyncio
import time

from coordinator.tables import Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, Hub
from tests.functional.samples import xdis91


async def test_long_poll_wakes_on_commit(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    started = time.monotonic()
    poll = asyncio.create_task(ppr.inbox(wait=20))
    await asyncio.sleep(0.3)
    assert not poll.done()
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    messages = await asyncio.wait_for(poll, timeout=5)
    elapsed = time.monotonic() - started
    assert [m["id"] for m in messages] == [sent["id"]]
    assert elapsed < 2.0


async def test_long_poll_times_out_empty(hub: Hub) -> None:
    await hub.org(GP_GLN, Sector.GP)
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    started = time.monotonic()
    assert await ppr.inbox(wait=0.5) == []
    assert 0.4 <= time.monotonic() - started < 3


async def test_long_poll_is_not_woken_by_others_mail(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    poll = asyncio.create_task(gp.inbox(wait=1))
    await asyncio.sleep(0.1)
    await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    assert await poll == []
    assert len(await ppr.inbox()) == 1
