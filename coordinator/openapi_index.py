"""The shared index's part of ``/v1/openapi.json``: paths and schemas merged into
:data:`coordinator.openapi.DOCUMENT`."""

from __future__ import annotations

from typing import Any

from coordinator.index_tables import ConsentForm, ConsentRelation
from coordinator.tables import Sector
from wire.entries import AppointmentStatus, CaseKind, CaseStatus

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [v.value for v in values]}


_CPR = {
    "name": "cpr",
    "in": "path",
    "required": True,
    "description": "The child's CPR number (10 digits, or DDMMYY-SSSS). Never echoed in "
    "errors or logs.",
    "schema": {"type": "string", "pattern": "^[0-9]{6}-?[0-9]{4}$"},
}
_REF = {
    "name": "ref",
    "in": "path",
    "required": True,
    "description": "The caller organisation's own reference for the entry.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"},
}
_ON_BEHALF_OF = {
    "name": "X-On-Behalf-Of",
    "in": "header",
    "description": "The person a system token asks for (required for system tokens on the "
    "overview; written to the access log): 1-200 characters, sent as UTF-8 or ISO-8859-1 "
    "bytes; control characters, bidirectional overrides and line separators are refused "
    "(400 invalid-on-behalf-of).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "The caller's name for this consent; a repeat with the same key records "
    "nothing new.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"},
}


def _limit(high: int) -> dict[str, Any]:
    """``?limit=``: ASCII digits from 1 to ``high``; anything else is a 400."""
    return {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": high},
    }


_DATE = {"type": "string", "format": "date"}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_TEXT = {"type": ["string", "null"]}

PATHS: dict[str, Any] = {
    "/v1/cases/{ref}": {
        "put": {
            "operationId": "putCase",
            "summary": "Create or update one of the caller organisation's own cases "
            "(idempotent). Presence, not content: unknown fields are refused.",
            "parameters": [_REF, _ON_BEHALF_OF],
            "requestBody": _body("CaseIn"),
            "responses": {
                "201": _json("Upserted", "Created."),
                "200": _json("Upserted", "Updated (or unchanged)."),
                **_errors(400, 401, 403, 409, 415, 422, 503),
            },
        }
    },
    "/v1/appointments/{ref}": {
        "put": {
            "operationId": "putAppointment",
            "summary": "Create or update one of the caller organisation's own appointments "
            "(idempotent).",
            "parameters": [_REF, _ON_BEHALF_OF],
            "requestBody": _body("AppointmentIn"),
            "responses": {
                "201": _json("Upserted", "Created."),
                "200": _json("Upserted", "Updated (or unchanged)."),
                **_errors(400, 401, 403, 409, 415, 422, 503),
            },
        }
    },
    "/v1/children/{cpr}/overview": {
        "get": {
            "operationId": "childOverview",
            "summary": "The caller's overview of a child: its own entries; other "
            "organisations' active cases, upcoming and recent appointments and the coordinator "
            "where consent covers both sectors; the consent state; 48-hour overlap hints. "
            "Needs an own active case (403 no-active-case). Every disclosure is logged.",
            "parameters": [_CPR, _ON_BEHALF_OF],
            "responses": {
                "200": _json("Overview", "The overview."),
                **_errors(400, 401, 403, 503),
            },
        }
    },
    "/v1/children/{cpr}/consents": {
        "post": {
            "operationId": "recordConsent",
            "summary": "Record a consent (needs an own active case).",
            "description": "With an Idempotency-Key, a repeat of the request (e.g. a retry "
            "whose answer was lost) answers 200 with the consent the key first recorded.",
            "parameters": [_CPR, _ON_BEHALF_OF, _IDEMPOTENCY_KEY],
            "requestBody": _body("ConsentIn"),
            "responses": {
                "201": _json("ConsentRecorded", "Recorded."),
                "200": _json("ConsentRecorded", "Recorded before under this Idempotency-Key."),
                **_errors(400, 401, 403, 409, 415, 422, 503),
            },
        },
        "get": {
            "operationId": "listConsents",
            "summary": "The child's consents, newest first (needs an own active case).",
            "parameters": [_CPR, _ON_BEHALF_OF],
            "responses": {
                "200": _json("Consents", "The consents."),
                **_errors(400, 401, 403, 503),
            },
        },
    },
    "/v1/children/{cpr}/consents/{id}": {
        "delete": {
            "operationId": "revokeConsent",
            "summary": "Revoke a consent, effective from the next call (idempotent).",
            "parameters": [
                _CPR,
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                _ON_BEHALF_OF,
            ],
            "responses": {
                "200": _json("ConsentRevoked", "Revoked."),
                **_errors(400, 401, 403, 404, 503),
            },
        }
    },
    "/v1/children/{cpr}/coordinator": {
        "put": {
            "operationId": "putCoordinator",
            "summary": "Name the child's coordinator (tovholder); needs an own active case.",
            "parameters": [_CPR, _ON_BEHALF_OF],
            "requestBody": _body("CoordinatorIn"),
            "responses": {
                "200": _json("CoordinatorIn", "The coordinator now named."),
                **_errors(400, 401, 403, 415, 422, 503),
            },
        }
    },
    "/v1/children/{cpr}/access-log": {
        "get": {
            "operationId": "accessLog",
            "summary": "Who looked at the child's entries: when, which organisation, which "
            "person, whose entries. Operators see all; an organisation with an active case "
            "sees what its consent covers, its own views and the views of its own entries.",
            "parameters": [_CPR, _ON_BEHALF_OF, _limit(5000)],
            "responses": {
                "200": _json("AccessLog", "The access log, newest first."),
                **_errors(400, 401, 403, 503),
            },
        }
    },
    "/v1/access-notifications": {
        "get": {
            "operationId": "accessNotifications",
            "summary": "Views by other organisations that disclosed the caller's entries.",
            "parameters": [
                {"name": "since", "in": "query", "schema": _TIME},
                _ON_BEHALF_OF,
                _limit(1000),
            ],
            "responses": {
                "200": _json("AccessNotifications", "Newest first."),
                **_errors(400, 401, 403, 503),
            },
        }
    },
}

