"""Health, readiness, metrics, the operators' summary and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

from coordinator.errors import ConfigError
from coordinator.settings import Settings
from coordinator.tables import Role, Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, Hub
from tests.functional.samples import xdis91


async def test_health_and_readiness(hub: Hub) -> None:
    client = hub.anonymous()
    for path in ("/healthz", "/readyz"):
        status, body, _ = await client.request("GET", path)
        assert status == 200, body


async def test_metrics(hub: Hub) -> None:
    gp, _ = await hub.gp_and_ppr()
    await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    status, _, raw = await hub.anonymous().request("GET", "/metrics")
    text = raw.decode()
    assert status == 200
    assert 'samspil_messages{status="accepted",type="XDIS91"} 1' in text
    assert f'samspil_inbox_depth{{organisation="{PPR_GLN}"}} 1' in text
    assert 'samspil_http_request_duration_seconds_bucket{method="POST",route="/v1/messages"' in text


async def test_operator_summary(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
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
    assert summary["region"] == "Region Nordjylland"  # SAMSPIL_REGION_NAME's default
    assert b"Nancy" not in raw  # counts, never content


async def test_last_poll_is_the_systems_own_not_a_persons(hub: Hub) -> None:
    """A caseworker's app reading the inbox must not make a dead adapter look alive."""
    await hub.org(GP_GLN, Sector.GP)
    system = await hub.org(PPR_GLN, Sector.PPR)
    caseworker = await hub.user(PPR_GLN, Role.CASEWORKER)
    operator = await hub.user(PPR_GLN, Role.OPERATOR)

    async def last_poll() -> str | None:
        status, body, _ = await operator.request("GET", "/v1/operator/organisations")
        assert status == 200, body
        polls = {o["gln"]: o["last_poll"] for o in body["organisations"]}
        status, summary, _ = await operator.request("GET", "/v1/operator/summary")
        assert status == 200, summary
        assert {o["gln"]: o["last_poll"] for o in summary["organisations"]} == polls
        return str(polls[PPR_GLN]) if polls[PPR_GLN] else None

    status, body, _ = await caseworker.request("GET", "/v1/inbox")
    assert status == 200, body
    assert await last_poll() is None
    await system.inbox()
    assert await last_poll() is not None


async def test_openapi_describes_every_route(hub: Hub) -> None:
    status, served, _ = await hub.anonymous().request("GET", "/v1/openapi.json")
    assert status == 200
    assert served["openapi"].startswith("3.1")
    # every reference resolves, and every component is a valid JSON Schema (2020-12)
    refs = sorted(set(_refs(served)))
    assert refs
    for ref in refs:
        assert _resolve(served, ref) is not None, ref
    for name, schema in served["components"]["schemas"].items():
        jsonschema_rs.meta.validate(_standalone(schema))  # raises on an invalid schema
        assert schema, name
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
        declared_in_path = set(re.findall(r"{([^}]+)}", path))
        for method, operation in operations.items():
            assert operation["responses"], path
            assert any(code.startswith(("2", "3")) for code in operation["responses"]), path
            parameters = [
                _resolve(served, p["$ref"]) if "$ref" in p else p
                for p in operation.get("parameters", [])
            ]
            in_path = {p["name"] for p in parameters if p["in"] == "path"}
            assert in_path == declared_in_path, (method, path)


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _standalone(node: Any) -> Any:
    """A component schema with its references pointed at itself, so that it can be checked
    against the JSON Schema meta-schema on its own."""
    if isinstance(node, dict):
        return {k: "#" if k == "$ref" else _standalone(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_standalone(v) for v in node]
    return node


def test_the_region_name_is_a_setting() -> None:
    assert Settings.from_env({}).region_name == "Region Nordjylland"
    named = Settings.from_env({"SAMSPIL_REGION_NAME": "Region Midtjylland"})
    assert named.region_name == "Region Midtjylland"
    with pytest.raises(ConfigError, match="SAMSPIL_REGION_NAME must name the region"):
        Settings.from_env({"SAMSPIL_REGION_NAME": "  "})
