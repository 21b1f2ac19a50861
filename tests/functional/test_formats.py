"""An organisation's letter format: set at registration (the admin API, ``oioxml`` by
default), changed by an operator (audited), and obeyed by the next letter."""

from __future__ import annotations

import json
from typing import Any

from coordinator.tables import Role, Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, Hub, gln
from tests.functional.samples import new_id, xdis91

NEW_GLN = gln(5002)
JSON = {"Content-Type": "application/json"}


async def _put_format(client: Client, target: str, body: Any) -> tuple[int, Any]:
    status, parsed, _ = await client.request(
        "PUT",
        f"/v1/operator/organisations/{target}/format",
        body=json.dumps(body).encode(),
        headers=JSON,
    )
    return status, parsed


async def _formats(operator: Client) -> dict[str, str]:
    """Each organisation's format as the operator monitor reads it."""
    status, listing, _ = await operator.request("GET", "/v1/operator/organisations")
    assert status == 200, listing
    return {o["gln"]: o["format"] for o in listing["organisations"]}


async def test_registered_with_a_format_and_changed_by_an_operator(hub: Hub) -> None:
    await hub.org(GP_GLN, Sector.GP, sor="1017421000016003")
    ppr = await hub.org(PPR_GLN, Sector.PPR, sor="1385391000016002")
    admin = await hub.user(PPR_GLN, Role.ADMIN)
    body = {"gln": NEW_GLN, "name": "Børnepsykiatrien", "sector": "psychiatry", "format": "fhir"}
    status, answer, _ = await admin.request(
        "POST", "/v1/admin/organisations", body=json.dumps(body).encode(), headers=JSON
    )
    assert status == 201, answer
    assert answer["organisation"]["format"] == "fhir"
    body = {"gln": gln(5003), "name": "PPR", "sector": "ppr", "format": "edifact"}
    status, refused, _ = await admin.request(
        "POST", "/v1/admin/organisations", body=json.dumps(body).encode(), headers=JSON
    )
    assert (status, refused["code"]) == (422, "invalid-format")

    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    caseworker = await hub.user(PPR_GLN, Role.CASEWORKER)
    assert await _formats(operator) == {GP_GLN: "oioxml", PPR_GLN: "oioxml", NEW_GLN: "fhir"}
    status, _ = await _put_format(caseworker, GP_GLN, {"format": "fhir"})
    assert status == 403
    status, bad = await _put_format(operator, GP_GLN, {"format": "hl7"})
    assert (status, bad["code"]) == (400, "invalid-format")
    status, changed = await _put_format(operator, GP_GLN, {"format": "fhir"})
    assert (status, changed) == (200, {"organisation": GP_GLN, "format": "fhir", "changed": True})
    status, again = await _put_format(operator, GP_GLN, {"format": "fhir"})
    assert (status, again["changed"]) == (200, False)
    assert await _formats(operator) == {GP_GLN: "fhir", PPR_GLN: "oioxml", NEW_GLN: "fhir"}
    status, _ = await _put_format(operator, gln(5999), {"format": "fhir"})
    assert status == 404

    status, audit, _ = await operator.request("GET", "/v1/operator/audit")
    assert status == 200
    actions = [(e["action"], e["target"]) for e in audit["entries"]]
    assert actions.count(("set-format", GP_GLN)) == 2

    # the next letter for the GP is converted to FHIR
    status, _ = await ppr.send(
        xdis91(sender=PPR_GLN, receiver=GP_GLN, envelope_id=new_id("K"), letter_id=new_id("B"))
    )
    assert status == 202
    reader = await hub.user(GP_GLN, Role.CASEWORKER)
    [entry] = await reader.inbox()
    assert entry["format"] == "fhir"