_VIEW_KIND = {
    "type": "string",
    "enum": ["overview", "consents", "access-log"],
    "description": "Which read disclosed the data: a child's overview, its consent list "
    "(consents other organisations recorded) or its access log.",
}

_CONTACT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "role"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "role": {"type": "string", "minLength": 1, "maxLength": 100},
        "phone": {**_TEXT, "maxLength": 40},
        "email": {**_TEXT, "maxLength": 200},
    },
}
_ORG = {
    "organisation": {"type": "string"},
    "organisation_name": {"type": "string"},
    "sector": _ref("Sector"),
}

SCHEMAS: dict[str, Any] = {
    "Sector": _enum(Sector),
    "CaseKind": _enum(CaseKind),
    "CaseStatus": _enum(CaseStatus),
    "AppointmentStatus": _enum(AppointmentStatus),
    "ConsentRelation": _enum(ConsentRelation),
    "ConsentForm": _enum(ConsentForm),
    "Contact": _CONTACT,
    "CaseIn": {
        "type": "object",
        "additionalProperties": False,
        "required": ["child_cpr", "kind", "status", "opened_on", "contact"],
        "properties": {
            "child_cpr": {"type": "string"},
            "kind": _ref("CaseKind"),
            "status": _ref("CaseStatus"),
            "opened_on": _DATE,
            "closed_on": _NULLABLE_DATE,
            "title": {**_TEXT, "maxLength": 200},
            "contact": _ref("Contact"),
        },
    },
    "AppointmentIn": {
        "type": "object",
        "additionalProperties": False,
        "required": ["child_cpr", "starts_at", "ends_at", "status", "with"],
        "properties": {
            "child_cpr": {"type": "string"},
            "case_ref": _TEXT,
            "starts_at": _TIME,
            "ends_at": _TIME,
            "status": _ref("AppointmentStatus"),
            "location": {**_TEXT, "maxLength": 200},
            "with": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "role"],
                "properties": {"name": {"type": "string"}, "role": {"type": "string"}},
            },
        },
    },
    "Upserted": {
        "type": "object",
        "required": ["ref", "status", "created"],
        "properties": {
            "ref": {"type": "string"},
            "status": {"type": "string"},
            "created": {"type": "boolean"},
        },
    },
    "CaseEntry": {
        "type": "object",
        "description": "`ref` and `title` only on the caller's own cases.",
        "properties": {
            **_ORG,
            "kind": _ref("CaseKind"),
            "status": _ref("CaseStatus"),
            "opened_on": _DATE,
            "closed_on": _NULLABLE_DATE,
            "contact": _ref("Contact"),
            "ref": {"type": "string"},
            "title": _TEXT,
        },
    },
    "AppointmentEntry": {
        "type": "object",
        "description": "`ref` and `case_ref` only on the caller's own appointments.",
        "properties": {
            **_ORG,
            "starts_at": _TIME,
            "ends_at": _TIME,
            "status": _ref("AppointmentStatus"),
            "location": _TEXT,
            "with": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "role": {"type": "string"}},
            },
            "ref": {"type": "string"},
            "case_ref": _TEXT,
        },
    },
    "Entries": {
        "type": "object",
        "properties": {
            "cases": {"type": "array", "items": _ref("CaseEntry")},
            "appointments": {"type": "array", "items": _ref("AppointmentEntry")},
        },
    },
    "Overview": {
        "type": "object",
        "required": ["own", "others", "coordinator", "consent", "hints", "disclosed"],
        "properties": {
            "own": _ref("Entries"),
            "others": _ref("Entries"),
            "coordinator": {
                "oneOf": [
                    {"type": "null"},
                    {"type": "object", "properties": {**_ORG, "contact": _ref("Contact")}},
                ]
            },
            "consent": {
                "type": "object",
                "required": ["state", "age", "rule", "sectors"],
                "properties": {
                    "state": {"type": "string", "enum": ["complete", "partial", "missing"]},
                    "age": {"type": "integer"},
                    "rule": {"type": "string"},
                    "sectors": {
                        "type": "object",
                        "description": "Per sector: shared, no-consent, own-consent-needed or "
                        "parent-consent-needed; every sector is listed whether or not anyone "
                        "of it is involved.",
                        "additionalProperties": {"type": "string"},
                    },
                    "detail": {"type": "string"},
                },
            },
            "hints": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "enum": ["appointments-within-48h"]},
                        "detail": {"type": "string"},
                        "sectors": {"type": "array", "items": _ref("Sector")},
                        "appointments": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
            "disclosed": {
                "type": "array",
                "description": "The other organisations whose entries this answer disclosed "
                "(each disclosure is in the access log).",
                "items": {"type": "string"},
            },
        },
    },
    "ConsentIn": {
        "type": "object",
        "additionalProperties": False,
        "required": ["given_by_name", "relation", "form", "sectors"],
        "properties": {
            "given_by_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "relation": _ref("ConsentRelation"),
            "form": _ref("ConsentForm"),
            "sectors": {"type": "array", "items": _ref("Sector"), "minItems": 1},
            "valid_from": _NULLABLE_TIME,
            "valid_until": _NULLABLE_TIME,
        },
    },
    "ConsentRecorded": {
        "type": "object",
        "required": ["id", "recorded_at", "created"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "recorded_at": _TIME,
            "created": {"type": "boolean"},
        },
    },
    "ConsentRevoked": {
        "type": "object",
        "required": ["id", "revoked_at"],
        "properties": {"id": {"type": "string", "format": "uuid"}, "revoked_at": _TIME},
    },
    "Consents": {
        "type": "object",
        "required": ["consents"],
        "properties": {
            "consents": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "given_by_name": {"type": "string"},
                        "relation": _ref("ConsentRelation"),
                        "sectors": {"type": "array", "items": _ref("Sector")},
                        "form": _ref("ConsentForm"),
                        "valid_from": _TIME,
                        "valid_until": _NULLABLE_TIME,
                        "revoked_at": _NULLABLE_TIME,
                        "recorded_at": _TIME,
                        "recorded_by_you": {"type": "boolean"},
                        "active": {"type": "boolean"},
                    },
                },
            }
        },
    },
    "CoordinatorIn": {
        "type": "object",
        "additionalProperties": False,
        "required": ["organisation", "contact"],
        "properties": {
            "organisation": {"type": "string", "minLength": 13, "maxLength": 13},
            "contact": _ref("Contact"),
        },
    },
    "AccessLog": {
        "type": "object",
        "required": ["entries"],
        "properties": {
            "entries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "at": _TIME,
                        "kind": _VIEW_KIND,
                        "operator": {
                            "type": "boolean",
                            "description": "Read by the hub's operator (always logged).",
                        },
                        "organisation": {"type": "string"},
                        "organisation_name": {"type": "string"},
                        "person": {"type": "string"},
                        "on_behalf_of": {"type": "boolean"},
                        "disclosed": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "organisation": {"type": "string"},
                                    "name": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            }
        },
    },
    "AccessNotifications": {
        "type": "object",
        "required": ["notifications"],
        "properties": {
            "notifications": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "at": _TIME,
                        "child_cpr": {"type": "string"},
                        "kind": _VIEW_KIND,
                        "viewer": {
                            "type": "object",
                            "properties": {
                                **_ORG,
                                "name": {"type": "string"},
                                "person": {"type": "string"},
                                "on_behalf_of": {"type": "boolean"},
                                "operator": {"type": "boolean"},
                            },
                        },
                    },
                },
            }
        },
    },
}
