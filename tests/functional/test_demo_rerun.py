"""A second run of the simulated region in the same folder is a fresh region too: the
embedded hub starts on an empty database, the adapters on empty outboxes and folders, and
the second run delivers as many letters as the first, as the hub itself counts them (SQLite,
the demo's own database file in the folder; PostgreSQL, a fresh database per run). Each run
leaves some children's cases active, for the caseworker token files it wrote to look up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.simulation.region import pilot_region
from adapters.simulation.run import SimulationSettings, simulate
from samspil.simulate import embedded_hub, started
from tests.databases import drop_database, new_database
from wire.client import HubClient

pytestmark = pytest.mark.timeout(300)

FreshDatabase = Callable[[], Awaitable[dict[str, Any]]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fresh_database(request: pytest.FixtureRequest) -> AsyncIterator[FreshDatabase]:
    """Hub settings for one run's empty database: SQLite, the embedded hub's own file in the
    run's folder (which it empties itself, as the demo's is); PostgreSQL, a new database."""
    made: list[str] = []
    server = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""

    async def fresh() -> dict[str, Any]:
        if not server:
            return {}
        name, url = await new_database(server)
        made.append(name)
        return {"database_url": url}

    yield fresh
    for name in made:
        await drop_database(server, name)


async def test_a_second_run_in_the_same_folder_delivers_its_letters_again(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    settings = SimulationSettings(  # patience: a hang guard, never reached by a good run
        children=5, speed=40.0, seed=11, workdir=tmp_path / "region", progress_every=0,
        patience=60,
    )  # fmt: skip
    counted: list[int] = []
    for _ in range(2):
        async with embedded_hub(pilot_region(), tmp_path, **await fresh_database()) as hub:
            progress, health = await simulate(settings, started(hub))
            async with HubClient(hub.url, hub.operator_token) as operator:
                summary = await operator.summary()
            # the children still under way have active cases their caseworkers can look up
            assert progress.still_open
            for pathway in progress.still_open:
                for org in pathway.orgs:
                    token = hub.caseworker_files[org.gln].read_text().strip()
                    async with HubClient(hub.url, token) as caseworker:
                        assert await caseworker.overview(pathway.cpr)
        assert progress.errors == 0
        assert progress.referrals == progress.referrals_arrived == 5
        assert sum(h["refused"] for h in health) == 0
        assert sum(h["outbox_depth"] for h in health) == 0
        # every referral's letter and every letter back reached the hub in this run
        letters = sum(summary["by_status"].values())
        assert letters >= progress.referrals + progress.letters
        counted.append(letters)
    assert counted[0] == counted[1]
