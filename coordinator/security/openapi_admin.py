"""The administrators' part of ``/v1/openapi.json`` (:mod:`coordinator.security.routes_admin`): its
paths, and the wire models (:mod:`wire.admin`) whose schemas :mod:`coordinator.openapi`
generates."""

from __future__ import annotations

from typing import Any

from coordinator.openapi_parts import PROBLEM, ref
from wire.admin import OrganisationIn, OrganisationRegistered

PATHS: dict[str, Any] = {
    "/v1/admin/organisations": {
        "post": {
            "operationId": "adminRegisterOrganisation",
            "summary": "Register an organisation and issue its system token (admin role; "
            "audited). The token is in this answer only.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("OrganisationIn")}},
            },
            "responses": {
                "201": {
                    "description": "Registered; the system token is shown once.",
                    "content": {"application/json": {"schema": ref("OrganisationRegistered")}},
                },
                **{str(code): PROBLEM for code in (400, 401, 403, 409, 413, 415, 422, 503)},
            },
        }
    }
}

MODELS: list[type[Any]] = [OrganisationIn, OrganisationRegistered]
