"""Crash test: ``kill -9`` the hub while a load generator submits; restart; repeat.

Every message that got a 202/200 is stored once and delivered once, and nothing else is.
Messages whose answer was lost in the crash are resubmitted unchanged after the restart (as
a sender's system would); MedCom's duplicate rule makes that safe.

The senders keep requests in flight all the time, so each kill lands mid-request: the test
asserts that every round lost answers (otherwise it would prove less than it says), and
counts those whose message had been committed before the kill (the resubmission is then a
duplicate, answered 200 with the first id).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import aiohttp

from tests.commands import free_port, samspil
from tests.functional.conftest import GP_GLN, PPR_GLN
from tests.functional.samples import new_id, xdis91

ROUNDS = 3
SENDERS = 16


def _env(db: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
    env["SAMSPIL_DATABASE_URL"] = db
    env["SAMSPIL_RATE_LIMIT_PER_SECOND"] = "0"  # a load test: no per-credential limit
    return env


def _register(db: str, gln: str, sector: str) -> str:
    added = samspil(
        "org", "add", "--gln", gln, "--name", gln, "--sector", sector, env=_env(db), check=True
    )
    return added.stdout.strip()


def _spawn(db: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "samspil", "serve", "--port", str(port)],
        env=_env(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _start(db: str, port: int, session: aiohttp.ClientSession) -> subprocess.Popen[bytes]:
    process = _spawn(db, port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                if response.status == 200:
                    return process
        except aiohttp.ClientError:
            pass
        assert process.poll() is None, "the hub did not start"
        await asyncio.sleep(0.05)
    raise AssertionError("the hub did not become ready")


async def test_kill_9_loses_and_doubles_nothing(hub_db: str) -> None:
    gp_token = _register(hub_db, GP_GLN, "gp")
    ppr_token = _register(hub_db, PPR_GLN, "ppr")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    confirmed: dict[str, str] = {}  # letter id -> message id (answered 202/200)
    unconfirmed: dict[str, bytes] = {}  # letter id -> body (answer lost)
    lost_per_round: list[int] = []  # answers lost to each kill
    committed_unanswered = 0  # of those, messages the hub had committed before it died
    gp_headers = {"Authorization": f"Bearer {gp_token}", "Content-Type": "application/xml"}

    async def submit(session: aiohttp.ClientSession, letter: str, body: bytes) -> bool:
        nonlocal committed_unanswered
        try:
            async with session.post(f"{base}/v1/messages", data=body, headers=gp_headers) as r:
                if r.status in (200, 202):
                    confirmed[letter] = (await r.json())["id"]
                    if unconfirmed.pop(letter, None) is not None and r.status == 200:
                        committed_unanswered += 1
                    return True
        except (TimeoutError, aiohttp.ClientError):
            pass
        if letter not in unconfirmed:
            lost_per_round[-1] += 1
        unconfirmed[letter] = body
        return False

    async def load(session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            letter = new_id("C")
            await submit(session, letter, xdis91(sender=GP_GLN, receiver=PPR_GLN, letter_id=letter))

    async with aiohttp.ClientSession() as session:
        for _ in range(ROUNDS):
            process = await _start(hub_db, port, session)
            lost_per_round.append(0)
            for letter, body in list(unconfirmed.items()):  # resubmit what was lost
                await submit(session, letter, body)
            stop = asyncio.Event()
            senders = [asyncio.create_task(load(session, stop)) for _ in range(SENDERS)]
            await asyncio.sleep(0.6)
            process.send_signal(signal.SIGKILL)
            process.wait()
            stop.set()
            await asyncio.gather(*senders)

        process = await _start(hub_db, port, session)
        try:
            for letter, body in list(unconfirmed.items()):
                assert await submit(session, letter, body)
            assert not unconfirmed
            assert len(confirmed) > 20
            # every kill cut requests off mid-way: answers were really lost, and resubmitted
            assert all(lost >= 1 for lost in lost_per_round), (
                f"answers lost per kill: {lost_per_round} "
                f"(of them committed before the kill: {committed_unanswered})"
            )
            ppr_headers = {"Authorization": f"Bearer {ppr_token}"}
            delivered: list[str] = []

            async def ack(message_id: str) -> None:
                url = f"{base}/v1/messages/{message_id}/ack"
                async with session.post(url, headers=ppr_headers) as r:
                    assert r.status == 200

            while True:  # drain the inbox: list, acknowledge, list again
                async with session.get(f"{base}/v1/inbox?limit=500", headers=ppr_headers) as r:
                    page = [entry["id"] for entry in (await r.json())["messages"]]
                if not page:
                    break
                delivered.extend(page)
                await asyncio.gather(*(ack(message_id) for message_id in page))
            assert len(delivered) == len(set(delivered))
            assert sorted(delivered) == sorted(confirmed.values())
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
