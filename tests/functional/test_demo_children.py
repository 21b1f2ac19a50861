"""After a run of the simulated region, the demo's caseworker has children to find: every
pathway of its organisation (``keep_open``, as ``samspil demo`` sets it) is still under way,
and its "my children" list (``GET /v1/children``) shows exactly those children, each with
the partner the hub told it of (the GP whose follow-up was active when the case opened)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.simulation.region import pilot_region
from adapters.simulation.run import SimulationSettings, simulate
from samspil.simulate import demo_caseworker, embedded_hub, started
from wire.client import HubClient

pytestmark = pytest.mark.timeout(300)


async def test_the_demo_caseworker_finds_its_children_after_the_run(tmp_path: Path) -> None:
    home = demo_caseworker(pilot_region())
    settings = SimulationSettings(  # seed 29: three of the six children go to PPR Aalborg
        children=6, speed=40.0, seed=29, workdir=tmp_path / "region", progress_every=0,
        patience=60, keep_open=frozenset({home.gln}),
    )  # fmt: skip
    async with embedded_hub(pilot_region(), tmp_path) as hub:
        progress, _ = await simulate(settings, started(hub))
        token = hub.caseworker_files[home.gln].read_text().strip()
        async with HubClient(hub.url, token) as caseworker:
            mine = await caseworker.my_children()
    assert progress.errors == 0
    with sqlite3.connect(tmp_path / "hub" / "samspil.sqlite") as db:
        [(closed,)] = db.execute(
            "SELECT count(*) FROM index_case WHERE org_gln = ? AND status = 'closed'", (home.gln,)
        )
    assert closed == 0  # none of its pathways ended
    ours = {p.cpr for p in progress.still_open if home in p.orgs}
    assert ours, "no pathway of the demo's caseworker's organisation stayed under way"
    assert {c["child_cpr"] for c in mine["children"]} == ours
    assert mine["total"] == len(ours)
    for child in mine["children"]:
        assert [c["kind"] for c in child["cases"]] == ["ppr-assessment"]
        assert child["partners_told"] >= 1  # the GP's follow-up: told both ways
