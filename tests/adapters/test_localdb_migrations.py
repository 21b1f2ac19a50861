"""The adapter's local database: a file an older adapter wrote is upgraded on opening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.errors import OutboxError
from adapters.localdb import SCHEMA_VERSION, LocalDb
from tests.adapters.test_outbox_migration import VERSION_0_SCHEMA


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
    try:
        assert await db.schema_version() == SCHEMA_VERSION >= 2
        assert await db.claim_control_id("hl7:F:X1", "a" * 64, now=10.0) is None
        assert await db.claim_control_id("hl7:F:X1", "b" * 64, now=11.0) == "a" * 64
        assert await db.forget_control_ids(before=10.5) == 1
        assert await db.claim_control_id("hl7:F:X1", "b" * 64, now=12.0) is None

        def keys(conn: sqlite3.Connection) -> list[str]:
            return [row[0] for row in conn.execute("SELECT key FROM outbox")]

        assert await db.run(keys) == ["hl7:F:X1:letter"]
    finally:
        await db.close()
    again = await LocalDb(path).open()  # opening an upgraded file changes nothing
    try:
        assert await again.schema_version() == SCHEMA_VERSION
        assert await again.claim_control_id("hl7:F:X1", "c" * 64, now=13.0) == "b" * 64
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
