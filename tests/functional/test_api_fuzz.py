"""API fuzzing in the suite (a short schemathesis run; ``make fuzz`` runs longer), and the
failing cases it found, kept as regression tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.openapi import DOCUMENT
from coordinator.tables import Role, Sector
from tests.functional.api_fuzz import fuzz
from tests.functional.conftest import GP_GLN, PPR_GLN, Hub

FUZZ_SECONDS_PER_PASS = 22


@pytest.mark.timeout(150)
async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    tmp_path: Path,
) -> None:
    for result in await fuzz(tmp_path, FUZZ_SECONDS_PER_PASS, seed=20261129):
        assert result.ok, f"{result.name} pass:\n{result.output[-6000:]}"


# --- regressions: cases schemathesis found -----------------------------------------------


async def test_an_empty_status_filter_is_refused(hub: Hub) -> None:
    """``GET /v1/outbox?status=`` was answered as if no filter had been given."""
    gp = await hub.org(GP_GLN, Sector.GP)
    status, body, _ = await gp.request("GET", "/v1/outbox?status=&limit=1")
    assert (status, body["code"]) == (400, "bad-request")
    operator = await hub.user(GP_GLN, Role.OPERATOR)
    status, body, _ = await operator.request(
        "GET", f"/v1/operator/organisations/{GP_GLN}/queue?status="
    )
    assert (status, body["code"]) == (400, "bad-request")


async def test_an_undeclared_method_names_the_allowed_ones(hub: Hub) -> None:
    """``TRACE /v1/whoami`` got a 405 without ``Allow`` (RFC 9110 asks for it)."""
    gp = await hub.org(GP_GLN, Sector.GP)
    async with hub.session.request(
        "TRACE", hub.base + "/v1/whoami", headers=gp.headers
    ) as response:
        assert response.status == 405
        assert "GET" in response.headers["Allow"]
        assert response.content_type == "application/problem+json"


async def test_operator_limits_out_of_range_are_documented(hub: Hub) -> None:
    """``?limit=58893332`` and ``?minutes=1266496`` were schema-valid but refused: the
    document now says the ranges the hub takes."""
    await hub.org(PPR_GLN)
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    for path, name, high in (
        ("/v1/operator/audit", "limit", 1000),
        ("/v1/operator/throughput", "minutes", 1440),
    ):
        parameter = next(
            p for p in DOCUMENT["paths"][path]["get"]["parameters"] if p["name"] == name
        )
        assert parameter["schema"]["maximum"] == high
        assert (await operator.request("GET", f"{path}?{name}={high}"))[0] == 200
        assert (await operator.request("GET", f"{path}?{name}={high + 1}"))[0] == 400
