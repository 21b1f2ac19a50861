"""An HL7 message's control id is claimed in the same commit as the items it becomes.

Through the GP and psychiatry adapters' MLLP door (real sockets, a real hub, the adapter's
real SQLite file), and the outbox's group transaction itself:

* a resend is recognised before mapping and answered ``AA`` from the item already stored;
* a reused control id with other content is ``AE`` ``control-id-reused``: nothing stored,
  no note left behind;
* messages with one control id at the same time: one is mapped and stored;
* a failed outbox write leaves no claim and no note (so the message's resend is taken), and
  a claim is kept as long as a sent item, across pruning and a restart of the adapter.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.errors import ControlIdReused
from adapters.localdb import LocalDb
from adapters.outbox import ControlIdClaim, ItemKind, Outbox, Request
from messages.hl7.build import build_referral
from messages.hl7.samples import GP_GLN, PPR_GLN, make_referral, make_routing
from tests.adapters.conftest import MakeAdapter, eventually, mllp_send
from tests.adapters.test_mllp_doors import (
    DOORS,
    Clinic,
    appointment,
    episode,
    err5,
    msa,
    restamped,
)
from wire.client import HubClient


@pytest.fixture(params=DOORS, ids=[kind for kind, _ in DOORS])
async def door(request: pytest.FixtureRequest, make_adapter: MakeAdapter) -> Any:
    kind, org = request.param
    return await make_adapter(kind, org)


async def _keys(adapter: Any, control_id: str) -> list[str]:
    """The outbox keys stored for one control id of the adapter's sending facility."""
    prefix = f"hl7:{make_routing().sending_facility}:{control_id}:"
    return [i.key for i in await adapter.outbox.items() if i.key.startswith(prefix)]


async def _claims(adapter: Any) -> dict[str, str]:
    def get(conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, digest FROM hl7_control_ids").fetchall())

    result: dict[str, str] = await adapter.db.run(get)
    return result


def _claim_key(control_id: str) -> str:
    return f"hl7:{make_routing().sending_facility}:{control_id}"


async def test_a_resend_is_answered_from_its_stored_item_even_when_it_cannot_be_mapped_now(
    door: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = appointment("S12-1", case_ref="BESOG-1")
    clinic = Clinic(door.mllp_port)
    try:
        assert msa(await clinic.send(first)) == ("AA", "S12-1")

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("mapped again")

        monkeypatch.setattr(door, "requests_for", broken)
        # a new message that cannot be mapped is refused; a resend of a stored one is
        # answered from its stored item, as the first time
        assert err5(await clinic.send(episode("NEW-1"))) == "internal"
        assert msa(await clinic.send(restamped(first))) == ("AA", "S12-1")
        assert msa(await clinic.send(first)) == ("AA", "S12-1")
    finally:
        clinic.close()
    assert await _keys(door, "S12-1") == [f"{_claim_key('S12-1')}:appointment"]
    assert door.outbox.stats.duplicates == 2
    assert door.health()["acks"] == {"AA": 3, "AE": 1, "AR": 0}


async def test_a_reused_control_id_is_refused_and_leaves_nothing_behind(door: Any) -> None:
    clinic = Clinic(door.mllp_port)
    try:
        assert msa(await clinic.send(episode("E-1", case_ref="V-10"))) == ("AA", "E-1")
        claims = await _claims(door)
        ack = await clinic.send(episode("E-1", case_ref="V-11"))
        assert (msa(ack), err5(ack)) == (("AE", "E-1"), "control-id-reused")
        assert str(ack.segment("ERR")[3][0][0]) == "205"
    finally:
        clinic.close()
    assert await _claims(door) == claims  # the first message's claim, unchanged
    assert await _keys(door, "E-1") == [f"{_claim_key('E-1')}:case"]
    assert await door.db.recall("case-opened:V-11") is None  # not mapped: no note
    assert await door.db.recall("case-opened:V-10") is not None


async def test_one_control_id_sent_at_once_on_several_connections_is_stored_once(
    door: Any,
) -> None:
    same = appointment("SAME-1", case_ref="BESOG-2")
    acks = await asyncio.gather(*(mllp_send(door.mllp_port, same) for _ in range(4)))
    assert [msa(a) for a in acks] == [("AA", "SAME-1")] * 4
    assert await _keys(door, "SAME-1") == [f"{_claim_key('SAME-1')}:appointment"]
    assert door.outbox.stats.duplicates == 3  # the others waited for it: answered as resends

    # one control id, two contents at once: one is stored, the other refused
    one = appointment("TWO-1", case_ref="BESOG-3", appointment_id="AFT-3")
    other = appointment("TWO-1", case_ref="BESOG-3", appointment_id="AFT-4")
    pair = await asyncio.gather(mllp_send(door.mllp_port, one), mllp_send(door.mllp_port, other))
    assert sorted(msa(a)[0] for a in pair) == ["AA", "AE"]
    assert [err5(a) for a in pair if msa(a)[0] == "AE"] == ["control-id-reused"]
    items = [i for i in await door.outbox.items() if i.key.startswith(_claim_key("TWO-1") + ":")]
    assert len(items) == 1
    stored = "AFT-3" if msa(pair[0])[0] == "AA" else "AFT-4"
    assert items[0].path == f"/v1/appointments/{stored}"


async def test_the_outbox_transaction_decides_claims_that_meet_in_one_group(
    tmp_path: Path,
) -> None:
    """Puts queued before the writer runs share one transaction: the claim decides there."""
    db = await LocalDb(tmp_path / "adapter.sqlite").open()
    hub = HubClient("http://127.0.0.1:9", "unused")  # never contacted: run() is not started
    outbox = await Outbox(db, hub).open()

    def put(key: str, digest: str) -> Any:
        request = Request(key=f"{key}:case", kind=ItemKind.CASE, method="PUT", path="/v1/cases/C")
        return outbox.put_many([request], claim=ControlIdClaim(key, digest))

    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                put("hl7:F:1", "a"),
                put("hl7:F:1", "b"),  # reused: refused, nothing of it written
                put("hl7:F:1", "a"),  # a resend: the first one's item
                put("hl7:F:2", "b"),
                return_exceptions=True,
            ),
            timeout=10,
        )
        first, reused, resend, elsewhere = results
        assert isinstance(reused, ControlIdReused)
        assert reused.code == "control-id-reused"
        assert isinstance(first, list)
        assert isinstance(resend, list)
        assert isinstance(elsewhere, list)
        assert first[0][1] is True
        assert resend == [(first[0][0], False)]
        assert elsewhere[0][1] is True
        assert outbox.depth == 2
        known = await db.control_id_digest("hl7:F:1", item_key="hl7:F:1:case")
        assert known is not None
        assert (known.digest, known.item_id) == ("a", first[0][0])
    finally:
        await outbox.close()
        await hub.close()
        await db.close()


