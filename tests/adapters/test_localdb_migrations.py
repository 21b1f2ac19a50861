"""The adapter's local database: a file an older adapter wrote is upgraded on opening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.errors import ControlIdReused, OutboxError
from adapters.localdb import SCHEMA_VERSION, LocalDb
from adapters.outbox import ControlIdClaim, Outbox
from tests.adapters.test_outbox_migration import VERSION_0_SCHEMA
from wire.client import HubClient


def _version_0(path: Path) -> None:
    """A file as the first adapters wrote it: the base tables, one pending item, version 0."""
    conn = sqlite3.connect(path)
    conn.executescript(VERSION_0_SCHEMA)
    conn.execute(
        "INSERT INTO outbox (key, order_key, kind, method, path, created_at) "
        "VALUES ('hl7:F:X1:letter', 'k', 'message', 'POST', '/v1/messages', 0)"
    )
    conn.commit()
    conn.close()


async def test_a_version_0_file_gets_the_control_id_table_and_keeps_its_items(
    tmp_path: Path,
) -> None:
    path = tmp_path / "adapter.sqlite"
    _version_0(path)
    db = await LocalDb(path).open()
    hub = HubClient("http://127.0.0.1:9", "unused")  # never contacted: run() is not started
    outbox = await Outbox(db, hub).open()
    try:
        assert await db.schema_version() == SCHEMA_VERSION >= 2
        assert await db.control_id_digest("hl7:F:X1", item_key="hl7:F:X1:letter") is None
        # a message stored before the upgrade: its resend claims the id, its item is found
        await outbox.put_many([], claim=ControlIdClaim("hl7:F:X1", "a" * 64))
        known = await db.control_id_digest("hl7:F:X1", item_key="hl7:F:X1:letter")
        assert known is not None
        assert known.digest == "a" * 64
        assert known.item_id == 1
        with pytest.raises(ControlIdReused):
            await outbox.put_many([], claim=ControlIdClaim("hl7:F:X1", "b" * 64))

        def keys(conn: sqlite3.Connection) -> list[str]:
            return [row[0] for row in conn.execute("SELECT key FROM outbox")]

        assert await db.run(keys) == ["hl7:F:X1:letter"]
    finally:
        await outbox.close()
        await hub.close()
        await db.close()
    again = await LocalDb(path).open()  # opening an upgraded file changes nothing
    try:
        assert await again.schema_version() == SCHEMA_VERSION
        known = await again.control_id_digest("hl7:F:X1", item_key="hl7:F:X1:letter")
        assert known is not None
        assert known.digest == "a" * 64
    finally:
        await again.close()


async def test_a_file_from_a_newer_adapter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "adapter.sqlite"
    _version_0(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    db = LocalDb(path)
    with pytest.raises(OutboxError) as caught:
        await db.open()
    assert caught.value.code == "outbox-schema-newer"
    await db.close()
