"""The administrators' part of ``/v1/openapi.json`` (:mod:`coordinator.routes_admin`): paths
and schemas merged into :data:`coordinator.openapi.DOCUMENT`."""

from __future__ import annotations

from typing import Any

from coordinator.tables import Sector

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


PATHS: dict[str, Any] = {
    "/v1/admin/organisations": {
        "post": {
            "operationId": "adminRegisterOrganisation",
            "summary": "Register an organisation and issue its system token (admin role; "
            "audited). The token is in this answer only.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("OrganisationIn")}},
            },
            "responses": {
                "201": {
                    "description": "Registered; the system token is shown once.",
                    "content": {"application/json": {"schema": _ref("OrganisationRegistered")}},
                },
                **{str(code): _PROBLEM for code in (400, 401, 403, 409, 413, 415, 422, 503)},
            },
        }
    }
}

_ORGANISATION_FIELDS: dict[str, Any] = {
    "gln": {"type": "string", "pattern": "^[0-9]{13}$"},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "sector": {"type": "string", "enum": [s.value for s in Sector]},
    "sor": {"type": ["string", "null"], "pattern": "^[0-9]{15,16}$"},
    "municipality": {"type": ["string", "null"], "pattern": "^[0-9]{3}$"},
}

SCHEMAS: dict[str, Any] = {
    "OrganisationIn": {
        "type": "object",
        "required": ["gln", "name", "sector"],
        "additionalProperties": False,
        "properties": _ORGANISATION_FIELDS,
    },
    "OrganisationRegistered": {
        "type": "object",
        "required": ["organisation", "token"],
        "properties": {
            "organisation": {
                "type": "object",
                "required": ["id", "gln", "name", "sector"],
                "properties": {"id": {"type": "string", "format": "uuid"}, **_ORGANISATION_FIELDS},
            },
            "token": {"type": "string", "description": "The system token; never shown again."},
        },
    },
}
