"""The stolen-token signal, over real HTTP on SQLite and PostgreSQL: per organisation and UTC
day, new children registered and attested consents recorded, today against the usual day, a
day far above it flagged in the operators' summary and on ``/metrics``. The hub's clock is
set by the test, so "today" moves without waiting a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coordinator.errors import ConfigError
from coordinator.settings import Settings
from coordinator.tables import Role, Sector
from samspil.consent_service.server import running_service
from tests.functional.conftest import BUP_GLN, PPR_GLN, Client, Hub, MakeHub
from tests.functional.index_samples import case, consent, cpr_aged, ok
from wire.consent_document import ConsentRequest
from wire.consent_service import sign_consent


class SetClock:
    """The hub's now, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


TODAY = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


async def _register(client: Client, children: list[str], kind: str = "ppr-assessment") -> None:
    for child in children:
        await ok(client, "PUT", f"/v1/cases/R-{child}", case(child, kind=kind))


def _children(n: int) -> list[str]:
    return [cpr_aged(5 + i % 10, days=30 + i) for i in range(n)]


async def _rates(hub: Hub) -> dict[tuple[str, str], dict[str, Any]]:
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    summary = await ok(operator, "GET", "/v1/operator/summary")
    return {(r["organisation"], r["kind"]): r for r in summary["index_rates"]}


def _seen(rate: dict[str, Any]) -> tuple[int, float, bool]:
    return rate["today"], rate["usual"], rate["flagged"]


async def test_a_day_far_above_the_usual_is_flagged(make_hub: MakeHub) -> None:
    clock = SetClock(TODAY - timedelta(days=14))
    hub = await make_hub(clock=clock, rate_alert_multiple=3.0, rate_alert_minimum=10)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg")
    known = _children(14)
    for day in range(14):  # a usual fortnight: PPR one new child a day, BUP one every other
        clock.now = TODAY - timedelta(days=14 - day)
        await _register(ppr, known[day : day + 1])
        if day % 2 == 0:
            await _register(bup, known[day : day + 1], "psychiatric-assessment")
    clock.now = TODAY
    busy, quiet = _children(12), _children(3)
    await _register(ppr, busy)
    await _register(bup, quiet, "psychiatric-assessment")
    # not new children: a second case for a known child, an update, a reopened child
    await ok(ppr, "PUT", f"/v1/cases/X-{known[0]}", case(known[0], kind="ppr-counselling"))
    await ok(ppr, "PUT", f"/v1/cases/R-{busy[0]}", case(busy[0], contact_name="Ny"))
    for child in busy[:11]:  # the token also attests a consent for most of them
        await ok(ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr", "psychiatry"]))

    rates = await _rates(hub)
    assert _seen(rates[(PPR_GLN, "new-children")]) == (12, 1.0, True)
    assert _seen(rates[(PPR_GLN, "attested-consents")]) == (11, 0.0, True)
    assert rates[(PPR_GLN, "new-children")]["name"] == "PPR Aalborg"
    assert _seen(rates[(BUP_GLN, "new-children")]) == (3, 0.5, False)  # under the minimum
    assert (BUP_GLN, "attested-consents") not in rates  # none in the fortnight

    async with hub.session.get(hub.base + "/metrics") as response:
        text = await response.text()
    labels = f'organisation="{PPR_GLN}",kind="new-children"'
    assert f"samspil_index_rate_today{{{labels}}} 12" in text
    assert f"samspil_index_rate_usual{{{labels}}} 1" in text
    assert f"samspil_index_rate_flagged{{{labels}}} 1" in text
    bup_labels = f'organisation="{BUP_GLN}",kind="new-children"'
    assert f"samspil_index_rate_flagged{{{bup_labels}}} 0" in text

    clock.now = TODAY + timedelta(days=1)  # the next day: yesterday is part of the usual now
    rates = await _rates(hub)
    assert _seen(rates[(PPR_GLN, "new-children")]) == (0, round(25 / 14, 2), False)
    clock.now = TODAY + timedelta(days=15)  # the busy day is past the counted fortnight
    assert (PPR_GLN, "new-children") not in await _rates(hub)


async def test_a_day_is_a_utc_day_and_the_multiple_counts_against_the_usual(
    make_hub: MakeHub,
) -> None:
    midnight = TODAY.replace(hour=0, minute=0)
    clock = SetClock(midnight - timedelta(days=3))
    hub = await make_hub(clock=clock, rate_alert_multiple=2.0, rate_alert_minimum=3)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    await _register(ppr, _children(7))  # 7 in 14 days: a usual half a day
    clock.now = midnight - timedelta(microseconds=1)  # yesterday's last moment
    await _register(ppr, _children(1))
    clock.now = midnight
    await _register(ppr, _children(1))
    assert _seen((await _rates(hub))[(PPR_GLN, "new-children")]) == (1, round(8 / 14, 2), False)
    await _register(ppr, _children(1))
    # 2 is over twice the usual day (8/14) but under the minimum of 3
    assert _seen((await _rates(hub))[(PPR_GLN, "new-children")]) == (2, 0.57, False)
    await _register(ppr, _children(1))
    assert _seen((await _rates(hub))[(PPR_GLN, "new-children")]) == (3, 0.57, True)


def test_the_rule_is_validated() -> None:
    assert Settings(environment="test").check().rate_alert_multiple == 3.0
    for bad in (
        Settings(environment="test", rate_alert_multiple=0.5),
        Settings(environment="test", rate_alert_multiple=float("nan")),
        Settings(environment="test", rate_alert_multiple=float("inf")),
        Settings(environment="test", rate_alert_minimum=0),
    ):
        with pytest.raises(ConfigError, match="SAMSPIL_RATE_ALERT_"):
            bad.check()
    read = Settings.from_env(
        {"SAMSPIL_RATE_ALERT_MULTIPLE": "4.5", "SAMSPIL_RATE_ALERT_MINIMUM": "25"}
    )
    assert (read.rate_alert_multiple, read.rate_alert_minimum) == (4.5, 25)
    with pytest.raises(ConfigError, match="SAMSPIL_RATE_ALERT_MINIMUM has an invalid value"):
        Settings.from_env({"SAMSPIL_RATE_ALERT_MINIMUM": "many"})


async def test_a_verified_consent_is_not_counted(make_hub: MakeHub, tmp_path: Path) -> None:
    async with running_service(tmp_path / "consent-service") as service:
        hub = await make_hub(consent_jwks=service.jwks_url)
        ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
        child = cpr_aged(9)
        await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
        request = ConsentRequest.model_validate(
            {
                "child_cpr": child,
                "given_by_name": "Mette Nielsen",
                "relation": "custodial-parent",
                "sectors": ["ppr", "family"],
            }
        )
        signed = await sign_consent(service.url, request)
        await ok(ppr, "POST", f"/v1/children/{child}/consents", {"document": signed.document})
        await ok(ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr", "family"]))
        listed = (await ok(ppr, "GET", f"/v1/children/{child}/consents"))["consents"]
        assert sorted(c["verification"] for c in listed) == ["attested", "verified"]
        rates = await _rates(hub)
    assert _seen(rates[(PPR_GLN, "attested-consents")]) == (1, 0.0, False)
