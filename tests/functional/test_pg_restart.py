"""PostgreSQL restarts under load: the hub reconnects, answers 503 ``database-unavailable``
with ``Retry-After`` while the database is away, and loses nothing it accepted.

The test starts a throw-away PostgreSQL cluster of its own (``initdb`` + ``pg_ctl`` in a
temporary folder, on a free port; as the ``postgres`` OS user when run as root), so the
shared server the other tests use is never touched. It stops that cluster the hard way
(``pg_ctl stop -m immediate``: a crash, recovered from the WAL on start) while senders keep
submitting letters, starts it again, and then checks every letter answered 202.

Marked ``postgres``: it runs wherever the PostgreSQL tests run (CI), and needs the server
binaries that the PostgreSQL server comes with.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from coordinator.app import create_app
from coordinator.settings import Settings
from tests.commands import free_port
from tests.functional.conftest import GP_GLN, PPR_GLN, Seen, _recorder, check_against_openapi
from tests.functional.samples import xdis91
from tests.functional.served import served

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(90)]


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.fail(f"PostgreSQL's {name} is not installed (the server package ships it)")
    return found[-1]


@dataclass
class Cluster:
    """A PostgreSQL cluster in a temporary folder, on its own port."""

    folder: Path
    port: int
    as_postgres: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *command: str) -> None:
        subprocess.run([*self.as_postgres, *command], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self.run(
            _bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options,
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self.run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            [*self.as_postgres, _bin("pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return status.returncode == 0


@pytest.fixture
def cluster(postgres_url: str) -> Iterator[Cluster]:
    """Needs ``postgres_url`` only so it runs where the PostgreSQL tests run."""
    folder = Path(tempfile.mkdtemp(prefix="samspil-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(folder, free_port(), as_postgres)
    try:
        cluster.run(
            _bin("initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        cluster.start()
        yield cluster
    finally:
        try:
            if cluster.data.exists() and cluster.running():
                cluster.stop("immediate")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Outcome:
    accepted: dict[str, str] = field(default_factory=dict)  # letter id -> message id
    refused: list[str] = field(default_factory=list)  # letter ids answered 503
    statuses: list[int] = field(default_factory=list)
    retry_after: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)


async def _send(
    session: aiohttp.ClientSession, base: str, token: str, letter_id: str, outcome: Outcome
) -> int:
    body = xdis91(sender=GP_GLN, receiver=PPR_GLN, letter_id=letter_id)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    async with session.post(base + "/v1/messages", data=body, headers=headers) as response:
        answer = await response.json(content_type=None)
        outcome.statuses.append(response.status)
        if response.status in (200, 202):
            outcome.accepted[letter_id] = answer["id"]
        elif response.status == 503:
            outcome.refused.append(letter_id)
            outcome.retry_after.add(response.headers.get("Retry-After", ""))
            outcome.codes.add(answer["code"])
        return response.status


async def test_hub_survives_a_postgresql_restart_under_load(cluster: Cluster) -> None:
    settings = Settings(environment="test", database_url=cluster.url).check()
    app = create_app(settings)
    seen: Seen = []
    app.middlewares.insert(0, _recorder(seen))
    outcome = Outcome()
    async with served(app, gp=GP_GLN, ppr=PPR_GLN) as hub:
        base, gp, ppr = hub.base, hub.gp, hub.ppr
        numbers = iter(range(1, 1_000_000))
        stop = asyncio.Event()

        async def sender(session: aiohttp.ClientSession) -> None:
            while not stop.is_set():
                await _send(session, base, gp, f"L{next(numbers):09d}", outcome)
                await asyncio.sleep(0.02)

        timeout = aiohttp.ClientTimeout(total=20)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            senders = [asyncio.create_task(sender(session)) for _ in range(4)]
            await asyncio.sleep(0.5)
            assert len(outcome.accepted) > 0
            await asyncio.to_thread(cluster.stop, "immediate")
            down_at = len(outcome.statuses)
            await asyncio.sleep(1.5)  # the database is away; the senders keep sending
            await asyncio.to_thread(cluster.start)
            started = time.monotonic()
            before = len(outcome.accepted)
            while len(outcome.accepted) < before + 20:  # the hub reconnects by itself
                assert time.monotonic() - started < 20, "the hub did not reconnect"
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*senders)
            assert len(outcome.statuses) > down_at

            # what was refused is sent again, as an adapter's outbox does
            for letter_id in list(outcome.refused):
                assert await _send(session, base, gp, letter_id, outcome) in (200, 202)

            # every accepted letter is in the receiver's inbox, exactly once
            headers = {"Authorization": f"Bearer {ppr}"}
            async with session.get(base + "/v1/inbox?limit=1000", headers=headers) as response:
                assert response.status == 200
                inbox = (await response.json())["messages"]
    assert set(outcome.statuses) <= {200, 202, 503}, sorted(set(outcome.statuses))
    assert outcome.refused, "no request met the database while it was away"
    assert outcome.codes == {"database-unavailable"}
    assert all(value.isdigit() and int(value) >= 1 for value in outcome.retry_after)
    delivered = [m["id"] for m in inbox]
    assert len(delivered) < 1000, "more letters than one inbox page: send fewer"
    assert len(delivered) == len(set(delivered))
    assert set(outcome.accepted.values()) == set(delivered)
    check_against_openapi(seen)