async def test_a_failed_outbox_write_leaves_no_claim_and_the_resend_is_stored(
    door: Any,
) -> None:
    def break_outbox(conn: sqlite3.Connection) -> None:  # the items' INSERT fails
        conn.execute(
            "CREATE TEMP TRIGGER no_items BEFORE INSERT ON outbox "
            "BEGIN SELECT RAISE(ABORT, 'injected'); END"
        )

    def mend_outbox(conn: sqlite3.Connection) -> None:
        conn.execute("DROP TRIGGER temp.no_items")

    message = appointment("FAIL-1", case_ref="BESOG-4")
    await door.db.run(break_outbox)
    try:
        # the outbox cannot store it; the hub takes it directly (AA), nothing is kept
        assert msa(await mllp_send(door.mllp_port, message)) == ("AA", "FAIL-1")
    finally:
        await door.db.run(mend_outbox)
    assert await _claims(door) == {}  # written in the same transaction: rolled back with it
    assert await _keys(door, "FAIL-1") == []
    assert await door.db.recall_prefix("unlinked:") == {}  # its note too

    assert msa(await mllp_send(door.mllp_port, message)) == ("AA", "FAIL-1")
    assert list(await _claims(door)) == [_claim_key("FAIL-1")]
    assert await _keys(door, "FAIL-1") == [f"{_claim_key('FAIL-1')}:appointment"]
    assert list(await door.db.recall_prefix("unlinked:")) == ["unlinked:/v1/appointments/AFT-1"]


async def test_a_claim_is_kept_as_long_as_a_sent_item(door: Any) -> None:
    old = episode("OLD-1", case_ref="V-20")
    young = episode("YOUNG-1", case_ref="V-21")
    for message in (old, young):
        assert msa(await mllp_send(door.mllp_port, message))[0] == "AA"
    assert await door.outbox.drain(10.0)

    async def all_settled() -> bool:
        return len(await door.outbox.items()) == 2 and not door.outbox.depth

    await eventually(all_settled)
    horizon = time.time() - door.config.outbox.keep_sent

    def age(conn: sqlite3.Connection) -> None:  # the old message: settled a week and more ago
        conn.execute(
            "UPDATE outbox SET settled_at = ? WHERE key LIKE ?",
            (horizon - 60, _claim_key("OLD-1") + ":%"),
        )
        conn.execute(
            "UPDATE hl7_control_ids SET at = ? WHERE key = ?", (horizon - 60, _claim_key("OLD-1"))
        )

    await door.db.run(age)
    assert await door.outbox.prune() == 1
    assert list(await _claims(door)) == [_claim_key("YOUNG-1")]
    # the young message's claim is kept with its item: a resend, and a reuse refused
    assert msa(await mllp_send(door.mllp_port, restamped(young))) == ("AA", "YOUNG-1")
    ack = await mllp_send(door.mllp_port, episode("YOUNG-1", case_ref="V-22"))
    assert (msa(ack), err5(ack)) == (("AE", "YOUNG-1"), "control-id-reused")
    assert len(await _keys(door, "YOUNG-1")) == 1
    # the old one is forgotten with its item: its control id is free again
    assert msa(await mllp_send(door.mllp_port, episode("OLD-1", case_ref="V-23")))[0] == "AA"


async def test_claims_outlive_a_restart_of_the_adapter(make_adapter: MakeAdapter) -> None:
    await make_adapter("municipality", PPR_GLN)
    first = build_referral(make_referral(reason="reason-alpha"), make_routing(), control_id="RS-1")
    other = build_referral(make_referral(reason="reason-bravo"), make_routing(), control_id="RS-1")
    gp = await make_adapter("gp", GP_GLN, start=False)
    await gp.start()
    try:
        assert msa(await mllp_send(gp.mllp_port, first)) == ("AA", "RS-1")
    finally:
        await gp.stop(grace=1.0)

    gp = await make_adapter("gp", GP_GLN)  # the same state folder
    assert msa(await mllp_send(gp.mllp_port, restamped(first))) == ("AA", "RS-1")
    ack = await mllp_send(gp.mllp_port, other)
    assert (msa(ack), err5(ack)) == (("AE", "RS-1"), "control-id-reused")
    letters = [i for i in await gp.outbox.items() if i.kind is ItemKind.MESSAGE]
    assert [i.key for i in letters] == [f"{_claim_key('RS-1')}:letter"]
    assert gp.outbox.stats.duplicates == 1
