"""A refused credential pauses an adapter's work instead of dropping it, against a real hub
whose operator disables an organisation's token and whose administrator rotates one mid-run.

Only content refusals (a 422 and the like) are final: a 401 holds everything the outbox has,
new HL7 messages get ``AR`` (``ERR-3`` 207, ``ERR-5`` ``credential-refused``, nothing
stored), ``/status`` and ``/metrics`` say the hub refuses our credential while
``hub_reachable`` stays true, and everything flows once the credential works again.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from adapters.filedrop import write_atomically
from adapters.outbox import ItemKind, ItemState
from coordinator.security.credentials import local_actor, rotate_system_token
from coordinator.state import ENGINE
from coordinator.tables import Role
from messages.hl7.build import build_referral
from messages.hl7.model import COPENHAGEN
from messages.hl7.samples import CHILD_CPR, GP_GLN, PPR_GLN, make_referral, make_routing
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually, mllp_send
from tests.adapters.test_metrics import scrape, value
from wire.errors import HubRefused

CASEWORKER = "Hanne Østergaard"


async def _status(port: int) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/status") as answer,
    ):
        data: dict[str, Any] = await answer.json()
        return data


async def _operator(hub: RestartableHub, action: str, gln: str) -> None:
    token = await hub.user(PPR_GLN, Role.OPERATOR)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{hub.url}/v1/operator/organisations/{gln}/{action}",
            headers={"Authorization": f"Bearer {token}"},
        ) as answer,
    ):
        assert answer.status == 200, await answer.text()


def _case_events(prefix: str) -> bytes:
    today = datetime.now(COPENHAGEN).date().isoformat()
    events = []
    for n in range(5):
        base = {
            "type": "case",
            "ref": f"PPR-C{n}",
            "child_cpr": CHILD_CPR,
            "kind": "ppr-assessment",
            "opened_on": today,
        }
        events.append({**base, "id": f"{prefix}-open-{n}", "status": "active"})
        events.append({**base, "id": f"{prefix}-close-{n}", "status": "closed", "closed_on": today})
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


async def test_a_disabled_token_holds_the_case_closures_until_it_is_enabled(
    make_adapter: MakeAdapter, hub: RestartableHub
) -> None:
    ppr = await make_adapter("municipality", PPR_GLN, status_port=0)
    assert ppr.status_port
    await _operator(hub, "disable", PPR_GLN)

    async def noticed() -> bool:  # the adapter's own next call to the hub is refused
        return bool(ppr.outbox.credential_refused)

    await eventually(noticed, within=30.0)
    write_atomically(ppr.events.folder, "cases.jsonl", _case_events("d"))
    await eventually(
        lambda: asyncio.to_thread((ppr.events.processed / "cases.jsonl").exists), within=30.0
    )

    async def held() -> list[Any] | None:  # tried and refused, still pending: not dropped
        items = await ppr.outbox.items()
        tried = [i for i in items if i.attempts >= 1]
        return items if len(items) == 10 and tried else None

    items = await eventually(held, within=30.0)
    assert {i.state for i in items} == {ItemState.PENDING}
    assert ppr.outbox.stats.refused == 0
    status = await _status(ppr.status_port)
    assert status["status"] == "unauthorized"
    assert "hub refuses our credential (401 " in status["warnings"][0]
    assert status["credential_refused"] is True
    assert status["hub_reachable"] is True
    text, samples = await scrape(ppr.status_port)
    assert value(samples, "credential_refused") == 1
    assert value(samples, "hub_reachable") == 1
    assert "refuses our credential" in text

    await _operator(hub, "enable", PPR_GLN)

    async def all_sent() -> bool:
        return all(i.state is ItemState.SENT for i in await ppr.outbox.items())

    await eventually(all_sent, within=30.0)
    assert ppr.outbox.stats.refused == 0
    assert not ppr.outbox.credential_refused
    assert (await _status(ppr.status_port))["warnings"] == []
    # every closure reached the index: PPR has no active case for the child any more
    with pytest.raises(HubRefused) as refused:
        await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert refused.value.code == "no-active-case"


async def test_a_rotated_token_holds_an_accepted_referral_and_refuses_new_ones_with_ar(
    make_adapter: MakeAdapter, hub: RestartableHub
) -> None:
    ppr = await make_adapter("municipality", PPR_GLN)
    gp = await make_adapter("gp", GP_GLN, start=False)
    await gp.start()
    try:
        assert hub.app is not None
        new_token = await rotate_system_token(
            engine=hub.app[ENGINE], gln=GP_GLN, actor=local_actor()
        )
        # a referral the adapter takes before it learns of the rotation: stored and AA'd,
        # then its send is refused for the credential, and it is held, not refused
        first = build_referral(make_referral(), make_routing(), control_id="ROT-1")
        ack = await mllp_send(gp.mllp_port, first)
        assert str(ack.segment("MSA")[1]) == "AA"

        async def noticed() -> bool:
            return bool(gp.outbox.credential_refused)

        await eventually(noticed, within=30.0)
        stored = [i for i in await gp.outbox.items() if i.kind is ItemKind.MESSAGE]
        assert [i.state for i in stored] == [ItemState.PENDING]

        # a new message while the credential is refused: AR, an application error, not stored
        second = build_referral(
            make_referral(referral_id="HEN-2024-000043"), make_routing(), control_id="ROT-2"
        )
        ack = await mllp_send(gp.mllp_port, second)
        assert str(ack.segment("MSA")[1]) == "AR"
        assert str(ack.segment("MSA")[2]) == "ROT-2"
        assert str(ack.segment("ERR")[3][0][0]) == "207"
        assert str(ack.segment("ERR")[5]) == "credential-refused"
        assert len([i for i in await gp.outbox.items() if i.kind is ItemKind.MESSAGE]) == 1
        assert gp.outbox.stats.refused == 0
        # its control id stays claimed (alone, no item): the resend below is recognised
        key = f"hl7:{make_routing().sending_facility}:ROT-2"
        known = await gp.db.control_id_digest(key, item_key=f"{key}:letter")
        assert known is not None
        assert known.item_id is None
    finally:
        await gp.stop(grace=1.0)

    # the clinic's administrator puts the new token in the adapter's configuration
    hub.tokens[GP_GLN] = new_token
    gp = await make_adapter("gp", GP_GLN)  # the same state folder: the held referral is there
    ack = await mllp_send(gp.mllp_port, second)  # the clinic sends the AR'd message again
    assert str(ack.segment("MSA")[1]) == "AA"

    async def both_delivered() -> bool:
        letters = await asyncio.to_thread(
            lambda: sorted(ppr.filedrop.config.inbox.glob("XDIS91_*.xml"))
        )
        return len(letters) == 2

    await eventually(both_delivered, within=30.0)
    messages = [i for i in await gp.outbox.items() if i.kind is ItemKind.MESSAGE]
    assert [i.state for i in messages] == [ItemState.SENT, ItemState.SENT]
    assert gp.outbox.stats.refused == 0
