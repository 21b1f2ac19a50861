"""The mailboxes' part of ``/v1/openapi.json`` (:mod:`coordinator.mailbox.routes`): its
paths, and the wire models (:mod:`wire.mailbox`) whose schemas :mod:`coordinator.openapi`
generates."""

from __future__ import annotations

from typing import Any

from coordinator.openapi_parts import AUTH_ERRORS, UUID_ID, json_answer, problems
from messages.medcom.model import MessageType
from wire.mailbox import (
    Accepted,
    Archive,
    ArchiveSearch,
    Inbox,
    MessageStatus,
    Outbox,
    Status,
    StatusChange,
)

MODELS = (
    *(Accepted, Inbox, Outbox, StatusChange, Status),
    *(ArchiveSearch, Archive),
    *(MessageStatus, MessageType),
)

PATHS: dict[str, Any] = {
    "/v1/messages": {
        "post": {
            "operationId": "submitMessage",
            "summary": "Submit an OIOXML Emessage (XDIS91, XBIN01, XCTL02, XCTL03) or a "
            "MedCom FHIR message (CareCommunication, Acknowledgement).",
            "description": "The receiver gets its own format: the hub converts a letter "
            "and its receipts between OIOXML and FHIR (MedCom's conversion rules; a "
            "CareCommunication with attachments becomes an XDIS91 and one XBIN01; two "
            "XCTL become one Acknowledgement). The same FHIR bundle sent again is a "
            "duplicate. A FHIR message that breaks MedCom's profile is refused 422 with "
            "the rule's code; unreadable FHIR 400 (`fhir-syntax`, `fhir-too-deep`); over "
            "the size limit 413.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "text/xml": {"schema": {"type": "string"}},
                    "application/fhir+json": {"schema": {"type": "object"}},
                    "application/fhir+xml": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "202": json_answer("Accepted", "Accepted and durably committed."),
                "200": json_answer(
                    "Accepted", "A duplicate: the first one's id; not delivered again."
                ),
                # 409 resend-limit: a letter resent more than MedCom's 3 times;
                # 409 already-receipted: a second positive receipt for one letter
                **problems(400, *AUTH_ERRORS, 409, 413, 415, 422, 503),
            },
        }
    },
    "/v1/inbox": {
        "get": {
            "operationId": "inbox",
            "summary": "Messages for the caller not yet acknowledged, oldest first; "
            "long-polls up to `wait` seconds when empty. With `lease`, competing consumers "
            "of one organisation: only messages no other consumer holds, each hidden from "
            "the others for `lease` seconds or until acknowledged.",
            "parameters": [
                {
                    "name": "wait",
                    "in": "query",
                    "schema": {"type": "number", "minimum": 0, "maximum": 60},
                },
                {
                    "name": "lease",
                    "in": "query",
                    "schema": {"type": "number", "minimum": 0, "maximum": 3600},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
            ],
            "description": "409 `letters-consumed-by-people`: a system's poll where the "
            "organisation's people take its letters in (the caseworker app); 409 "
            "`letters-consumed-by-system`: a person's lease where its system does. A "
            "person's plain listing is always answered (read-only).",
            "responses": {
                "200": json_answer("Inbox", "The inbox."),
                **problems(400, *AUTH_ERRORS, 409, 503),
            },
        }
    },
    "/v1/messages/{id}": {
        "get": {
            "operationId": "fetchMessage",
            "summary": "The message byte for byte (sender or receiver only): the receiver "
            "gets it in its organisation's format, the sender what it sent.",
            "description": "A letter that expired before its receiver acknowledged it "
            "answers the receiver 410 `expired` (its sender got an XCTL01 saying it was "
            "not delivered); the sender can still read its own letter. A message the "
            "letter retention removed (delivered, or expired and reported, longer ago "
            "than the hub keeps letters) answers its sender and receiver 410 "
            "`letter-removed`. Only the party that takes the receiver's letters in (its "
            "system or its people: `letters_consumed_by`) marks a letter downloaded by "
            "fetching it; a person where the system takes them in reads it without "
            "changing it, and a system where the people do is refused 409 "
            "`letters-consumed-by-people`.",
            "parameters": [UUID_ID],
            "responses": {
                "200": {
                    "description": "The message: as submitted, or as the hub converted "
                    "it for the receiver (its inbox entry's `format`).",
                    "content": {
                        "application/xml": {"schema": {"type": "string"}},
                        "application/fhir+json": {"schema": {"type": "object"}},
                        "application/fhir+xml": {"schema": {"type": "string"}},
                    },
                },
                # 410 expired: the letter expired before the receiver acknowledged it;
                # 410 letter-removed: the letter retention removed it
                **problems(*AUTH_ERRORS, 404, 409, 410, 503),
            },
        }
    },
    "/v1/messages/{id}/ack": {
        "post": {
            "operationId": "acknowledgeMessage",
            "summary": "The receiver took the message into its system (idempotent).",
            "description": "410 `letter-removed`: the letter retention removed the "
            "message (it was acknowledged long ago). 409 `letters-consumed-by-system` "
            "or `letters-consumed-by-people`: the caller's organisation has the other "
            "party take its letters in (`letters_consumed_by`).",
            "parameters": [UUID_ID],
            "responses": {
                "200": json_answer("StatusChange", "Acknowledged."),
                **problems(*AUTH_ERRORS, 404, 409, 410, 503),
            },
        }
    },
    "/v1/messages/{id}/status": {
        "get": {
            "operationId": "messageStatus",
            "summary": "Status and history of a message (sender or receiver only).",
            "description": "A message the letter retention removed answers its sender "
            "and receiver 410 `letter-removed`, saying in words what became of it and "
            "when; sending it again is still answered as a duplicate.",
            "parameters": [UUID_ID],
            "responses": {
                "200": json_answer("Status", "The status."),
                **problems(*AUTH_ERRORS, 404, 410, 503),
            },
        }
    },
    "/v1/outbox": {
        "get": {
            "operationId": "outbox",
            "summary": "The caller's sent messages and their status, newest first.",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"$ref": "#/components/schemas/MessageStatus"},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
            ],
            "responses": {
                "200": json_answer("Outbox", "The outbox."),
                **problems(400, *AUTH_ERRORS, 503),
            },
        }
    },
    "/v1/letters/search": {
        "post": {
            "operationId": "searchLetters",
            "summary": "The caller's organisation's letters, incoming and sent (not "
            "receipts), newest first, in pages: by child (CPR, in the body so never in a "
            "URL or a log), senders and subject. Read-only, whoever takes the letters in. "
            "Letters the retention removed are listed by their identifiers "
            "(`removed_at`), never by child or subject.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ArchiveSearch"}}
                },
            },
            "responses": {
                "200": json_answer("Archive", "A page of letters."),
                **problems(400, *AUTH_ERRORS, 413, 415, 422, 503),
            },
        }
    },
}
