"""An answer that shows only some parts of an overview (a FHIR search for one resource type)
discloses, logs and tells only the owners those parts show
(:func:`coordinator.index.disclosure._only`)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from coordinator.index.disclosure import EVERYTHING, Shown, _only
from coordinator.index.store import Opening, Overview
from wire.directory import Sector

ME, CASES_ONLY, APPOINTMENTS_ONLY, COORDINATOR = "1", "2", "3", "4"


def _overview(coordinator: str = COORDINATOR) -> Overview:
    return Overview(
        age=9,
        caller_sector=Sector.PPR,
        verdicts={},
        own_cases=[SimpleNamespace(org_gln=ME)],
        own_appointments=[SimpleNamespace(org_gln=ME)],
        other_cases=[SimpleNamespace(org_gln=CASES_ONLY)],
        other_appointments=[SimpleNamespace(org_gln=APPOINTMENTS_ONLY)],
        coordinator=SimpleNamespace(org_gln=coordinator),
        disclosed=sorted({CASES_ONLY, APPOINTMENTS_ONLY} | ({coordinator} - {ME})),
        opened=[
            Opening(owner, uuid.uuid4(), ME)
            for owner in (CASES_ONLY, APPOINTMENTS_ONLY, coordinator)
            if owner != ME
        ],
    )


def _seen(result: Overview) -> tuple[list[str], list[str]]:
    return result.disclosed, [o.owner_org for o in result.opened]


def test_each_part_discloses_and_tells_only_its_owners() -> None:
    cases = _only(_overview(), frozenset({Shown.CASES}), ME)
    assert _seen(cases) == ([CASES_ONLY], [CASES_ONLY])
    assert (cases.other_appointments, cases.coordinator) == ([], None)
    assert len(cases.own_cases) == len(cases.own_appointments) == 1  # one's own stay
    appointments = _only(_overview(), frozenset({Shown.APPOINTMENTS}), ME)
    assert _seen(appointments) == ([APPOINTMENTS_ONLY], [APPOINTMENTS_ONLY])
    team = _only(_overview(), frozenset({Shown.CASES, Shown.COORDINATOR}), ME)
    assert _seen(team) == ([CASES_ONLY, COORDINATOR], [CASES_ONLY, COORDINATOR])
    assert _seen(_only(_overview(), frozenset(), ME)) == ([], [])
    everything = _only(_overview(), EVERYTHING, ME)
    assert _seen(everything) == _seen(_overview())


def test_ones_own_coordinator_is_shown_and_discloses_no_one() -> None:
    mine = _only(_overview(coordinator=ME), frozenset(), ME)
    assert mine.coordinator is not None
    assert _seen(mine) == ([], [])
