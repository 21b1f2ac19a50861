"""The adapter's local database thread: work asked for together goes there together."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from adapters.errors import OutboxError
from adapters.localdb import LocalDb


async def test_work_asked_for_while_the_thread_is_busy_goes_there_as_one_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await LocalDb(tmp_path / "adapter.sqlite").open()
    hops: list[int] = []
    submit = db._executor.submit

    def counted(fn: Any, *args: Any) -> Future[Any]:
        hops.append(1)
        return submit(fn, *args)

    monkeypatch.setattr(db._executor, "submit", counted)
    try:
        await db.remember("a", "1")
        assert len(hops) == 1
        hops.clear()

        def broken(conn: sqlite3.Connection) -> None:
            conn.execute("SELECT * FROM no_such_table")

        # one on the thread, eleven waiting: they go in one more hop, in order, each with
        # its own result; the failing one fails alone
        results = await asyncio.gather(
            db.recall("a"),
            *(db.remember(f"n{i}", str(i)) for i in range(5)),
            db.run(broken),
            *(db.recall(f"n{i}") for i in range(5)),
            return_exceptions=True,
        )
        assert results[0] == "1"
        assert results[1:6] == [None] * 5
        assert isinstance(results[6], OutboxError)
        assert results[7:] == [str(i) for i in range(5)]
        assert len(hops) == 2
    finally:
        await db.close()


async def test_a_cancelled_caller_leaves_the_others_their_answers(tmp_path: Path) -> None:
    db = await LocalDb(tmp_path / "adapter.sqlite").open()
    try:
        await db.remember("a", "1")
        first = asyncio.ensure_future(db.recall("a"))
        waiting = asyncio.ensure_future(db.recall("a"))
        behind = asyncio.ensure_future(db.recall("a"))
        await asyncio.sleep(0)  # all three asked for: the first on the thread
        waiting.cancel()
        assert await first == "1"
        assert await behind == "1"
        assert waiting.cancelled()
    finally:
        await db.close()
