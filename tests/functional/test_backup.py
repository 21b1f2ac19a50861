"""A restore drill: ``samspil backup`` of a live hub while letters arrive, restored into a
fresh hub that serves every letter acknowledged before the backup began.

SQLite: the online backup API; the copy passes ``PRAGMA integrity_check`` and is mode 0600.
PostgreSQL (marked ``postgres``): ``pg_dump --format=custom`` through the same command,
restored with ``pg_restore`` into a scratch database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.engine import make_url

from coordinator.app import create_app
from coordinator.database.backup import BackupError, backup, integrity_check
from coordinator.settings import Settings
from tests.databases import drop_database, new_database
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, MakeHub
from tests.functional.samples import xdis91

BEFORE_BACKUP = 25  # letters acknowledged before the backup begins


class Writer:
    """A GP sending letters one after another until stopped; keeps what got a 2xx."""

    def __init__(self, gp: Client) -> None:
        self.gp = gp
        self.acknowledged: dict[str, bytes] = {}
        self.refused: list[int] = []
        self.stop = asyncio.Event()
        self.count_reached = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            body = xdis91(sender=GP_GLN, receiver=PPR_GLN)
            status, parsed = await self.gp.send(body)
            if status in (200, 202):
                self.acknowledged[parsed["id"]] = body
            else:
                self.refused.append(status)
            if len(self.acknowledged) >= BEFORE_BACKUP:
                self.count_reached.set()


async def samspil_backup(db: str, to: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "samspil",
        "backup",
        "--db",
        db,
        "--to",
        str(to),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SAMSPIL_ENVIRONMENT": "test"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert out == b""  # stdout stays free for scripts; the summary goes to stderr
    assert process.returncode is not None
    return process.returncode, err.decode()


async def backup_under_load(
    make_hub: MakeHub, hub_db: str, to: Path
) -> tuple[dict[str, bytes], Writer, str]:
    """Start a hub, write letters, back up while writing; what was acknowledged before."""
    hub = await make_hub()
    gp, ppr = await hub.gp_and_ppr()
    writer = Writer(gp)
    task = asyncio.create_task(writer.run())
    try:
        await asyncio.wait_for(writer.count_reached.wait(), 60)
        before = dict(writer.acknowledged)  # every one of these had its 2xx already
        code, err = await samspil_backup(hub_db, to)
        assert code == 0, err
        # the hub kept serving: letters go on being accepted after the backup
        target = len(writer.acknowledged) + 3
        while len(writer.acknowledged) < target:
            await asyncio.sleep(0.01)
            assert not task.done()
    finally:
        writer.stop.set()
        await asyncio.wait_for(task, 30)
    assert writer.refused == []
    return before, writer, ppr.token


FreshHub = Callable[[str, Path], Awaitable[tuple[str, aiohttp.ClientSession]]]


@pytest.fixture
async def fresh_hub() -> AsyncIterator[FreshHub]:
    """``start(database_url, data_dir)``: a hub on a restored database; its URL and a session."""
    runners: list[web.AppRunner] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(database_url: str, data_dir: Path) -> tuple[str, aiohttp.ClientSession]:
        settings = Settings(
            environment="test", data_dir=data_dir, database_url=database_url
        ).check()
        runner = web.AppRunner(create_app(settings), shutdown_timeout=5)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        session = aiohttp.ClientSession()
        sessions.append(session)
        return f"http://{host}:{port}", session

    yield start
    for session in sessions:
        await session.close()
    for runner in runners:
        await runner.cleanup()


async def served(base: str, session: aiohttp.ClientSession, token: str) -> dict[str, bytes]:
    """Every letter in PPR's inbox on the restored hub, fetched as PPR."""
    ppr = Client(session, base, token, PPR_GLN)
    status, parsed, _ = await ppr.request("GET", "/v1/inbox?limit=1000")
    assert status == 200, parsed
    return {m["id"]: await ppr.fetch(m["id"]) for m in parsed["messages"]}


def check_restored(restored: dict[str, bytes], before: dict[str, bytes], writer: Writer) -> None:
    missing = set(before) - set(restored)
    assert not missing, f"{len(missing)} letters acknowledged before the backup are missing"
    for message_id, body in before.items():
        assert restored[message_id] == body, "a restored letter differs from what was sent"
    # nothing invented: whatever else the backup holds was accepted by the live hub
    assert set(restored) <= set(writer.acknowledged)
    for message_id, body in restored.items():
        assert writer.acknowledged[message_id] == body


async def test_backup_of_a_live_hub_restores_every_acknowledged_letter(
    make_hub: MakeHub, hub_db: str, tmp_path: Path, fresh_hub: FreshHub
) -> None:
    if hub_db.startswith("sqlite"):
        await sqlite_drill(make_hub, hub_db, tmp_path, fresh_hub)
    else:
        await postgres_drill(make_hub, hub_db, tmp_path, fresh_hub)


async def sqlite_drill(make_hub: MakeHub, hub_db: str, tmp_path: Path, fresh_hub: FreshHub) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    file = backups / "samspil.sqlite"
    before, writer, ppr_token = await backup_under_load(make_hub, hub_db, file)

    assert integrity_check(file) == ["ok"]
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert [p.name for p in backups.iterdir()] == ["samspil.sqlite"]  # nothing else left

    # restore the documented way: the file where a fresh hub's database goes
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copyfile(file, restored_dir / "samspil.sqlite")
    base, session = await fresh_hub(
        f"sqlite+aiosqlite:///{restored_dir / 'samspil.sqlite'}", restored_dir
    )
    check_restored(await served(base, session, ppr_token), before, writer)
    with sqlite3.connect(restored_dir / "samspil.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


async def postgres_drill(
    make_hub: MakeHub, hub_db: str, tmp_path: Path, fresh_hub: FreshHub
) -> None:
    pg_restore = shutil.which("pg_restore")
    if shutil.which("pg_dump") is None or pg_restore is None:
        pytest.skip("PostgreSQL's client tools (pg_dump, pg_restore) are not installed")
    file = tmp_path / "samspil.dump"
    before, writer, ppr_token = await backup_under_load(make_hub, hub_db, file)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600

    server = make_url(hub_db).set(drivername="postgresql").render_as_string(hide_password=False)
    scratch, scratch_url = await new_database(server)
    try:
        restore = await asyncio.create_subprocess_exec(
            pg_restore,
            "--no-owner",
            "--exit-on-error",
            f"--dbname={scratch_url}",
            str(file),
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(restore.communicate(), 120)
        assert restore.returncode == 0, err.decode()
        base, session = await fresh_hub(scratch_url, tmp_path)
        check_restored(await served(base, session, ppr_token), before, writer)
    finally:
        await drop_database(server, scratch)


def test_a_backup_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    nowhere = f"sqlite+aiosqlite:///{tmp_path / 'missing.sqlite'}"
    with pytest.raises(BackupError) as missing:
        backup(nowhere, tmp_path / "copy.sqlite")
    assert missing.value.code == "no-database"
    assert not (tmp_path / "missing.sqlite").exists()  # no empty database made in its place
    with pytest.raises(BackupError) as folder:
        backup(nowhere, tmp_path)
    assert folder.value.code == "invalid-target"
    with pytest.raises(BackupError) as unreadable:
        backup("not a url", tmp_path / "copy.sqlite")
    assert unreadable.value.code == "invalid-database-url"
