"""Limits: body size (413), long-polls per organisation and requests per second per
credential (429 with Retry-After), each a problem+json, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from coordinator.security.limits import RATE_LIMITER
from coordinator.tables import Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, MakeHub
from tests.functional.samples import xdis91


async def test_body_over_the_limit_is_413_before_it_is_read(make_hub: MakeHub) -> None:
    hub = await make_hub(max_body_bytes=4096)
    gp = await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN)
    big = xdis91(sender=GP_GLN, receiver=PPR_GLN, padding=8000)
    status, body, _ = await gp.request("POST", "/v1/messages", body=big)
    assert (status, body["code"]) == (413, "payload-too-large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: cut off while reading
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    status, body, _ = await gp.request("POST", "/v1/messages", body=chunks())  # type: ignore[arg-type]
    assert (status, body["code"]) == (413, "payload-too-large")
    status, body, _ = await gp.request(
        "PUT",
        "/v1/cases/big",
        body=b'{"x": "' + b"y" * 5000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert (status, body["code"]) == (413, "payload-too-large")
    sent, _ = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    assert sent == 202


async def test_long_polls_per_organisation_are_limited(make_hub: MakeHub) -> None:
    hub = await make_hub(max_long_polls=2)
    ppr = await hub.org(PPR_GLN)
    gp = await hub.org(GP_GLN, Sector.GP)

    def hold() -> asyncio.Task[Any]:
        return asyncio.create_task(ppr.request("GET", "/v1/inbox?wait=30"))

    # Two long-polls hold the organisation's slots. On a loaded machine a probe may reach
    # the hub before a holder does and take its slot; the holder refused then is replaced,
    # so the probe meets two holders in place within a few rounds.
    waiting = [hold(), hold()]
    for _ in range(40):
        await asyncio.sleep(0.05)
        for i, task in enumerate(waiting):
            if task.done():
                assert task.result()[0] == 429  # nothing else ends a 30 s wait this early
                waiting[i] = hold()
        status, body, _ = await ppr.request("GET", "/v1/inbox?wait=0.5")
        if status == 429:
            break
    assert status == 429
    assert body["code"] == "too-many-long-polls"
    assert (await ppr.request("GET", "/v1/inbox"))[0] == 200  # a plain poll still answers
    assert (await gp.request("GET", "/v1/inbox?wait=0.01"))[0] == 200  # another organisation
    sent, _ = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))  # wakes both
    assert sent == 202
    for task in waiting:
        assert (await task)[0] == 200
    assert (await ppr.request("GET", "/v1/inbox?wait=0.01"))[0] == 200  # slots freed


async def test_requests_per_second_per_credential_are_limited(make_hub: MakeHub) -> None:
    hub = await make_hub(rate_limit_per_second=2, rate_limit_burst=5)
    now = [1000.0]
    hub.app[RATE_LIMITER].clock = lambda: now[0]  # the buckets' time stands still
    ppr = await hub.org(PPR_GLN)
    gp = await hub.org(GP_GLN, Sector.GP)
    statuses = [(await ppr.request("GET", "/v1/inbox"))[0] for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    async with hub.session.get(hub.base + "/v1/inbox", headers=ppr.headers) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"
        problem = await response.json(content_type=None)
    assert problem["code"] == "rate-limited"
    assert (await gp.request("GET", "/v1/inbox"))[0] == 200  # another credential
    now[0] += 0.6  # the bucket refills at 2 per second: one more request
    assert (await ppr.request("GET", "/v1/inbox"))[0] == 200
