"""The index through the adapters: psychiatry's HL7 feed and the municipal case system's
events reach the PPR caseworker's overview — with consent the hub's policy accepts, and not
without it."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.filedrop import write_atomically
from adapters.outbox import ItemState
from messages.hl7.build import build_appointment, build_episode_event
from messages.hl7.model import COPENHAGEN
from messages.hl7.samples import (
    CHILD_CPR,
    PPR_GLN,
    make_appointment,
    make_episode_event,
    make_routing,
)
from tests.adapters.conftest import (
    BUP_GLN,
    MakeAdapter,
    RestartableHub,
    case_event,
    eventually,
    mllp_send,
    mothers_consent,
)
from wire.errors import HubRefused

CASEWORKER = "Hanne Østergaard"


def write_events(folder: Path, name: str, *events: dict[str, Any]) -> None:
    write_atomically(folder, name, "".join(json.dumps(e) + "\n" for e in events).encode())


async def settled(adapter: Any) -> bool:
    return bool(adapter.outbox.depth == 0 and await adapter.outbox.drain(0.01))


async def processed_all(adapter: Any, name: str) -> None:
    """Wait until the events file was processed and everything it made was sent."""
    done = adapter.events.processed / name
    await eventually(lambda: asyncio.to_thread(done.exists))
    await eventually(lambda: settled(adapter))
    states = {i.key: (i.state, i.code) for i in await adapter.outbox.items()}
    assert all(state is ItemState.SENT for state, _ in states.values()), states


async def test_psychiatry_appointments_reach_ppr_with_consent_only_and_an_event_closes_a_case(
    make_adapter: MakeAdapter, hub: RestartableHub
) -> None:
    bup = await make_adapter("psychiatry", BUP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)
    events = ppr.config.events.folder
    write_events(
        events,
        "001.jsonl",
        case_event("e1", "PPR-1"),
    )
    routing = make_routing(sending_application="EPJ", sending_facility=BUP_GLN)
    soon = datetime.now(COPENHAGEN).replace(microsecond=0, second=0) + timedelta(days=2)
    for er7 in (
        build_episode_event(make_episode_event(case_ref="BUP-1"), routing, control_id="A04-1"),
        build_appointment(
            make_appointment(case_ref="BUP-1", start=soon, end=soon + timedelta(hours=1)),
            routing,
            control_id="S12-1",
        ),
    ):
        ack = await mllp_send(bup.mllp_port, er7)
        assert str(ack.segment("MSA")[1]) == "AA"
    await eventually(lambda: settled(bup))
    await processed_all(ppr, "001.jsonl")
    assert all(i.state is ItemState.SENT for i in await bup.outbox.items())

    before = await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert before["own"]["cases"][0]["ref"] == "PPR-1"
    assert before["others"]["appointments"] == []
    assert before["consent"]["state"] != "complete"

    write_events(
        events,
        "002.jsonl",
        mothers_consent("e2"),
    )
    await processed_all(ppr, "002.jsonl")
    # the municipality's word alone does not open psychiatry's data (the default policy) ...
    withheld = await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert withheld["others"]["appointments"] == []
    assert withheld["consent"]["sectors"]["psychiatry"] == "verified-consent-needed"
    # ... a hub told to take attested consents for psychiatry's data too lets it through
    await hub.stop()
    hub.settings = hub.settings.replace(attested_consent_opens=("ppr", "family", "psychiatry"))
    await hub.start()
    shared = await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert [a["sector"] for a in shared["others"]["appointments"]] == ["psychiatry"]
    assert [c["sector"] for c in shared["others"]["cases"]] == ["psychiatry"]

    write_events(
        events,
        "003.jsonl",
        {"id": "e3", "type": "consent-revoked", "ref": "SAMTYKKE-1", "child_cpr": CHILD_CPR},
    )
    await processed_all(ppr, "003.jsonl")
    revoked = await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert revoked["others"]["appointments"] == []

    write_events(
        events,
        "004.jsonl",
        case_event("e4", "PPR-1", "closed"),
    )
    await processed_all(ppr, "004.jsonl")
    with pytest.raises(HubRefused) as refused:
        await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert refused.value.code == "no-active-case"
    assert all(i.state is ItemState.SENT for i in await ppr.outbox.items())
    done = sorted(p.name for p in ppr.events.processed.iterdir())
    assert done == ["001.jsonl", "002.jsonl", "003.jsonl", "004.jsonl"]


async def test_bad_event_lines_are_rejected_with_reasons_and_the_rest_goes_on(
    make_adapter: MakeAdapter,
) -> None:
    ppr = await make_adapter("municipality", PPR_GLN)
    good = {
        "id": "ok-1",
        "type": "case",
        "ref": "PPR-9",
        "child_cpr": CHILD_CPR,
        "kind": "ppr-assessment",
        "status": "active",
        "opened_on": "2026-01-05",
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "bad-cpr", "child_cpr": "3113164321"}),
        json.dumps({"id": "what", "type": "gossip"}),
        json.dumps({**good, "id": "no-ref", "ref": ""}),
    ]
    write_atomically(ppr.events.folder, "mixed.jsonl", ("\n".join(lines) + "\n").encode())
    await eventually(lambda: asyncio.to_thread((ppr.events.processed / "mixed.jsonl").exists))
    reason = (ppr.events.rejected / "mixed.jsonl.reason.txt").read_text()
    assert "line 2: invalid-json" in reason
    assert "line 3: invalid-cpr" in reason
    assert "line 4: unknown-type" in reason
    assert "line 5: missing-field" in reason
    assert CHILD_CPR not in reason
    assert len((ppr.events.rejected / "mixed.jsonl").read_text().splitlines()) == 4
    await eventually(lambda: settled(ppr))
    assert [i.state for i in await ppr.outbox.items()] == [ItemState.SENT]
