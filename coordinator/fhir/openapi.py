"""The FHIR door's part of ``/v1/openapi.json``: its paths, their ``application/fhir+json``
answers and minimal schemas (FHIR's own definitions are the reference; these say what the
envelope is). Added after :func:`coordinator.security.openapi_limits.apply`, since its
errors, 401, 429 and 503 included, are ``OperationOutcome`` rather than problem+json."""

from __future__ import annotations

from typing import Any

from coordinator.fhir.capability import FHIR_JSON, PATIENT_IDENTIFIER
from coordinator.fhir.mapping import Kind

_CHILD_PATTERN = r"^urn:oid:1\.2\.208\.176\.1\.2\|[0-9]{6}-?[0-9]{4}$"


def _resource_schema(resource_type: str, required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType", *required],
        "properties": {"resourceType": {"const": resource_type}},
    }


SCHEMAS: dict[str, Any] = {
    "FhirBundle": {
        **_resource_schema("Bundle", ["type", "total", "entry"]),
        "properties": {
            "resourceType": {"const": "Bundle"},
            "type": {"const": "searchset"},
            "total": {"type": "integer", "minimum": 0},
            "entry": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["fullUrl", "resource", "search"],
                    "properties": {
                        "fullUrl": {"type": "string"},
                        "resource": {
                            "type": "object",
                            "required": ["resourceType", "id"],
                            "properties": {
                                "resourceType": {
                                    "enum": [*(k.value for k in Kind), "Organization"]
                                },
                                "id": {"type": "string"},
                            },
                        },
                        "search": {
                            "type": "object",
                            "properties": {"mode": {"enum": ["match", "include"]}},
                        },
                    },
                },
            },
        },
    },
    "FhirOperationOutcome": {
        **_resource_schema("OperationOutcome", ["issue"]),
        "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["severity", "code", "details"],
                    "properties": {
                        "severity": {"const": "error"},
                        "code": {"type": "string"},
                        "details": {
                            "type": "object",
                            "description": "coding[0].code: the hub's problem code (system "
                            "https://samspil.dk/problems), as /v1's problem+json `code`.",
                        },
                    },
                },
            },
        },
    },
    "FhirCapabilityStatement": _resource_schema(
        "CapabilityStatement", ["status", "kind", "fhirVersion", "format"]
    ),
}


def _fhir(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {FHIR_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_OUTCOME = {"$ref": "#/components/responses/FhirOutcome"}
_RETRY_OUTCOME = {"$ref": "#/components/responses/FhirRetryOutcome"}

RESPONSES: dict[str, Any] = {
    "FhirOutcome": _fhir(
        "FhirOperationOutcome",
        "An error as an OperationOutcome: the /v1 API's HTTP status, its problem code in "
        "issue.details.coding.",
    ),
    "FhirRetryOutcome": {
        **_fhir(
            "FhirOperationOutcome",
            "Try again later: a limit was reached (429) or the database is unavailable (503).",
        ),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}

_ON_BEHALF_OF = {
    "name": "X-On-Behalf-Of",
    "in": "header",
    "description": "The person a system token asks for (required for system tokens: 400 "
    "on-behalf-of-missing; written to the access log): 1-200 characters.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
_FORMAT = {
    "name": "_format",
    "in": "query",
    "schema": {"enum": ["json", "application/json", "application/fhir+json"]},
}


def _child(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": True,
        "description": "The child's CPR identifier: urn:oid:1.2.208.176.1.2|<CPR number>. "
        "Never echoed in errors or logs.",
        "schema": {"type": "string", "pattern": _CHILD_PATTERN},
    }


def _search(kind: Kind, summary: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": f"fhirSearch{kind.value}",
            "summary": summary,
            "parameters": [_child(PATIENT_IDENTIFIER), _FORMAT, _ON_BEHALF_OF],
            "responses": {
                "200": _fhir("FhirBundle", "A searchset Bundle."),
                "400": _OUTCOME,
                "401": _OUTCOME,
                "403": _OUTCOME,
                "429": _RETRY_OUTCOME,
                "503": _RETRY_OUTCOME,
            },
        }
    }


_RULES = (
    " Needs an own active case (403 no-active-case, the same for an unknown child); other "
    "organisations' entries only under consent; a look that shows any is logged once."
)

PATHS: dict[str, Any] = {
    "/fhir/r4/metadata": {
        "get": {
            "operationId": "fhirMetadata",
            "security": [],
            "summary": "The FHIR door's CapabilityStatement.",
            "responses": {"200": _fhir("FhirCapabilityStatement", "The statement.")},
        }
    },
    "/fhir/r4/EpisodeOfCare": _search(Kind.EPISODE_OF_CARE, "The child's cases." + _RULES),
    "/fhir/r4/Appointment": _search(
        Kind.APPOINTMENT, "The child's upcoming and recent appointments." + _RULES
    ),
    "/fhir/r4/CareTeam": _search(
        Kind.CARE_TEAM, "The coordinator (tovholder) and the cases' contacts." + _RULES
    ),
    "/fhir/r4/Consent": _search(
        Kind.CONSENT, "The consent state, one Consent per sector (discloses no one)." + _RULES
    ),
    "/fhir/r4/Patient/$overview": {
        "get": {
            "operationId": "fhirPatientOverview",
            "summary": "The whole overview as one searchset Bundle: EpisodeOfCare, "
            "Appointment, CareTeam and Consent as matches, the Organizations they name "
            "(GLN and SOR identifiers) as includes." + _RULES,
            "parameters": [_child("identifier"), _FORMAT, _ON_BEHALF_OF],
            "responses": {
                "200": _fhir("FhirBundle", "The overview."),
                "400": _OUTCOME,
                "401": _OUTCOME,
                "403": _OUTCOME,
                "429": _RETRY_OUTCOME,
                "503": _RETRY_OUTCOME,
            },
        }
    },
}


def apply(document: dict[str, Any]) -> None:
    """Add the FHIR paths, their answers and schemas to ``document``."""
    document["paths"].update(PATHS)
    document["components"]["responses"].update(RESPONSES)
    document["components"]["schemas"].update(SCHEMAS)
