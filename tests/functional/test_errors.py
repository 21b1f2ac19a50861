"""Every refusal of the hub, with its status and machine-readable code."""

from __future__ import annotations

from typing import Any

import pytest

from coordinator.tables import Role, Sector
from tests.functional.conftest import FAMILY_GLN, GP_GLN, PPR_GLN, Hub, gln
from tests.functional.samples import xdis91


def _assert_problem(status: int, body: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert body["code"] == code
    assert body["status"] == expected_status
    assert body["detail"]
    assert "Traceback" not in body["detail"]


async def test_no_or_unknown_token_is_401(hub: Hub) -> None:
    await hub.org(GP_GLN, Sector.GP)
    for client in (hub.anonymous(), hub.anonymous("smp_not-a-real-token")):
        for method, path in (
            ("GET", "/v1/inbox"),
            ("POST", "/v1/messages"),
            ("GET", "/v1/outbox"),
            ("GET", "/v1/messages/00000000-0000-0000-0000-000000000000"),
        ):
            status, body, _ = await client.request(method, path)
            _assert_problem(status, body, 401, "unauthorized")


async def test_sender_must_be_the_caller(hub: Hub) -> None:
    await hub.org(GP_GLN, Sector.GP)
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    status, body = await ppr.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    _assert_problem(status, body, 403, "sender-mismatch")


async def test_unknown_receiver_is_422_ukendt_lokationsnummer(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    status, body = await gp.send(xdis91(sender=GP_GLN, receiver=gln(9999)))
    _assert_problem(status, body, 422, "ukendt_lokationsnummer")


async def test_malformed_xml_is_400_syntaksfejl_with_line(hub: Hub) -> None:
    gp, _ = await hub.gp_and_ppr()
    broken = xdis91(sender=GP_GLN, receiver=PPR_GLN).replace(b"</Subject>", b"</Subjekt>")
    status, body = await gp.send(broken)
    _assert_problem(status, body, 400, "syntaksfejl")
    assert isinstance(body["line"], int)
    assert body["line"] > 1


async def test_schema_invalid_is_422_syntaksfejl_with_line(hub: Hub) -> None:
    gp, _ = await hub.gp_and_ppr()
    invalid = xdis91(sender=GP_GLN, receiver=PPR_GLN).replace(b">nytbrev<", b">gammelbrev<")
    status, body = await gp.send(invalid)
    _assert_problem(status, body, 422, "syntaksfejl")
    assert isinstance(body["line"], int)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"XD9134L", b"XD9133L"),  # a version of XDIS91 Samspil does not carry
        (b"2006/07/01/", b"2099/01/01/"),  # an unknown namespace
    ],
)
async def test_unsupported_version_is_problem_med_version(hub: Hub, old: bytes, new: bytes) -> None:
    gp, _ = await hub.gp_and_ppr()
    status, body = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN).replace(old, new))
    _assert_problem(status, body, 422, "problem_med_version")


async def test_hostile_xml_is_refused(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
    )
    status, body = await gp.send(bomb)
    assert status in (400, 422)
    assert body["code"] == "syntaksfejl"


async def test_wrong_content_type_is_415(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    status, body, _ = await gp.request(
        "POST", "/v1/messages", body=b"{}", headers={"Content-Type": "application/json"}
    )
    _assert_problem(status, body, 415, "unsupported-media-type")


async def test_body_over_the_limit_is_413(make_hub: Any) -> None:
    hub = await make_hub(max_body_bytes=4096)
    gp, _ = await hub.gp_and_ppr()
    status, body = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, padding=8000))
    _assert_problem(status, body, 413, "payload-too-large")


async def test_bad_query_parameters_are_400(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    for path in ("/v1/inbox?wait=600", "/v1/inbox?limit=x", "/v1/outbox?status=lost"):
        status, body, _ = await gp.request("GET", path)
        _assert_problem(status, body, 400, "bad-request")


async def test_roles(hub: Hub) -> None:
    await hub.org(FAMILY_GLN, Sector.FAMILY)
    operator = await hub.user(FAMILY_GLN, Role.OPERATOR)
    caseworker = await hub.user(FAMILY_GLN, Role.CASEWORKER)
    status, body, _ = await operator.request("GET", "/v1/inbox")
    _assert_problem(status, body, 403, "forbidden")  # operators never see messages
    status, body, _ = await caseworker.request("GET", "/v1/operator/summary")
    _assert_problem(status, body, 403, "forbidden")
    assert await caseworker.inbox() == []


async def test_unknown_route_is_a_problem_too(hub: Hub) -> None:
    client = hub.anonymous()
    async with client.session.get(client.base + "/nowhere") as response:
        assert response.status == 404
        assert response.content_type == "application/problem+json"
