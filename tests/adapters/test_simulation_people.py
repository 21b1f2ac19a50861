"""The simulated region with an organisation whose people take its letters in (PPR Aalborg,
the demo's caseworker): its adapter leaves its letters alone, the referrals sent to it wait
in its inbox for a person in the caseworker TUI, and the pathways still complete."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from adapters.simulation.region import Org, OrgKind, pilot_region
from adapters.simulation.run import HubAccess, SimulationSettings, simulate
from samspil.simulate import embedded_hub
from wire.client import HubClient
from wire.errors import HubRefused


def test_ppr_aalborg_alone_is_worked_by_its_people() -> None:
    people = [o for o in pilot_region() if o.letters_by_people]
    assert [(o.kind, o.municipality, o.name) for o in people] == [
        (OrgKind.PPR, "851", "PPR Aalborg")
    ]


async def test_referrals_to_ppr_aalborg_wait_in_its_inbox_for_its_people(
    tmp_path: Path,
) -> None:
    seen: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def watched(orgs: Sequence[Org], workdir: Path) -> AsyncIterator[HubAccess]:
        async with embedded_hub(orgs, workdir) as hub:
            yield hub
            # the run is over, the hub still up: what PPR Aalborg's people and system see
            aalborg = next(o for o in orgs if o.letters_by_people)
            token = hub.caseworker_files[aalborg.gln].read_text(encoding="utf-8").strip()
            async with HubClient(hub.url, token) as person:
                seen["waiting"] = await person.inbox(limit=1000)
                seen["owner"] = (await person.whoami())["organisation"]["letters_consumed_by"]
            async with HubClient(hub.url, hub.tokens[aalborg.gln]) as system:
                with pytest.raises(HubRefused) as refused:
                    await system.inbox()
                seen["system"] = refused.value.code

    settings = SimulationSettings(  # patience: a hang guard, never reached by a good run
        children=12, speed=40.0, seed=11, workdir=tmp_path / "run", progress_every=0, patience=60
    )
    progress, health = await simulate(settings, watched)
    assert progress.errors == 0
    assert progress.referrals_arrived == progress.referrals == 12
    assert sum(h["refused"] for h in health) == 0
    assert sum(h["outbox_depth"] for h in health) == 0
    assert seen["owner"] == "people"
    assert seen["system"] == "letters-consumed-by-people"
    referrals = [m for m in seen["waiting"] if str(m.get("subject", "")).startswith("Henvisning")]
    assert referrals, "no referral went to PPR Aalborg: choose a seed that sends one"
    assert all(m["status"] == "accepted" for m in referrals)  # nobody took them in
    [aalborg] = [h for h in health if h["letters_consumed_by"] == "people"]
    assert aalborg["delivered"] == 0
