"""The operator monitor's and the directory's part of ``/v1/openapi.json``: its paths, and the
wire models (:mod:`wire.operator`, :mod:`wire.directory`) whose schemas
:mod:`coordinator.openapi` generates."""

from __future__ import annotations

from typing import Any

from coordinator.openapi_parts import UUID_ID, json_answer, problems, ref
from wire.directory import Directory, WhoAmI
from wire.operator import (
    Audit,
    CertificateRevocationIn,
    FormatIn,
    FormatState,
    Health,
    LettersConsumer,
    LettersConsumerIn,
    OperatorOrganisations,
    Probe,
    Queue,
    Redelivered,
    Reported,
    RevokedCertificates,
    Summary,
    Throughput,
    TokenState,
    Trail,
)

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


def _get(operation: str, summary: str, schema: str, *errors: int, **extra: Any) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation,
            "summary": summary,
            **extra,
            "responses": {"200": json_answer(schema, "OK."), **problems(401, 403, *errors, 503)},
        }
    }


def _action(operation: str, summary: str, schema: str, status: int, *errors: int) -> Any:
    return {
        "post": {
            "operationId": operation,
            "summary": summary,
            "responses": {
                str(status): json_answer(schema, "Done and audited."),
                **problems(400, 401, 403, 404, *errors, 503),
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
                "schema": ref("MessageStatus"),
            },
        ],
    ),
    "/v1/operator/messages/{id}": _get(
        "operatorTrail",
        "A message's metadata and every status event with its time; never its body or CPR. "
        "410 `letter-removed`: the letter retention removed it (only its identifiers are "
        "kept).",
        "Trail",
        404,
        410,
        parameters=[UUID_ID],
    ),
    "/v1/operator/messages/{id}/redeliver": {
        **_action(
            "operatorRedeliver",
            "Put an expired letter in its receiver's inbox again, as a resend (audited); "
            "410 `letter-removed` once the letter retention removed it.",
            "Redelivered",
            201,
            409,
            410,
        )
    },
    "/v1/operator/messages/{id}/status-report": _action(
        "operatorStatusReport",
        "Put the receipt that answered a letter in its sender's inbox again (audited); "
        "410 `letter-removed` once the letter retention removed the letter or its receipt.",
        "Reported",
        201,
        409,
        410,
    ),
    "/v1/operator/organisations/{gln}/disable": _action(
        "operatorDisableToken",
        "Disable an organisation's system token, and with it its client certificates "
        "(audited; refused from their next request).",
        "TokenState",
        200,
    ),
    "/v1/operator/organisations/{gln}/enable": _action(
        "operatorEnableToken", "Enable an organisation's system token (audited).", "TokenState", 200
    ),
    "/v1/operator/organisations/{gln}/format": {
        "put": {
            "operationId": "operatorSetFormat",
            "summary": "Set the letter format an organisation receives, oioxml or fhir "
            "(audited): the next letters and receipts for it are converted to it; those "
            "already in its inbox keep theirs.",
            "parameters": [_GLN],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("FormatIn")}},
            },
            "responses": {
                "200": json_answer("FormatState", "Set and audited."),
                **problems(400, 401, 403, 404, 413, 415, 503),
            },
        },
    },
    "/v1/operator/organisations/{gln}/letters-consumed-by": {
        "post": {
            "operationId": "operatorSetLettersConsumedBy",
            "summary": "Set who takes an organisation's letters out of its inbox (audited): "
            "its system through its adapter, or its people in the caseworker app. The other "
            "party's consuming calls are refused with 409 letters-consumed-by-system or "
            "letters-consumed-by-people from the next request, in every hub process.",
            "parameters": [_GLN],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("LettersConsumerIn")}},
            },
            "responses": {
                "200": json_answer("LettersConsumer", "Set (and audited)."),
                **problems(400, 401, 403, 404, 413, 415, 503),
            },
        },
    },
    "/v1/operator/organisations/{gln}/revoked-certificates": {
        **_get(
            "operatorRevokedCertificates",
            "An organisation's revoked client certificates, newest first (operator, admin).",
            "RevokedCertificates",
            400,
            404,
            parameters=[_GLN],
        ),
        "post": {
            "operationId": "operatorRevokeCertificate",
            "summary": "Revoke one client certificate of an organisation by its serial number "
            "(audited): every hub process refuses it from its next request (401 "
            "certificate-revoked); the organisation's other certificates and tokens keep "
            "working. A revocation is for good.",
            "parameters": [_GLN],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("CertificateRevocationIn")}},
            },
            "responses": {
                "201": json_answer("RevokedCertificate", "Revoked and audited."),
                **problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
            },
        },
    },
    "/v1/operator/audit": _get(
        "operatorAudit",
        "The operators' actions, newest first.",
        "Audit",
        400,
        parameters=[_LIMIT],
    ),
}
for _path in ("redeliver", "status-report"):
    PATHS[f"/v1/operator/messages/{{id}}/{_path}"]["post"]["parameters"] = [UUID_ID]
for _path in ("disable", "enable"):
    PATHS[f"/v1/operator/organisations/{{gln}}/{_path}"]["post"]["parameters"] = [_GLN]

MODELS: list[type[Any]] = [
    WhoAmI,
    Directory,
    Summary,
    Probe,
    Throughput,
    Health,
    LettersConsumer,
    LettersConsumerIn,
    OperatorOrganisations,
    Queue,
    Trail,
    Redelivered,
    Reported,
    TokenState,
    FormatIn,
    FormatState,
    LettersConsumerIn,
    LettersConsumer,
    CertificateRevocationIn,
    RevokedCertificates,
    Audit,
]
