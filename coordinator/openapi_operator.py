"""The operator monitor's and the directory's part of ``/v1/openapi.json``: paths and schemas
merged into :data:`coordinator.openapi.DOCUMENT`."""

from __future__ import annotations

from typing import Any

from coordinator.audit_tables import AuditAction
from coordinator.status import MessageStatus
from coordinator.tables import Role, Sector

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_ID = {"type": ["string", "null"], "format": "uuid"}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_GLN = {
    "name": "gln",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{13}$"},
}
_LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


def _get(operation: str, summary: str, schema: str, *errors: int, **extra: Any) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation,
            "summary": summary,
            **extra,
            "responses": {"200": _json(schema, "OK."), **_errors(401, 403, *errors, 503)},
        }
    }


def _action(operation: str, summary: str, schema: str, status: int, *errors: int) -> Any:
    return {
        "post": {
            "operationId": operation,
            "summary": summary,
            "responses": {
                str(status): _json(schema, "Done and audited."),
                **_errors(400, 401, 403, 404, *errors, 503),
            },
        }
    }


PATHS: dict[str, Any] = {
    "/v1/whoami": _get(
        "whoami", "The caller: person or system name, role and organisation.", "WhoAmI"
    ),
    "/v1/organisations": _get(
        "organisations",
        "The directory of registered organisations (GLN, name, sector), for addressing letters.",
        "Directory",
    ),
    "/v1/operator/throughput": _get(
        "operatorThroughput",
        "Messages accepted per minute by type, oldest minute first (operator, admin).",
        "Throughput",
        400,
        parameters=[
            {
                "name": "minutes",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 1440},
            }
        ],
    ),
    "/v1/operator/health": _get(
        "operatorHealth",
        "Database, disk, submit latency and error rate of this hub process (operator, admin).",
        "Health",
    ),
    "/v1/operator/organisations": _get(
        "operatorOrganisations",
        "Every organisation's inbox depth, oldest waiting message, last poll and token state.",
        "OperatorOrganisations",
    ),
    "/v1/operator/organisations/{gln}/queue": _get(
        "operatorQueue",
        "What waits in an organisation's inbox, oldest first: metadata only, never a body.",
        "Queue",
        400,
        404,
        parameters=[
            _GLN,
            _LIMIT,
            {
                "name": "status",
                "in": "query",
                "description": "Instead of the waiting queue: messages to the organisation in "
                "this status, newest first (e.g. expired, to re-deliver).",
                "schema": {"type": "string", "enum": [s.value for s in MessageStatus]},
            },
        ],
    ),
    "/v1/operator/messages/{id}": _get(
        "operatorTrail",
        "A message's metadata and every status event with its time; never its body or CPR.",
        "Trail",
        404,
        parameters=[_ID],
    ),
    "/v1/operator/messages/{id}/redeliver": {
        **_action(
            "operatorRedeliver",
            "Put an expired letter in its receiver's inbox again, as a resend (audited).",
            "Redelivered",
            201,
            409,
        )
    },
    "/v1/operator/messages/{id}/status-report": _action(
        "operatorStatusReport",
        "Put the receipt that answered a letter in its sender's inbox again (audited).",
        "Reported",
        201,
        409,
    ),
    "/v1/operator/organisations/{gln}/disable": _action(
        "operatorDisableToken",
        "Disable an organisation's system token (audited; effective within the token cache time).",
        "TokenState",
        200,
    ),
    "/v1/operator/organisations/{gln}/enable": _action(
        "operatorEnableToken", "Enable an organisation's system token (audited).", "TokenState", 200
    ),
    "/v1/operator/audit": _get(
        "operatorAudit",
        "The operators' actions, newest first.",
        "Audit",
        400,
        parameters=[_LIMIT],
    ),
}
for _path in ("redeliver", "status-report"):
    PATHS[f"/v1/operator/messages/{{id}}/{_path}"]["post"]["parameters"] = [_ID]
for _path in ("disable", "enable"):
    PATHS[f"/v1/operator/organisations/{{gln}}/{_path}"]["post"]["parameters"] = [_GLN]

