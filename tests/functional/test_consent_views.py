"""What a caseworker is told about consents: who recorded each, what each opens per sector,
who consented for the overview, and what a consent recorded now would open.

Over real HTTP on SQLite and PostgreSQL. The hub judges all of it with its one rule and
policy (:mod:`coordinator.index.consent`); the caseworker app only shows it. A parent's
consent for a 17-year-old naming psychiatry and the GP opens the municipal sectors only: the
young person's own consent is needed for health data, and the answers say so per sector; an
attested consent opens health data only where that sector recorded it (the default policy).
"""

from __future__ import annotations

from typing import Any

from coordinator.tables import Sector
from tests.functional.conftest import BUP_GLN, PPR_GLN, Client, Hub, MakeHub
from tests.functional.index_samples import PERSON, case, consent, cpr_aged, ok, overview

ALL = ["ppr", "family", "psychiatry", "gp"]


async def _ppr_and_bup(hub: Hub, child: str) -> tuple[Client, Client]:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg")
    await ok(ppr, "PUT", f"/v1/cases/P-{child}", case(child))
    await ok(bup, "PUT", f"/v1/cases/B-{child}", case(child, kind="psychiatric-assessment"))
    return ppr, bup


async def _listed(client: Client, child: str) -> list[dict[str, Any]]:
    answer = await ok(client, "GET", f"/v1/children/{child}/consents")
    listed: list[dict[str, Any]] = answer["consents"]
    return listed


async def test_a_parents_consent_for_a_17_year_old_opens_municipal_data_only(hub: Hub) -> None:
    child = cpr_aged(17)
    ppr, bup = await _ppr_and_bup(hub, child)
    await ok(ppr, "POST", f"/v1/children/{child}/consents", consent(ALL, form="written"))

    [listed] = await _listed(ppr, child)
    assert listed["verification"] == "attested"
    assert (listed["recorded_by_org"], listed["recorded_by"]) == (PPR_GLN, PERSON)
    assert listed["opens"] == {
        "ppr": "shared",
        "family": "shared",
        "psychiatry": "own-consent-needed",
        "gp": "own-consent-needed",
    }

    seen = (await overview(ppr, child))["consent"]
    assert seen["sectors"]["psychiatry"] == "own-consent-needed"
    assert seen["opened_by"] == [
        {
            "relation": "custodial-parent",
            "verification": "attested",
            "valid_until": None,
            "sectors": ["ppr", "family"],
            "recorded_by_you": True,
        }
    ]
    # the rule is about whose data it is: PPR's entries open to child psychiatry, not back
    [for_psychiatry] = (await overview(bup, child))["consent"]["opened_by"]
    assert (for_psychiatry["sectors"], for_psychiatry["recorded_by_you"]) == (
        ["ppr", "family"],
        False,
    )

    # the young person's own consent, recorded by the child psychiatry, opens its data too
    await ok(
        bup,
        "POST",
        f"/v1/children/{child}/consents",
        consent(["ppr", "psychiatry"], relation="self", given_by_name="Sofie Nielsen"),
    )
    [own] = [c for c in await _listed(ppr, child) if c["relation"] == "self"]
    assert (own["recorded_by_org"], own["opens"]) == (
        BUP_GLN,
        {"ppr": "shared", "psychiatry": "shared"},
    )
    seen = (await overview(ppr, child))["consent"]
    assert seen["sectors"]["psychiatry"] == "shared"
    opened = {o["relation"]: o["sectors"] for o in seen["opened_by"]}
    assert opened == {"custodial-parent": ["ppr", "family"], "self": ["ppr", "psychiatry"]}
    psychiatry_sees = (await overview(bup, child))["consent"]["opened_by"]
    assert {o["relation"]: o["sectors"] for o in psychiatry_sees} == opened


async def test_what_a_consent_recorded_now_would_open_follows_the_age_rule(hub: Hub) -> None:
    young, teen, adult = cpr_aged(10), cpr_aged(16), cpr_aged(18)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    for child in (young, teen, adult):
        await ok(ppr, "PUT", f"/v1/cases/P-{child}", case(child))

    under_15 = (await overview(ppr, young))["consent"]["would_open"]
    assert sorted(under_15) == ["custodial-parent", "guardian"]  # a child's own word: refused
    assert under_15["custodial-parent"] == {
        "ppr": "shared",
        "family": "shared",
        "psychiatry": "verified-consent-needed",
        "gp": "verified-consent-needed",
    }

    from_15 = (await overview(ppr, teen))["consent"]["would_open"]
    assert sorted(from_15) == ["custodial-parent", "guardian", "self"]
    assert from_15["custodial-parent"] == {
        "ppr": "shared",
        "family": "shared",
        "psychiatry": "own-consent-needed",
        "gp": "own-consent-needed",
    }
    assert from_15["self"] == {  # PPR's word on it does not open health data (the policy)
        "ppr": "shared",
        "family": "shared",
        "psychiatry": "verified-consent-needed",
        "gp": "verified-consent-needed",
    }

    assert sorted((await overview(ppr, adult))["consent"]["would_open"]) == ["self"]


async def test_a_consent_another_recorded_shows_its_recorder_only_while_in_force(
    hub: Hub,
) -> None:
    child = cpr_aged(12)
    ppr, bup = await _ppr_and_bup(hub, child)
    path = f"/v1/children/{child}/consents"
    recorded = await ok(ppr, "POST", path, consent(["ppr", "psychiatry"]))

    [seen] = await _listed(bup, child)
    assert (seen["recorded_by_org"], seen["recorded_by"], seen["recorded_by_you"]) == (
        PPR_GLN,
        PERSON,
        False,
    )
    assert seen["opens"] == {"ppr": "shared", "psychiatry": "verified-consent-needed"}

    await ok(ppr, "DELETE", f"{path}/{recorded['id']}")
    [revoked] = await _listed(bup, child)
    assert revoked["given_by_name"] is None
    assert (revoked["recorded_by_org"], revoked["recorded_by"]) == (None, None)
    assert revoked["opens"] == {"ppr": "no-consent", "psychiatry": "no-consent"}
    [own] = await _listed(ppr, child)  # the recorder still sees its own in full
    assert (own["recorded_by_org"], own["given_by_name"]) == (PPR_GLN, "Mette Nielsen")


async def test_what_a_consent_would_open_follows_the_hubs_policy(make_hub: MakeHub) -> None:
    hub = await make_hub(attested_consent_opens=("ppr", "family", "psychiatry", "gp"))
    child = cpr_aged(9)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    await ok(ppr, "PUT", f"/v1/cases/P-{child}", case(child))
    would = (await overview(ppr, child))["consent"]["would_open"]
    assert set(would["custodial-parent"].values()) == {"shared"}  # attested opens all here
