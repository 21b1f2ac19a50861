"""Two ``samspil serve`` processes on one PostgreSQL database: the operators' summary lists
both by their heartbeat (host and pid), and one stopped gracefully leaves the list at once,
without being counted as stale."""

from __future__ import annotations

import signal
import socket
import subprocess
from typing import Any

import aiohttp

from tests.commands import free_port, samspil
from tests.functional.conftest import POSTGRES_ONLY, PPR_GLN
from tests.functional.test_crash import _env, _register, _start

pytestmark = POSTGRES_ONLY


def _operator(db: str) -> str:
    added = samspil(
        "user", "add", "--org", PPR_GLN, "--name", "Drift", "--role", "operator",
        env=_env(db), check=True,
    )  # fmt: skip
    return added.stdout.strip()


async def _summary(session: aiohttp.ClientSession, base: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{base}/v1/operator/summary", headers=headers) as response:
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


async def test_both_processes_are_listed_and_one_stopped_gracefully_leaves(hub_db: str) -> None:
    _register(hub_db, PPR_GLN, "ppr")
    token = _operator(hub_db)
    processes: list[subprocess.Popen[bytes]] = []
    async with aiohttp.ClientSession() as session:
        try:
            bases = []
            for _ in range(2):
                port = free_port()
                processes.append(await _start(hub_db, port, session))
                bases.append(f"http://127.0.0.1:{port}")
            first, second = processes
            for base in bases:  # either process answers for both
                got = await _summary(session, base, token)
                assert [(p["host"], p["pid"]) for p in got["processes"]] == [
                    (socket.gethostname(), first.pid),
                    (socket.gethostname(), second.pid),
                ]
                assert got["stale_processes"] == 0

            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0  # a graceful stop
            got = await _summary(session, bases[0], token)
            assert [p["pid"] for p in got["processes"]] == [first.pid]
            assert got["stale_processes"] == 0
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    assert process.wait(timeout=30) == 0
