"""Health, readiness, metrics, the operators' summary and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from coordinator.openapi import DOCUMENT
from coordinator.tables import Role, Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, Hub
from tests.functional.samples import xdis91


async def test_health_and_readiness(hub: Hub) -> None:
    client = hub.anonymous()
    for path in ("/healthz", "/readyz"):
        status, body, _ = await client.request("GET", path)
        assert status == 200, body


async def test_metrics(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN, Sector.PPR)
    await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    status, _, raw = await hub.anonymous().request("GET", "/metrics")
    text = raw.decode()
    assert status == 200
    assert 'samspil_messages{status="accepted",type="XDIS91"} 1' in text
    assert f'samspil_inbox_depth{{organisation="{PPR_GLN}"}} 1' in text
    assert 'samspil_http_request_duration_seconds_bucket{method="POST",route="/v1/messages"' in text


async def test_operator_summary(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    ppr = await hub.org(PPR_GLN, Sector.PPR)
    await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    await ppr.inbox()
    await gp.send(b"<broken")
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    status, summary, raw = await operator.request("GET", "/v1/operator/summary")
    assert status == 200
    assert summary["by_status"]["accepted"] == 1
    organisations = {o["gln"]: o for o in summary["organisations"]}
    assert organisations[PPR_GLN]["inbox_depth"] == 1
    assert organisations[PPR_GLN]["last_poll"] is not None
    assert organisations[GP_GLN]["last_poll"] is None
    assert summary["errors"] == {"syntaksfejl": 1}
    assert b"Nancy" not in raw  # counts, never content


async def test_openapi_describes_every_route(hub: Hub) -> None:
    status, served, _ = await hub.anonymous().request("GET", "/v1/openapi.json")
    assert status == 200
    assert served == DOCUMENT
    assert served["openapi"].startswith("3.1")
    routes = {
        (route.method, route.resource.canonical)
        for route in hub.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {
        (method.upper(), path)
        for path, operations in served["paths"].items()
        for method in operations
    }
    assert routes == documented
    for path, operations in served["paths"].items():
        for operation in operations.values():
            assert operation["responses"], path
    assert isinstance(hub.app, web.Application)
