"""``POST /v1/admin/organisations`` over real HTTP on SQLite and PostgreSQL: admins only,
the token shown once and working at once, a GLN registered twice refused with a clear code,
bad fields each with their code, and every registration in the audit trail."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from coordinator.tables import Role, Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, Hub, gln

PATH = "/v1/admin/organisations"
NEW_GLN = gln(5001)


def organisation(**over: Any) -> dict[str, Any]:
    return {
        "gln": NEW_GLN,
        "name": "PPR Rebild",
        "sector": "ppr",
        "municipality": "840",
        **over,
    }


async def register(client: Client, body: Any, **headers: str) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, parsed, _ = await client.request(
        "POST", PATH, body=raw, headers={"Content-Type": "application/json", **headers}
    )
    return status, parsed


async def test_an_admin_registers_an_organisation_and_its_token_works_at_once(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    admin = await hub.user(PPR_GLN, Role.ADMIN)

    status, answer = await register(admin, organisation())
    assert status == 201, answer
    created = answer["organisation"]
    assert (created["gln"], created["name"], created["sector"]) == (NEW_GLN, "PPR Rebild", "ppr")
    assert (created["municipality"], created["sor"]) == ("840", None)
    token = answer["token"]
    assert token.startswith("smp_")

    newcomer = Client(hub.session, hub.base, token, NEW_GLN)
    status, me, _ = await newcomer.request("GET", "/v1/whoami")
    assert status == 200
    assert (me["organisation"]["gln"], me["role"]) == (NEW_GLN, "system")
    status, directory, _ = await ppr.request("GET", "/v1/organisations")
    assert NEW_GLN in {o["gln"] for o in directory["organisations"]}

    status, again = await register(admin, organisation(name="Another name"))
    assert (status, again["code"]) == (409, "organisation-exists")
    assert "token" not in again

    status, audit, raw = await admin.request("GET", "/v1/operator/audit")
    assert status == 200
    entries = [
        e for e in audit["entries"] if (e["action"], e["target"]) == ("add-organisation", NEW_GLN)
    ]
    assert len(entries) == 1  # the refused second registration left no row
    assert (entries[0]["target"], entries[0]["actor_organisation"]) == (NEW_GLN, PPR_GLN)
    assert entries[0]["actor"] == "Test"
    assert token.encode() not in raw
    assert token not in caplog.text


async def test_only_admins_may_register(hub: Hub) -> None:
    await hub.org(PPR_GLN, Sector.PPR)
    gp = await hub.org(GP_GLN, Sector.GP)
    for who, expected in (
        (gp, 403),
        (await hub.user(PPR_GLN, Role.CASEWORKER), 403),
        (await hub.user(PPR_GLN, Role.OPERATOR), 403),
        (hub.anonymous("smp_" + "x" * 43), 401),
        (hub.anonymous(), 401),
    ):
        status, answer = await register(who, organisation())
        assert status == expected, (who.token[:8], answer)
    admin = await hub.user(PPR_GLN, Role.ADMIN)
    status, answer = await register(admin, organisation())
    assert status == 201, answer  # none of the refused attempts registered it


async def test_bad_requests_get_their_codes_and_register_nothing(hub: Hub) -> None:
    await hub.org(PPR_GLN, Sector.PPR)
    admin = await hub.user(PPR_GLN, Role.ADMIN)
    cases: list[tuple[Any, int, str]] = [
        (organisation(gln="5790001234561"), 422, "invalid-gln"),  # a wrong check digit
        (organisation(gln=5790001234560), 422, "invalid-gln"),
        (organisation(sector="school"), 422, "invalid-sector"),
        (organisation(name=" "), 422, "invalid-name"),
        (organisation(name="x" * 201), 422, "invalid-name"),
        (organisation(sor="12"), 422, "invalid-sor"),
        (organisation(municipality="84"), 422, "invalid-municipality"),
        (organisation(colour="blue"), 422, "invalid-organisation"),
        ([organisation()], 400, "invalid-json"),
        (b"{not json", 400, "invalid-json"),
        (b"[" * 50_000, 400, "invalid-json"),
    ]
    for body, status, code in cases:
        got, answer = await register(admin, body)
        assert (got, answer["code"]) == (status, code), (
            body if not isinstance(body, bytes) else code
        )
    status, parsed, _ = await admin.request(
        "POST", PATH, body=json.dumps(organisation()).encode(), headers={"Content-Type": "text/xml"}
    )
    assert (status, parsed["code"]) == (415, "unsupported-media-type")
    status, directory, _ = await admin.request("GET", "/v1/organisations")
    assert NEW_GLN not in {o["gln"] for o in directory["organisations"]}
    status, answer = await register(admin, organisation(sor="123456789012345"))
    assert status == 201, answer
    assert answer["organisation"]["sor"] == "123456789012345"
