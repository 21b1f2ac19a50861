"""The simulated pilot region against a real embedded hub: every pathway completes, nothing
is refused or left queued, and the same seed gives the same run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from adapters.simulation.region import OrgKind, children, pilot_region
from adapters.simulation.run import Progress, SimulationSettings, simulate
from messages.identifiers import parse_cpr
from samspil.simulate import embedded_hub


def test_the_pilot_region_has_every_partner() -> None:
    orgs = pilot_region()
    kinds = [o.kind for o in orgs]
    assert kinds.count(OrgKind.GP) == 15
    assert kinds.count(OrgKind.PPR) == kinds.count(OrgKind.FAMILY) == 5
    assert kinds.count(OrgKind.PSYCHIATRY) == 1
    assert {o.municipality for o in orgs if o.kind is OrgKind.PPR} == {
        "810", "787", "849", "851", "840"
    }  # fmt: skip
    assert len({o.gln for o in orgs}) == len(orgs)


def test_synthetic_children_are_valid_deterministic_and_under_18() -> None:
    today = date(2026, 11, 28)
    first = children(50, 7, today=today)
    assert first == children(50, 7, today=today)
    assert first != children(50, 8, today=today)
    for child in first:
        cpr = parse_cpr(child.cpr)
        assert cpr.birth_date == child.born
        assert cpr.age_on(today) < 18
        assert child.cpr[6] == "4"
        assert child.cpr not in repr(child)


async def run(tmp_path: Path, name: str) -> Progress:
    settings = SimulationSettings(  # patience: a hang guard, never reached by a good run
        children=6, speed=40.0, seed=11, workdir=tmp_path / name, progress_every=0, patience=60
    )
    progress, health = await simulate(settings, embedded_hub)
    assert sum(h["refused"] for h in health) == 0
    assert sum(h["outbox_depth"] for h in health) == 0
    assert sum(h["acks"]["AE"] + h["acks"]["AR"] for h in health if "acks" in h) == 0
    return progress


async def test_the_region_runs_every_pathway_through_a_real_hub(tmp_path: Path) -> None:
    first = await run(tmp_path, "one")
    assert first.completed == first.started == 6
    assert first.errors == 0
    assert first.referrals_arrived == first.referrals == 6
    # every clinic asked for the overview (QBP^Q11) before it referred; psychiatry read the
    # FHIR API; the municipal case systems took in their partner events, each once
    assert first.queries == first.referrals
    assert first.fhir_reads <= first.referrals
    # every case is closed but those of the pathways still under way: the receiver's, the
    # family department's and the GP's follow-up
    assert first.still_open
    left_open = sum(len(p.orgs) + 1 for p in first.still_open)
    assert first.cases_opened == first.cases_closed + left_open
    again = await run(tmp_path, "two")
    # what the pathways decide (an overview also depends on timing: whether the hub has the
    # case yet)
    counts = ("cases_opened", "appointments", "consents", "revoked", "letters")
    assert [getattr(again, c) for c in counts] == [getattr(first, c) for c in counts]
    assert set(again.still_open) == set(first.still_open)  # the seed decides, not the order
