"""An adapter's SQLite file written before the outbox had dependency columns (schema version
0) is upgraded in place when a new adapter opens it, and what was pending in it is delivered,
in order, with its dependencies kept.

Version 0 wrote an item's dependencies into its ``origin``: a referral's case had
``referral:<letter key>``, a consent and a consent revocation ended in ``:<ref>``, and a
revocation's path ended in ``/`` (the hub's id went there). The files here are written as
version 0 wrote them: its schema, verbatim, and its rows made from the requests the adapters
build today, turned back into version 0's form.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.errors import OutboxError
from adapters.gp import GpAdapter
from adapters.localdb import SCHEMA_VERSION, LocalDb
from adapters.municipality import MunicipalityAdapter
from adapters.outbox import Item, ItemKind, ItemState, Outbox, Request
from messages.hl7.build import build_referral
from messages.hl7.mapping import receive
from messages.hl7.model import Organisation, Referral
from messages.hl7.samples import CHILD_CPR, GP_GLN, PPR_GLN, make_referral, make_routing
from tests.adapters.conftest import (
    SECTORS,
    MakeAdapter,
    RestartableHub,
    case_event,
    eventually,
    gln,
    mothers_consent,
)
from wire.client import HubClient

VERSION_0_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,           -- idempotency key: the same key is stored once
    order_key TEXT NOT NULL,            -- items with the same order key are sent in order
    kind TEXT NOT NULL,                 -- message | case | appointment | consent | ...
    origin TEXT NOT NULL DEFAULT '',    -- where it came from (mllp, file name, event id)
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    content_type TEXT,
    body BLOB,                          -- emptied once sent: no letter lingers here
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    settled_at REAL,
    code TEXT,                          -- the hub's problem code when refused / last failure
    detail TEXT,
    result TEXT                         -- the hub's JSON answer when sent
);
CREATE INDEX IF NOT EXISTS ix_outbox_state ON outbox (state, id);
CREATE TABLE IF NOT EXISTS delivered (
    message_id TEXT PRIMARY KEY,        -- a hub message id already handed to the system
    at REAL NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS memo (
    name TEXT PRIMARY KEY,              -- e.g. case-opened:<ref>, consent:<local ref>
    value TEXT NOT NULL
);
"""


def as_version_0(request: Request) -> Request:
    """The request as version 0 stored it: its dependencies in ``origin`` and ``path``."""
    if request.depends_on is not None:
        return replace(request, origin=f"referral:{request.depends_on}", depends_on=None)
    if request.kind is ItemKind.CONSENT:
        return replace(request, origin=f"{request.origin}:{request.ref}", ref=None)
    if request.kind is ItemKind.CONSENT_REVOKE:
        return replace(
            request, origin=f"{request.origin}:{request.ref}", path=request.path + "/", ref=None
        )
    return request


