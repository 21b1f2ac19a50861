"""The operators' summary lists the hub processes on the database by their heartbeat rows.

A serving process is listed with its host and pid; a process whose heartbeat stopped without
a graceful stop is counted in ``stale_processes``, and forgotten after an hour; a graceful
stop removes the process's row. (Two ``samspil serve`` processes on one PostgreSQL database:
``test_processes_scale_out.py``.)
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select

from coordinator.app import create_app
from coordinator.operations.heartbeat import ThisProcess, beat
from coordinator.settings import Settings
from coordinator.sqltypes import utcnow
from coordinator.state import COMMITTER, ENGINE
from coordinator.tables import HUB_PROCESS, Role, Sector
from tests.functional.conftest import PPR_GLN


async def summary(hub: Any) -> dict[str, Any]:
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    code, body, _ = await operator.request("GET", "/v1/operator/summary")
    assert code == 200, body
    result: dict[str, Any] = body
    return result


async def test_the_summary_lists_the_serving_process(hub: Any) -> None:
    await hub.org(PPR_GLN, Sector.PPR)
    got = await summary(hub)
    [me] = got["processes"]
    assert (me["host"], me["pid"]) == (socket.gethostname(), os.getpid())
    assert me["started_at"].endswith("Z")
    assert me["seen_at"] >= me["started_at"]
    assert me["version"]
    assert got["stale_processes"] == 0
    async with hub.session.get(f"{hub.base}/metrics") as response:
        scraped = (await response.text()).splitlines()
    assert "samspil_hub_processes 1.0" in scraped
    assert "samspil_hub_processes_stale 0.0" in scraped


async def test_a_silent_process_is_stale_then_forgotten_and_a_graceful_stop_leaves(
    make_hub: Any, hub_db: str, tmp_path: Path
) -> None:
    first = await make_hub()
    await first.org(PPR_GLN, Sector.PPR)
    now = utcnow()
    silent, gone = uuid.uuid4(), uuid.uuid4()
    async with first.app[ENGINE].begin() as conn:
        for process_id, seen in (
            (silent, now - timedelta(minutes=5)),
            (gone, now - timedelta(hours=2)),
        ):
            await conn.execute(
                insert(HUB_PROCESS).values(
                    id=process_id,
                    host="hub-b",
                    pid=4711,
                    version="0.1.0",
                    started_at=seen - timedelta(days=1),
                    seen_at=seen,
                )
            )
    got = await summary(first)
    assert [p["pid"] for p in got["processes"]] == [os.getpid()]
    assert got["stale_processes"] == 2  # neither listed: both stopped heartbeating

    # a beat through the committer refreshes this process and forgets the one gone for hours
    mine = ThisProcess(host="hub-c", pid=99)
    await first.app[COMMITTER].write(beat(mine))  # its row was never made: made now
    got = await summary(first)
    assert [(p["host"], p["pid"]) for p in got["processes"]] == [
        (socket.gethostname(), os.getpid()),
        ("hub-c", 99),
    ]
    assert got["stale_processes"] == 1
    async with first.app[ENGINE].connect() as conn:
        left = set(await conn.scalars(select(HUB_PROCESS.c.id)))
    assert silent in left
    assert gone not in left

    # a second hub on the same database arrives, and leaves on a graceful stop
    settings = Settings(environment="test", data_dir=tmp_path, database_url=hub_db).check()
    runner = web.AppRunner(create_app(settings), shutdown_timeout=5)
    await runner.setup()
    try:
        assert len((await summary(first))["processes"]) == 3
    finally:
        await runner.cleanup()
    got = await summary(first)
    assert [p["host"] for p in got["processes"]] == [socket.gethostname(), "hub-c"]
    assert got["stale_processes"] == 1
