"""What the demo and the simulation say at the end about the operators' summary: one
sentence per flagged organisation, its kinds in the hub's order; nothing flagged said so."""

from __future__ import annotations

from typing import Any

from adapters.simulation.intruder import burst_size
from samspil.rate_flags import sentences
from samspil.simulate import run_alerts


def rate(org: str, kind: str, today: int, usual: float, *, flagged: bool) -> dict[str, Any]:
    return {"organisation": org, "name": f"Klinik {org[-3:]}", "kind": kind, "today": today,
            "usual": usual, "flagged": flagged}  # fmt: skip


def test_each_flagged_organisation_is_one_sentence_with_its_counts() -> None:
    summary = {
        "index_rates": [
            rate("5790009003019", "attested-consents", 30, 0.0, flagged=True),
            rate("5790009003019", "new-children", 30, 0.5, flagged=True),
            rate("5790009001007", "new-children", 4, 0.0, flagged=False),
            rate("5790009001014", "new-children", 12, 1.25, flagged=True),
        ]
    }
    assert sentences(summary) == [
        "The monitor flagged Klinik 014 (5790009001014): 12 new children today against a "
        "usual 1.25 — a stolen token? The monitor's d disables it.",
        "The monitor flagged Klinik 019 (5790009003019): 30 new children today against a usual "
        "0.5; 30 attested consents today against a usual 0 — a stolen token? The monitor's d "
        "disables it.",
    ]


def test_nothing_flagged_is_said() -> None:
    quiet = {"index_rates": [rate("5790009001007", "new-children", 4, 3.0, flagged=False)]}
    assert sentences(quiet) == ["The monitor flagged no organisation's rate today."]
    assert sentences({"index_rates": []}) == sentences(quiet)


def test_a_runs_alert_lies_between_its_own_traffic_and_the_stolen_tokens_burst() -> None:
    # an organisation registers each of a run's children at most once, and attests at most
    # one consent per child: the floor is above that, and the burst reaches it
    for children in range(1, 2_000):
        floor = run_alerts(children)["rate_alert_minimum"]
        assert children < floor <= burst_size(children)