def write_version_0(path: Path, requests: list[Request]) -> None:
    """A version 0 file holding ``requests`` pending, as version 0's outbox wrote them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(VERSION_0_SCHEMA)
        for r in map(as_version_0, requests):
            assert r.depends_on is None
            assert r.ref is None
            conn.execute(
                "INSERT INTO outbox (key, order_key, kind, origin, method, path, "
                "content_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    r.key,
                    r.order_key or r.key,
                    r.kind.value,
                    r.origin,
                    r.method,
                    r.path,
                    r.content_type,
                    r.body,
                    time.time(),
                ),
            )
        conn.commit()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    finally:
        conn.close()


async def settled(adapter: Any) -> bool:
    return bool(adapter.outbox.depth == 0 and await adapter.outbox.drain(0.01))


async def referral_requests(gp: GpAdapter, referral: Referral, control_id: str) -> list[Request]:
    received = receive(build_referral(referral, make_routing(), control_id=control_id).encode())
    assert received.message is not None
    assert isinstance(received.result, Referral)
    return await gp.referral_requests(received.result, received.message)


async def test_pending_referrals_from_a_version_0_file_keep_their_letter_dependency(
    make_adapter: MakeAdapter, hub: RestartableHub
) -> None:
    await hub.org(PPR_GLN, SECTORS["municipality"], name="PPR")
    gp = await make_adapter("gp", GP_GLN, start=False)
    assert isinstance(gp, GpAdapter)
    refused = await referral_requests(
        gp, make_referral(receiver=Organisation(gln(9_999), "Ukendt PPR")), "REF-1"
    )
    taken = await referral_requests(gp, make_referral(), "REF-2")
    assert [r.kind for r in refused] == [ItemKind.MESSAGE, ItemKind.CASE]
    assert refused[1].depends_on == refused[0].key
    write_version_0(gp.config.data_dir / "adapter.sqlite", refused + taken)

    await gp.start()
    try:
        assert await gp.db.schema_version() == SCHEMA_VERSION
        upgraded = await gp.outbox.items()
        assert [(i.kind, i.depends_on) for i in upgraded] == [
            (ItemKind.MESSAGE, None),
            (ItemKind.CASE, refused[0].key),
            (ItemKind.MESSAGE, None),
            (ItemKind.CASE, taken[0].key),
        ]
        await eventually(lambda: settled(gp), within=20.0)
        states = [(i.key, i.state, i.code) for i in await gp.outbox.items()]
        assert states == [
            (refused[0].key, ItemState.REFUSED, "ukendt_lokationsnummer"),
            (refused[1].key, ItemState.REFUSED, "referral-refused"),
            (taken[0].key, ItemState.SENT, None),
            (taken[1].key, ItemState.SENT, None),
        ]
    finally:
        await gp.stop(grace=1.0)


async def test_pending_consent_events_from_a_version_0_file_are_delivered_in_order(
    make_adapter: MakeAdapter,
) -> None:
    ppr = await make_adapter("municipality", PPR_GLN, start=False)
    assert isinstance(ppr, MunicipalityAdapter)
    events: list[dict[str, Any]] = [
        case_event("e1", "PPR-1"),
        mothers_consent("e2"),
        {"id": "e3", "type": "consent-revoked", "ref": "SAMTYKKE-1", "child_cpr": CHILD_CPR},
    ]
    requests = [
        r
        for number, event in enumerate(events, start=1)
        for r in ppr.requests_for(event, origin=f"events:001.jsonl:{number}")
    ]
    write_version_0(ppr.config.data_dir / "adapter.sqlite", requests)

    await ppr.start()
    try:
        assert await ppr.db.schema_version() == SCHEMA_VERSION
        upgraded = await ppr.outbox.items()
        assert [(i.kind, i.ref, i.path) for i in upgraded] == [
            (ItemKind.CASE, None, "/v1/cases/PPR-1"),
            (ItemKind.CONSENT, "SAMTYKKE-1", f"/v1/children/{CHILD_CPR}/consents"),
            (ItemKind.CONSENT_REVOKE, "SAMTYKKE-1", f"/v1/children/{CHILD_CPR}/consents"),
        ]
        await eventually(lambda: settled(ppr), within=20.0)
        items = await ppr.outbox.items()
        assert [(i.key, i.state) for i in items] == [
            ("event:e1", ItemState.SENT),
            ("event:e2", ItemState.SENT),
            ("event:e3", ItemState.SENT),  # sent to the id the hub answered for e2
        ]
        consent_id = items[1].result["id"]
        assert await ppr.db.recall("consent:SAMTYKKE-1") == consent_id
        [consent] = [c for c in await ppr.hub.consents(CHILD_CPR) if c["id"] == consent_id]
        assert consent["revoked_at"] is not None
    finally:
        await ppr.stop(grace=1.0)


async def test_a_new_file_is_stamped_and_a_file_from_a_newer_adapter_is_refused(
    tmp_path: Path,
) -> None:
    db = await LocalDb(tmp_path / "new.sqlite").open()
    try:
        assert await db.schema_version() == SCHEMA_VERSION
    finally:
        await db.close()
    db = await LocalDb(tmp_path / "new.sqlite").open()  # opened again: nothing to migrate
    try:
        assert await db.schema_version() == SCHEMA_VERSION
    finally:
        await db.close()

    conn = sqlite3.connect(tmp_path / "new.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(OutboxError) as newer:
        await LocalDb(tmp_path / "new.sqlite").open()
    assert newer.value.code == "outbox-schema-newer"


async def test_an_item_of_a_kind_this_adapter_does_not_know_is_an_outbox_error(
    tmp_path: Path,
) -> None:
    case = Request(key="k1", kind=ItemKind.CASE, method="PUT", path="/v1/cases/x", body=b"{}")
    write_version_0(tmp_path / "adapter.sqlite", [case])
    conn = sqlite3.connect(tmp_path / "adapter.sqlite")
    conn.execute("UPDATE outbox SET kind = 'gossip'")
    conn.commit()
    conn.close()
    db = await LocalDb(tmp_path / "adapter.sqlite").open()
    hub = HubClient("http://127.0.0.1:9", "unused")  # never contacted
    try:
        with pytest.raises(OutboxError) as unknown:
            await Outbox(db, hub).open()
        assert unknown.value.code == "outbox-unknown-kind"
    finally:
        await hub.close()
        await db.close()


async def test_a_consent_remembered_by_version_0_can_still_be_revoked(
    make_adapter: MakeAdapter,
) -> None:
    """Version 0 remembered a consent's hub id under the part of its ref after the last
    colon; a revocation stored after the upgrade names the whole ref and still finds it."""
    ppr = await make_adapter("municipality", PPR_GLN, start=False)
    assert isinstance(ppr, MunicipalityAdapter)
    write_version_0(ppr.config.data_dir / "adapter.sqlite", [])
    await ppr.db.open()
    try:
        await ppr.db.remember("consent:1", "hub-consent-7")  # as version 0 did for "SAG:1"
        [revoke] = ppr.requests_for(
            {"id": "e9", "type": "consent-revoked", "ref": "SAG:1", "child_cpr": CHILD_CPR},
            origin="events:009.jsonl:1",
        )
        item = Item(
            id=1,
            key=revoke.key,
            order_key=revoke.order_key,
            kind=revoke.kind,
            origin=revoke.origin,
            method=revoke.method,
            path=revoke.path,
            content_type=None,
            body=None,
            state=ItemState.PENDING,
            attempts=0,
            next_try=0.0,
            ref=revoke.ref,
        )
        prepared = await ppr._prepare(item)
        assert prepared.path == f"/v1/children/{CHILD_CPR}/consents/hub-consent-7"
        await ppr.db.remember("consent:SAG:1", "hub-consent-8")  # remembered by this version
        prepared = await ppr._prepare(item)
        assert prepared.path == f"/v1/children/{CHILD_CPR}/consents/hub-consent-8"
    finally:
        await ppr.db.close()
