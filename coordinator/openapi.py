"""``GET /v1/openapi.json``: the hub's API as OpenAPI 3.1.

The paths and operations are written by hand; every schema under ``components.schemas`` is
generated from the wire models (:mod:`wire`) that the routes answer with and take, so the
document cannot drift from the answers. The functional tests check the implementation against
it: every route the app serves is described here, and every response status a test sees is
one documented for its operation (schemathesis checks the bodies against the schemas).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coordinator.fhir import openapi as openapi_fhir
from coordinator.index import openapi as openapi_index
from coordinator.mailbox import openapi as openapi_mailbox
from coordinator.openapi_parts import AUTH_ERRORS, json_answer, problems
from coordinator.operations import openapi as openapi_operator
from coordinator.security import openapi_admin, openapi_limits
from wire.problem import Problem
from wire.schema import component_schemas

routes = web.RouteTableDef()

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Samspil hub",
        "version": "1",
        "description": "Store-and-forward mailboxes for MedCom correspondence (XDIS91, XBIN01, "
        "or its FHIR successor CareCommunication) and receipts (XCTL01/02/03, or FHIR "
        "Acknowledgement) between PPR, family departments, child psychiatry and GP clinics. "
        "Each organisation receives its own format (oioxml or fhir); the hub converts. Errors "
        "are application/problem+json with a machine-readable `code`.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": {
        "/v1/operator/summary": {
            "get": {
                "operationId": "operatorSummary",
                "summary": "Counts for operators: by status, inbox depth and last poll per "
                "organisation, overdue receipts, expired, errors, and the hub processes on "
                "this database. Never content.",
                "responses": {
                    "200": json_answer("Summary", "The summary."),
                    **problems(*AUTH_ERRORS, 503),
                },
            }
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "security": [],
                "summary": "This document.",
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "security": [],
                "summary": "The process is alive.",
                "responses": {"200": json_answer("Probe", "Alive.")},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "security": [],
                "summary": "The database can be reached.",
                "responses": {
                    "200": json_answer("Probe", "Ready."),
                    **problems(503),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "security": [],
                "summary": "Prometheus text: messages by status and type, inbox depth per "
                "organisation, request latency histograms.",
                "responses": {
                    "200": {
                        "description": "Prometheus text format 0.0.4.",
                        "content": {"text/plain": {}},
                    },
                    **problems(503),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "responses": {
            "Problem": {
                "description": "An error (RFC 9457).",
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
        },
        "schemas": component_schemas(
            [
                Problem,
                *openapi_mailbox.MODELS,
                *openapi_index.MODELS,
                *openapi_operator.MODELS,
                *openapi_admin.MODELS,
            ],
            requests=openapi_index.REQUESTS,
        ),
    },
}

DOCUMENT["paths"].update(openapi_mailbox.PATHS)
DOCUMENT["paths"].update(openapi_index.PATHS)
DOCUMENT["paths"].update(openapi_operator.PATHS)
DOCUMENT["paths"].update(openapi_admin.PATHS)
openapi_limits.apply(DOCUMENT)
openapi_fhir.apply(DOCUMENT)  # after the limits: its errors are FHIR OperationOutcomes


@routes.get("/v1/openapi.json")
async def openapijson_answer(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
