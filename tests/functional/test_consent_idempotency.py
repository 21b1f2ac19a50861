"""Recording a consent is idempotent under an ``Idempotency-Key``: a retry whose answer was
lost finds the consent it made (200, same id) instead of recording it twice. SQLite and
PostgreSQL, real HTTP."""

from __future__ import annotations

import json
from typing import Any

from coordinator.tables import Sector
from tests.functional.conftest import PPR_GLN, Client, Hub
from tests.functional.index_samples import PERSON, case, consent, cpr_aged, ok


async def _post(client: Client, cpr: str, key: str | None, body: dict[str, Any]) -> Any:
    headers = {"X-On-Behalf-Of": PERSON, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    status, parsed, _ = await client.request(
        "POST", f"/v1/children/{cpr}/consents", body=json.dumps(body).encode(), headers=headers
    )
    return status, parsed


async def test_a_repeated_consent_is_recorded_once(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    child, other = cpr_aged(9), cpr_aged(10)
    for cpr in (child, other):
        await ok(ppr, "PUT", f"/v1/cases/C-{cpr[-4:]}", case(cpr))

    first = await _post(ppr, child, "a1b2", consent(["ppr", "psychiatry"]))
    again = await _post(ppr, child, "a1b2", consent(["ppr", "psychiatry"]))
    assert first[0] == 201
    assert first[1]["created"] is True
    assert again[0] == 200
    assert again[1]["created"] is False
    assert again[1]["id"] == first[1]["id"]

    listed = await ok(ppr, "GET", f"/v1/children/{child}/consents")
    assert [c["id"] for c in listed["consents"]] == [first[1]["id"]]

    # without a key every POST is a new consent, as before
    plain = [await _post(ppr, child, None, consent(["ppr"])) for _ in range(2)]
    assert [p[0] for p in plain] == [201, 201]
    assert plain[0][1]["id"] != plain[1][1]["id"]

    # the same key for another child is a conflict, never a silent match
    status, problem = await _post(ppr, other, "a1b2", consent(["ppr"]))
    assert (status, problem["code"]) == (409, "idempotency-key-reused")
    assert other not in problem["detail"]

    for bad in ("", "x" * 129, "nøgle"):
        status, problem = await _post(ppr, child, bad, consent(["ppr"]))
        assert (status, problem["code"]) == (400, "invalid-idempotency-key"), bad
