"""The simulated region shows the trust between partners on a real hub (SQLite and
PostgreSQL): most families' consents are signed at the running consent service and recorded
as verified, the rest attested, as the hub's own consent lists show; and the stolen GP
token's burst of children is what the operators' summary flags, and nothing else is, with
the alert the demo configures for its run."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from adapters.simulation.intruder import burst_size
from adapters.simulation.region import Org, OrgKind, children, pilot_region
from adapters.simulation.run import SimulationSettings, simulate
from samspil.rate_flags import sentences
from samspil.simulate import embedded_hub, run_alerts, started
from tests.functional.conftest import gln
from wire.client import HubClient

pytestmark = pytest.mark.timeout(300)

CHECK = Org(gln(9_001), "Tilsynet", OrgKind.PPR, "851")
"""An organisation outside the region that opens a case for each child afterwards, to read
the consents the hub recorded (an organisation sees a child's consents while it has an
active case)."""
CHILDREN, SEED = 8, 3


async def test_the_region_records_verified_and_attested_consents_and_a_stolen_token_burst(
    hub_db: str, tmp_path: Path
) -> None:
    settings = SimulationSettings(  # patience: a hang guard, never reached by a good run
        children=CHILDREN, speed=40.0, seed=SEED, workdir=tmp_path / "region",
        progress_every=0, patience=60, stolen_token_children=burst_size(CHILDREN),
    )  # fmt: skip
    orgs = (*pilot_region(), CHECK)
    alerts = run_alerts(CHILDREN)
    async with embedded_hub(orgs, tmp_path, database_url=hub_db, **alerts) as hub:
        progress, health = await simulate(settings, started(hub))
        assert progress.errors == 0
        assert progress.completed == CHILDREN
        assert sum(h["refused"] for h in health) == 0
        assert sum(h["outbox_depth"] for h in health) == 0
        assert progress.consents_verified > 0
        assert progress.consents_attested > 0
        assert progress.intrusion is not None
        assert progress.intrusion.children == progress.intrusion.consents == burst_size(CHILDREN)
        assert progress.intrusion.org.kind is OrgKind.GP

        # the operators' summary flags the stolen token's organisation, for both kinds, and
        # no other: the region's own traffic stays under the run's alert
        async with HubClient(hub.url, hub.operator_token) as operator:
            summary = await operator.summary()
        rates = summary["index_rates"]
        flagged = {(r["organisation"], r["kind"]): r for r in rates if r["flagged"]}
        stolen = progress.intrusion.org.gln
        assert set(flagged) == {(stolen, "new-children"), (stolen, "attested-consents")}
        for rate in flagged.values():
            assert rate["today"] >= burst_size(CHILDREN)
            assert rate["usual"] == 0
        quiet = [r["today"] for r in rates if not r["flagged"]]
        assert quiet
        assert max(quiet) < alerts["rate_alert_minimum"]
        assert any(r["kind"] == "attested-consents" for r in rates if not r["flagged"])
        [said] = sentences(summary)
        assert said.startswith(f"The monitor flagged {progress.intrusion.org.name} ({stolen}): ")

        # what the hub recorded, from its own consent lists
        recorded: Counter[str] = Counter()
        kids = children(CHILDREN, SEED, today=date.today())
        async with HubClient(hub.url, hub.tokens[CHECK.gln]) as check:
            for n, kid in enumerate(kids):
                await check.put_case(
                    f"TILSYN-{n}",
                    {"child_cpr": kid.cpr, "kind": "ppr-assessment", "status": "active",
                     "opened_on": date.today().isoformat(),
                     "contact": {"name": "Tilsynet", "role": "tilsyn"}},
                )  # fmt: skip
                for consent in await check.consents(kid.cpr):
                    recorded[consent["verification"]] += 1
                    assert consent["recorded_by_you"] is False
        assert recorded == {
            "verified": progress.consents_verified,
            "attested": progress.consents_attested,
        }
