"""Upserting cases and appointments: idempotent, strictly validated, the CPR never echoed;
and the retention job deleting exactly what is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from coordinator.index.retention import RETENTION_TOTALS, run_retention
from coordinator.index.tables import CHANGE, DISPUTE, NOTIFICATION
from coordinator.state import COMMITTER, ENGINE, SETTINGS
from coordinator.tables import Role, Sector
from tests.functional.conftest import BUP_GLN, FAMILY_GLN, PPR_GLN, Hub
from tests.functional.index_samples import (
    appointment,
    call,
    case,
    consent,
    cpr_aged,
    ok,
    overview,
)


async def test_upserts_are_idempotent_and_own_only(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    family = await hub.org(FAMILY_GLN, Sector.FAMILY)
    child = cpr_aged(10)
    body = case(child, title="Skolevægring")
    status, first = await call(ppr, "PUT", "/v1/cases/2026-0001", body)
    created = {"ref": "2026-0001", "status": "active", "created": True, "told": []}
    assert (status, first) == (201, created)
    for _ in range(2):
        status, again = await call(ppr, "PUT", "/v1/cases/2026-0001", body)
        assert (status, again["created"]) == (200, False)
    # the same local reference at another organisation is another case
    status, _theirs = await call(
        family, "PUT", "/v1/cases/2026-0001", case(child, kind="family-support")
    )
    assert status == 201
    await ok(ppr, "PUT", "/v1/cases/2026-0001", {**body, "kind": "ppr-counselling"})
    mine = await overview(ppr, child)
    assert [(c["ref"], c["kind"], c["title"]) for c in mine["own"]["cases"]] == [
        ("2026-0001", "ppr-counselling", "Skolevægring")
    ]
    apt = appointment(child, case_ref="2026-0001")
    assert await call(ppr, "PUT", "/v1/appointments/M-1", apt) == (
        201,
        {"ref": "M-1", "status": "booked", "created": True},  # told: a case's answer only
    )
    assert (await call(ppr, "PUT", "/v1/appointments/M-1", {**apt, "status": "completed"}))[
        0
    ] == 200
    assert [a["status"] for a in (await overview(ppr, child))["own"]["appointments"]] == [
        "completed"
    ]
    # closing the own case ends the organisation's view of the child
    await ok(ppr, "PUT", "/v1/cases/2026-0001", case(child, status="closed"))
    status, refused = await call(ppr, "GET", f"/v1/children/{child}/overview")
    assert (status, refused["code"]) == (403, "no-active-case")


BAD_CPR = "3102154321"  # 31 February: not a date


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/cases/C1", case(BAD_CPR), 422, "invalid-cpr"),
        ("/v1/cases/C1", case("12345"), 422, "invalid-cpr"),
        ("/v1/cases/C1", case("0101154321", diagnosis="F90.0"), 422, "invalid-entry"),
        ("/v1/cases/C1", case("0101154321", kind="therapy"), 422, "invalid-entry"),
        ("/v1/cases/C1", {**case("0101154321"), "contact": {"name": ""}}, 422, "invalid-entry"),
        ("/v1/cases/C1", case("0101154321", status="closed", closed_on=None), 422,
         "closed-without-date"),
        ("/v1/cases/C1", case("0101154321", closed_on="2026-03-01"), 422,
         "active-with-closed-date"),
        ("/v1/cases/C1", case("0101154321", status="closed", closed_on="2025-01-01"), 422,
         "invalid-period"),
        ("/v1/cases/bad%20ref", case("0101154321"), 400, "invalid-ref"),
        ("/v1/cases/C1", ["not", "an", "object"], 400, "invalid-json"),
        ("/v1/appointments/A1", appointment(BAD_CPR), 422, "invalid-cpr"),
        ("/v1/appointments/A1", appointment("0101154321", starts_at="2026-05-01T10:00:00"), 422,
         "naive-time"),
        ("/v1/appointments/A1", appointment("0101154321", ends_at="2000-01-01T10:00:00Z"), 422,
         "invalid-period"),
        ("/v1/appointments/A1", appointment("0101154321", status="maybe"), 422, "invalid-entry"),
        ("/v1/appointments/A1", appointment("0101154321", notes="angst"), 422, "invalid-entry"),
        ("/v1/appointments/A1", appointment("0101154321", case_ref="NOPE"), 422,
         "unknown-case-ref"),
    ],
)  # fmt: skip
async def test_invalid_entries_are_refused_with_a_code(
    hub: Hub, path: str, body: Any, status: int, code: str
) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    got, problem = await call(ppr, "PUT", path, body)
    assert (got, problem["code"]) == (status, code), problem
    for cpr in (BAD_CPR, "0101154321"):
        assert cpr not in problem["detail"]


async def test_refusals_of_form_and_ownership(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    child, other = cpr_aged(10), cpr_aged(12)
    status, parsed, _ = await ppr.request(
        "PUT", "/v1/cases/C1", body=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert (status, parsed["code"]) == (415, "unsupported-media-type")
    status, parsed, _ = await ppr.request(
        "PUT", "/v1/cases/C1", body=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (status, parsed["code"]) == (400, "invalid-json")
    await ok(ppr, "PUT", "/v1/cases/C1", case(child))
    status, problem = await call(ppr, "PUT", "/v1/cases/C1", case(other))
    assert (status, problem["code"]) == (409, "ref-belongs-to-another-child")
    assert other not in problem["detail"]
    assert child not in problem["detail"]
    await ok(ppr, "PUT", "/v1/appointments/A1", appointment(child))
    status, problem = await call(ppr, "PUT", "/v1/appointments/A1", appointment(other))
    assert (status, problem["code"]) == (409, "ref-belongs-to-another-child")
    status, problem = await call(
        ppr, "PUT", "/v1/appointments/A2", appointment(other, case_ref="C1")
    )
    assert (status, problem["code"]) == (422, "unknown-case-ref")
    status, problem = await call(ppr, "GET", f"/v1/children/{child}/overview", person="x" * 201)
    assert (status, problem["code"]) == (400, "invalid-on-behalf-of")
    for bad in (
        consent(["ppr"], valid_from="2026-01-01T00:00:00"),
        consent(["ppr"], valid_from="2026-02-01T00:00:00Z", valid_until="2026-01-01T00:00:00Z"),
        consent(["school"]),
        consent([]),
    ):
        status, problem = await call(ppr, "POST", f"/v1/children/{child}/consents", bad)
        assert status == 422, problem
    adult = cpr_aged(19)
    await ok(ppr, "PUT", "/v1/cases/C9", case(adult))
    status, problem = await call(ppr, "POST", f"/v1/children/{adult}/consents", consent(["ppr"]))
    assert (status, problem["code"]) == (422, "consent-not-valid-for-age")


async def test_retention_deletes_exactly_what_is_due(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY)
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    today = datetime.now(UTC).date()
    young, grown, nearly = cpr_aged(12), cpr_aged(23, days=1), cpr_aged(22, days=360)
    long_ago = (today - timedelta(days=800)).isoformat()
    lately = (today - timedelta(days=300)).isoformat()

    old_closed = case(young, status="closed", opened_on="2020-01-01", closed_on=long_ago)
    await ok(ppr, "PUT", "/v1/cases/OLD", old_closed)
    recent_closed = case(young, status="closed", opened_on="2020-01-01", closed_on=lately)
    await ok(ppr, "PUT", "/v1/cases/RECENT", recent_closed)
    await ok(ppr, "PUT", "/v1/cases/OPEN", case(young, opened_on="2019-01-01"))
    await ok(bup, "PUT", "/v1/cases/OPEN", case(young, kind="psychiatric-treatment"))
    await ok(ppr, "PUT", "/v1/appointments/PAST", appointment(young, hours=-24 * 800))
    await ok(ppr, "PUT", "/v1/appointments/LATELY", appointment(young, hours=-24 * 300))
    await ok(ppr, "PUT", "/v1/appointments/SOON", appointment(young, hours=24))
    for child in (grown, nearly):
        await ok(ppr, "PUT", f"/v1/cases/G-{child}", case(child))
        await ok(bup, "PUT", f"/v1/cases/G-{child}", case(child, kind="psychiatric-treatment"))
        await ok(ppr, "PUT", f"/v1/appointments/G-{child}", appointment(child))
        recorded = await ok(
            bup,  # psychiatry's own record opens its data; PPR disputes it for its own
            "POST",
            f"/v1/children/{child}/consents",
            consent(["ppr", "psychiatry"], relation="self"),
        )
        await ok(
            ppr,
            "POST",
            f"/v1/children/{child}/consents/{recorded['id']}/dispute",
            {"reason": "not given to us"},
        )
        await ok(ppr, "PUT", f"/v1/children/{child}/coordinator", {
            "organisation": PPR_GLN, "contact": {"name": "Kim", "role": "psykolog"}
        })  # fmt: skip
        await overview(ppr, child)  # one logged disclosure each

    totals = hub.app[RETENTION_TOTALS]
    deleted = await run_retention(hub.app[COMMITTER], hub.app[SETTINGS], totals)
    assert deleted.as_dict() == {
        "children": 1,
        "cases": 1 + 2,
        "appointments": 1 + 1,
        "consents": 1,
        "coordinators": 1,
        "access_log": 1,
        # PPR was told that BUP joined the grown-up child, BUP that PPR disputed its consent
        "notifications": 2,
        # the partner-events change log of the grown-up child: cases opened, an appointment
        # booked, the coordinator named
        "changes": 4,
    }
    assert (await run_retention(hub.app[COMMITTER], hub.app[SETTINGS])).total == 0
    async with hub.app[ENGINE].connect() as conn:  # disputes and notifications go too
        for table in (DISPUTE, NOTIFICATION, CHANGE):
            left = await conn.scalars(select(table.c.cpr).where(table.c.cpr.in_([grown, nearly])))
            assert set(left) == {nearly}, table.name

    mine = await overview(ppr, young)
    assert sorted(c["ref"] for c in mine["own"]["cases"]) == ["OPEN", "RECENT"]
    assert sorted(a["ref"] for a in mine["own"]["appointments"]) == ["LATELY", "SOON"]
    status, problem = await call(ppr, "GET", f"/v1/children/{grown}/overview")
    assert (status, problem["code"]) == (403, "no-active-case")
    request = "Aktindsigt 2026-17"  # the family's request, as the operator states it
    assert (await ok(operator, "GET", f"/v1/children/{grown}/access-log", reason=request))[
        "entries"
    ] == []
    nearly_log = await ok(operator, "GET", f"/v1/children/{nearly}/access-log", reason=request)
    assert len(nearly_log["entries"]) == 1
    told = (await ok(ppr, "GET", "/v1/access-notifications"))["notifications"]
    assert sorted(n["child_cpr"] for n in told if n["kind"] == "new-partner") == sorted(
        [young, nearly]
    )
    kept = await overview(ppr, nearly)
    assert kept["coordinator"] is not None
    assert len(kept["own"]["appointments"]) == 1

    async with hub.session.get(hub.base + "/metrics") as response:
        text = await response.text()
    assert "samspil_index_retention_deleted_cases_total 3.0" in text
    assert "samspil_index_retention_deleted_children_total 1.0" in text
