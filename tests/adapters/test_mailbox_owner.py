"""An adapter whose organisation's people take its letters in (``letters_consumed_by =
people``): the hub refuses its inbox poll, and it pauses — one clear log line, a warning on
``/status``, no file handed to the case system, nothing acknowledged, sending goes on — and
takes the letters in again once an operator gives them back to the system. Against a real
hub."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.base import PEOPLE_WARNING
from coordinator.operations.metrics import METRICS
from coordinator.security.credentials import local_actor, set_letters_consumer
from coordinator.state import ENGINE
from coordinator.tables import LettersConsumedBy
from messages.hl7.samples import GP_GLN
from tests.adapters.conftest import BUP_GLN, MakeAdapter, RestartableHub, eventually
from tests.adapters.test_filedrop import letter_bytes


async def _owner(hub: RestartableHub, gln: str, owner: LettersConsumedBy) -> None:
    assert hub.app is not None
    await set_letters_consumer(engine=hub.app[ENGINE], gln=gln, owner=owner, actor=local_actor())


def _refused_polls(hub: RestartableHub) -> int:
    assert hub.app is not None
    return hub.app[METRICS].responses[("GET", "/v1/inbox", 409)]


async def test_an_adapter_pauses_where_people_take_the_letters_in_and_resumes_after(
    hub: RestartableHub, make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    gp = await make_adapter("gp", GP_GLN)
    psychiatry = await make_adapter("psychiatry", BUP_GLN, start=False)
    psychiatry.people_pause = 0.1
    await _owner(hub, BUP_GLN, LettersConsumedBy.PEOPLE)
    await psychiatry.start()
    try:
        sent = await gp.hub.submit(letter_bytes(GP_GLN, BUP_GLN, ask=True))
        await eventually(lambda: asyncio.sleep(0, _refused_polls(hub) >= 3))
        assert psychiatry.letters_taken_by_people
        health = psychiatry.health()
        assert health["status"] == "ok"  # a choice, not a fault
        assert PEOPLE_WARNING in health["warnings"]
        assert health["letters_consumed_by"] == "people"

        # nothing taken: the letter waits for the people, untouched
        assert (await gp.hub.status(sent["id"]))["status"] == "accepted"
        inbox = psychiatry.filedrop.config.inbox
        assert await asyncio.to_thread(lambda: list(inbox.glob("*.xml"))) == []
        paused = [r for r in caplog.records if "inbox paused" in r.getMessage()]
        assert len(paused) == 1  # said once, not at every poll

        # sending goes on
        back = await psychiatry.hub.submit(letter_bytes(BUP_GLN, GP_GLN))
        assert back["status"] == "accepted"

        # given back to the system: the adapter takes the letter in
        await _owner(hub, BUP_GLN, LettersConsumedBy.SYSTEM)
        delivered = inbox / f"XDIS91_{sent['id']}.xml"
        await eventually(lambda: asyncio.to_thread(delivered.exists))

        async def taken() -> bool:
            state = await gp.hub.status(sent["id"])
            return bool(state["status"] in ("acknowledged", "receipted"))

        await eventually(taken)
        assert not psychiatry.letters_taken_by_people
        assert psychiatry.health()["warnings"] == []
        resumed = [r for r in caplog.records if "inbox resumed" in r.getMessage()]
        assert len(resumed) == 1
    finally:
        await psychiatry.stop(grace=1.0)