_STATUS = {"type": "string", "enum": [s.value for s in MessageStatus]}
_META = {
    "id": {"type": "string", "format": "uuid"},
    "type": {"type": "string"},
    "sender": {"type": "string"},
    "receiver": {"type": "string"},
    "envelope_id": {"type": "string"},
    "letter_id": {"type": "string"},
    "episode_id": {"type": ["string", "null"]},
    "ack_requested": {"type": "boolean"},
    "status": _STATUS,
    "in_inbox": {"type": "boolean"},
    "resend": {"type": "boolean"},
    "resend_of": _NULLABLE_ID,
    "original_id": _NULLABLE_ID,
    "receipt_id": _NULLABLE_ID,
    "overdue": {"type": "boolean"},
    "size": {"type": "integer"},
    "received_at": _TIME,
    "updated_at": _TIME,
}
_ORG = {
    "type": "object",
    "required": ["gln", "name", "sector"],
    "properties": {
        "gln": {"type": "string"},
        "name": {"type": "string"},
        "sector": {"type": ["string", "null"], "enum": [*(s.value for s in Sector), None]},
    },
}

SCHEMAS: dict[str, Any] = {
    "WhoAmI": {
        "type": "object",
        "required": ["name", "role", "organisation"],
        "properties": {
            "name": {"type": "string"},
            "role": {"type": "string", "enum": [r.value for r in Role]},
            "organisation": _ORG,
        },
    },
    "Directory": {
        "type": "object",
        "required": ["organisations"],
        "properties": {
            "organisations": {
                "type": "array",
                "items": {
                    **_ORG,
                    "properties": {
                        **_ORG["properties"],  # type: ignore[dict-item]
                        "municipality": {"type": ["string", "null"]},
                    },
                },
            }
        },
    },
    "Throughput": {
        "type": "object",
        "required": ["until", "minutes", "by_type", "total"],
        "properties": {
            "until": _TIME,
            "minutes": {"type": "integer"},
            "by_type": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "integer"}},
            },
            "total": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "HubProcess": {
        "type": "object",
        "description": "A samspil serve process on this database whose heartbeat was seen in "
        "the last 30 seconds (it refreshes seen_at every 10 seconds).",
        "required": ["host", "pid", "version", "started_at", "seen_at"],
        "properties": {
            "host": {"type": "string"},
            "pid": {"type": "integer"},
            "version": {"type": "string"},
            "started_at": _TIME,
            "seen_at": _TIME,
        },
    },
    "Health": {
        "type": "object",
        "properties": {
            "database": {
                "type": "object",
                "properties": {
                    "ok": {"type": "boolean"},
                    "latency_ms": {"type": ["number", "null"]},
                },
            },
            "disk_used_percent": {"type": ["number", "null"]},
            "uptime_seconds": {"type": "number"},
            "submit_p99_ms": {"type": ["number", "null"]},
            "responses": {"type": "integer"},
            "server_errors": {"type": "integer"},
            "error_rate_percent": {"type": "number"},
        },
    },
    "OperatorOrganisations": {
        "type": "object",
        "required": ["organisations"],
        "properties": {
            "organisations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "gln": {"type": "string"},
                        "name": {"type": "string"},
                        "sector": {"type": "string"},
                        "inbox_depth": {"type": "integer"},
                        "oldest_waiting": _NULLABLE_TIME,
                        "last_poll": _NULLABLE_TIME,
                        "token_disabled": {"type": "boolean"},
                    },
                },
            }
        },
    },
    "Queue": {
        "type": "object",
        "required": ["organisation", "messages"],
        "properties": {
            "organisation": {"type": "string"},
            "messages": {"type": "array", "items": {"type": "object", "properties": _META}},
        },
    },
    "Trail": {
        "type": "object",
        "required": ["id", "status", "events"],
        "properties": {
            **_META,
            "events": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"status": _STATUS, "at": _TIME},
                },
            },
        },
    },
    "Redelivered": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "status": _STATUS,
            "redelivery_of": {"type": "string", "format": "uuid"},
        },
    },
    "Reported": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "status": _STATUS,
            "report_for": {"type": "string", "format": "uuid"},
        },
    },
    "TokenState": {
        "type": "object",
        "properties": {
            "organisation": {"type": "string"},
            "token_disabled": {"type": "boolean"},
            "changed": {"type": "integer"},
        },
    },
    "Audit": {
        "type": "object",
        "required": ["entries"],
        "properties": {
            "entries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "at": _TIME,
                        "action": {"type": "string", "enum": [a.value for a in AuditAction]},
                        "target": {"type": "string"},
                        "result": {"type": ["string", "null"]},
                        "actor": {"type": "string"},
                        "actor_organisation": {"type": "string"},
                    },
                },
            }
        },
    },
}
