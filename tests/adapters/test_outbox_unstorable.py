"""One request the adapter's database cannot store fails alone; the outbox's writer lives on.

The municipal event path refuses text with unpaired surrogates before it reaches the outbox
(tests/adapters/test_event_fuzz.py); this is the outbox's own guard for any other door.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.errors import OutboxError
from adapters.localdb import LocalDb
from adapters.outbox import ItemKind, Outbox, Request
from wire.client import HubClient


def _request(key: str) -> Request:
    return Request(key=key, kind=ItemKind.CASE, method="PUT", path=f"/v1/cases/{key}", body=b"{}")


async def test_an_unstorable_request_fails_alone_and_the_writer_lives_on(tmp_path: Path) -> None:
    db = await LocalDb(tmp_path / "outbox.sqlite").open()
    hub = HubClient("http://127.0.0.1:9", "unused")  # never contacted: run() is not started
    outbox = await Outbox(db, hub).open()
    try:
        # Three puts queued before the writer runs: they meet in one group commit.
        results = await asyncio.wait_for(
            asyncio.gather(
                outbox.put(_request("first")),
                outbox.put(_request("bad-\ud800")),  # sqlite3 cannot encode it
                outbox.put(_request("second")),
                return_exceptions=True,
            ),
            timeout=10,
        )
        first, bad, second = results
        assert isinstance(bad, OutboxError)
        assert bad.code == "outbox-unstorable"
        assert isinstance(first, tuple)
        assert first[1] is True
        assert isinstance(second, tuple)
        assert second[1] is True
        assert outbox.depth == 2

        # The writer still answers: a later put is stored, and a repeat is recognised.
        later = await asyncio.wait_for(outbox.put(_request("later")), timeout=10)
        again = await asyncio.wait_for(outbox.put(_request("first")), timeout=10)
        assert later[1] is True
        assert again[1] is False
        assert outbox.depth == 3
    finally:
        await outbox.close()
        await hub.close()
        await db.close()


@pytest.mark.parametrize("field", ["path", "origin"])
async def test_a_lone_unstorable_request_is_refused_with_a_code(tmp_path: Path, field: str) -> None:
    db = await LocalDb(tmp_path / "outbox.sqlite").open()
    hub = HubClient("http://127.0.0.1:9", "unused")
    outbox = await Outbox(db, hub).open()
    try:
        request = _request("alone")
        bad = (
            replace(request, path="x\udfff")
            if field == "path"
            else replace(request, origin="x\udfff")
        )
        with pytest.raises(OutboxError) as caught:
            await asyncio.wait_for(outbox.put(bad), timeout=10)
        assert caught.value.code == "outbox-unstorable"
        assert "\udfff" not in caught.value.message
        assert (await asyncio.wait_for(outbox.put(request), timeout=10))[1] is True
    finally:
        await outbox.close()
        await hub.close()
        await db.close()


async def test_a_group_the_database_then_refuses_fails_its_puts_and_rewrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group that fails, and whose settles then cannot be written either (the disk gave
    out between the two): every put and rewrite of it fails with the outbox's error, none
    waits for ever, and the writer takes the next group."""
    db = await LocalDb(tmp_path / "outbox.sqlite").open()
    hub = HubClient("http://127.0.0.1:9", "unused")
    outbox = await Outbox(db, hub).open()
    try:
        stored = await asyncio.wait_for(outbox.put(_request("stored")), timeout=10)
        item = await outbox.item(stored[0])
        assert item is not None
        real_run = db.run
        calls = 0

        async def run(work):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls == 2:  # the group failed (the bad request); now the disk is gone
                raise OutboxError("disk I/O error")
            return await real_run(work)

        monkeypatch.setattr(db, "run", run)
        results = await asyncio.wait_for(
            asyncio.gather(
                outbox.put(_request("bad-\ud800")),
                outbox.rewrite(item, body=b'{"a": 1}', content_type="application/json"),
                return_exceptions=True,
            ),
            timeout=10,
        )
        assert [type(r) for r in results] == [OutboxError, OutboxError]
        monkeypatch.setattr(db, "run", real_run)
        later = await asyncio.wait_for(outbox.put(_request("later")), timeout=10)
        assert later[1] is True
    finally:
        await outbox.close()
        await hub.close()
        await db.close()
