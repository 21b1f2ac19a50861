"""Two ``samspil serve`` processes on one PostgreSQL database behave as one hub.

Real processes on real ports, sharing nothing but the database: messages submitted to both
(each one to both at once) are stored once; two consumers of the receiver, one on each
process, lease from the same inbox and each message is delivered exactly once; a long-poll
on process A wakes when process B accepts (PostgreSQL LISTEN/NOTIFY).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.commands import free_port
from tests.functional.conftest import GP_GLN, POSTGRES_ONLY, PPR_GLN
from tests.functional.samples import xdis91
from tests.functional.test_crash import _register, _start

pytestmark = POSTGRES_ONLY


class Peer:
    """One organisation's client of one hub process."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.session, self.base = session, base
        self.headers = {"Authorization": f"Bearer {token}"}

    async def send(self, body: bytes) -> tuple[int, dict[str, Any]]:
        headers = {**self.headers, "Content-Type": "application/xml"}
        async with self.session.post(f"{self.base}/v1/messages", data=body, headers=headers) as r:
            return r.status, await r.json()

    async def lease(self, *, wait: float = 0, limit: int = 5) -> list[str]:
        url = f"{self.base}/v1/inbox?lease=30&wait={wait}&limit={limit}"
        async with self.session.get(url, headers=self.headers) as r:
            assert r.status == 200
            return [m["id"] for m in (await r.json())["messages"]]

    async def take(self, message_id: str) -> None:
        url = f"{self.base}/v1/messages/{message_id}"
        async with self.session.get(url, headers=self.headers) as r:
            assert r.status == 200
        async with self.session.post(f"{url}/ack", headers=self.headers) as r:
            assert r.status == 200

    async def history(self, message_id: str) -> list[str]:
        url = f"{self.base}/v1/messages/{message_id}/status"
        async with self.session.get(url, headers=self.headers) as r:
            return [e["status"] for e in (await r.json())["events"]]


@pytest.fixture
async def two_hubs(hub_db: str) -> AsyncIterator[tuple[dict[str, str], list[str]]]:
    tokens = {GP_GLN: _register(hub_db, GP_GLN, "gp"), PPR_GLN: _register(hub_db, PPR_GLN, "ppr")}
    processes: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    async with aiohttp.ClientSession() as session:
        try:
            for _ in range(2):
                port = free_port()
                processes.append(await _start(hub_db, port, session))
                bases.append(f"http://127.0.0.1:{port}")
            yield tokens, bases
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                assert process.wait(timeout=30) == 0  # a graceful stop


async def test_long_poll_on_one_process_wakes_when_the_other_accepts(
    two_hubs: tuple[dict[str, str], list[str]],
) -> None:
    tokens, (base_a, base_b) = two_hubs
    async with aiohttp.ClientSession() as session:
        ppr_on_a = Peer(session, base_a, tokens[PPR_GLN])
        gp_on_b = Peer(session, base_b, tokens[GP_GLN])
        for _ in range(3):
            poll = asyncio.create_task(ppr_on_a.lease(wait=20))
            await asyncio.sleep(0.3)
            assert not poll.done()
            started = time.monotonic()
            status, sent = await gp_on_b.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
            assert status == 202
            assert await asyncio.wait_for(poll, timeout=5) == [sent["id"]]
            assert time.monotonic() - started < 1.0  # woken by NOTIFY, not by the wait's end
            await ppr_on_a.take(sent["id"])


async def test_messages_through_both_processes_are_delivered_exactly_once(
    two_hubs: tuple[dict[str, str], list[str]],
) -> None:
    tokens, bases = two_hubs
    async with aiohttp.ClientSession() as session:
        senders = [Peer(session, base, tokens[GP_GLN]) for base in bases]
        consumers = [Peer(session, base, tokens[PPR_GLN]) for base in bases]
        bodies = [xdis91(sender=GP_GLN, receiver=PPR_GLN) for _ in range(60)]
        delivered: list[list[str]] = [[], []]

        async def consume(index: int, stop: asyncio.Event) -> None:
            while True:
                got = await consumers[index].lease(wait=0.5)
                if not got and stop.is_set():
                    return
                for message_id in got:
                    await consumers[index].take(message_id)
                    delivered[index].append(message_id)

        stop = asyncio.Event()
        consuming = [asyncio.create_task(consume(i, stop)) for i in range(2)]
        # every message is sent to both processes at once: one store, one delivery each
        answers = await asyncio.gather(*(s.send(body) for body in bodies for s in senders))
        stop.set()
        await asyncio.gather(*consuming)

    accepted = {answer["id"] for _, answer in answers}
    assert len(accepted) == len(bodies)
    assert sorted(status for status, _ in answers) == [200] * len(bodies) + [202] * len(bodies)
    everything = delivered[0] + delivered[1]
    assert len(everything) == len(set(everything))  # nobody got a message twice
    assert set(everything) == accepted  # and none was lost
    assert delivered[0], "both processes delivered"
    assert delivered[1], "both processes delivered"
    async with aiohttp.ClientSession() as session:
        gp = Peer(session, bases[0], tokens[GP_GLN])
        for message_id in accepted:  # one download and one acknowledgement each
            assert await gp.history(message_id) == ["accepted", "downloaded", "acknowledged"]
