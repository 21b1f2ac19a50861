"""The shared index's part of ``/v1/openapi.json``: its paths, and the wire models
(:mod:`wire.index`) whose schemas :mod:`coordinator.openapi` generates."""

from __future__ import annotations

from typing import Any

from coordinator.openapi_parts import json_answer, json_body, problems, ref
from wire.children import MyChildren
from wire.entries import AppointmentEntry, CaseEntry
from wire.events import PartnerEvents
from wire.index import (
    AccessLog,
    AccessNotifications,
    ConsentDisputed,
    ConsentDisputeIn,
    ConsentIn,
    ConsentRecorded,
    ConsentRevoked,
    Consents,
    CoordinatorIn,
    CoordinatorNamed,
    Overview,
    Upserted,
    VerifiedConsentIn,
)

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
_ACCESS_REASON = {
    "name": "X-Access-Reason",
    "in": "header",
    "description": "Why an operator reads the child's access log (required for operators, "
    "400 access-reason-missing without it; e.g. the family's request reference): 1-500 "
    "characters, sent as UTF-8 or ISO-8859-1 bytes; control characters are refused "
    "(400 invalid-access-reason). Kept on the operator's logged view, shown in the full log "
    "and audited. Ignored for organisations.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 500},
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


_TIME = {"type": "string", "format": "date-time"}

PATHS: dict[str, Any] = {
    "/v1/partner-events": {
        "get": {
            "operationId": "partnerEvents",
            "summary": "What changed at the other organisations involved with the caller's own "
            "children: a case opened or closed, an appointment booked, moved or cancelled, a "
            "coordinator named; oldest first, after a cursor.",
            "description": "Only children the caller has an active case for, only changes "
            "since its own case, only organisations whose entries consent opens to the caller "
            "now (judged per owner on every call, as the overview judges: a revoked consent "
            "withholds from the next call), never more than the overview shows. Each call "
            "that shows events is logged first, one access-log entry per child, naming the "
            "person (`X-On-Behalf-Of` or a user token's name) or else the system. `since` is "
            "the last page's `cursor` (0 at first); an event's `id` never changes, so a page "
            "fetched again is recognised event by event. `more`: call again at once.",
            "parameters": [
                {
                    "name": "since",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 10**15},
                },
                _ON_BEHALF_OF,
                _limit(500),
            ],
            "responses": {
                "200": json_answer("PartnerEvents", "A page of events, oldest first."),
                **problems(400, 401, 403, 503),
            },
        }
    },
    "/v1/children": {
        "get": {
            "operationId": "myChildren",
            "summary": "The caller organisation's own children: its active cases grouped by "
            "child, the most recent activity first, each with the number of partners the hub "
            "has told it of and its unread letters about the child.",
            "description": "Only the caller's own data and what the hub already told it: "
            "`partners_told` counts the organisations named in new-partner notices to the "
            "caller and in the answer to its own first active case (never whether they still "
            "have a case; nothing about an organisation it was not told of). Not logged: "
            "nothing of another organisation is disclosed. Activity is the latest update of "
            "the caller's active cases for the child, or the arrival of a letter about the "
            "child still in its inbox. `offset` and `limit` page through the list; `total` "
            "counts it.",
            "parameters": [
                _ON_BEHALF_OF,
                _limit(200),
                {
                    "name": "offset",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                },
            ],
            "responses": {
                "200": json_answer("MyChildren", "A page of the caller's children."),
                **problems(400, 401, 403, 503),
            },
        }
    },
    "/v1/cases/{ref}": {
        "put": {
            "operationId": "putCase",
            "summary": "Create or update one of the caller organisation's own cases "
            "(idempotent). Presence, not content: unknown fields are refused.",
            "description": "When the case is the caller's first active case for the child, "
            "every other organisation with an active case for the child is told (a "
            "new-partner notification with this case's contact, never its kind, title or "
            "reference), and the answer's `told` lists them: both sides learn of each other. "
            "A second case, an update, or a case reopened tells no one again.",
            "parameters": [_REF, _ON_BEHALF_OF],
            "requestBody": json_body("CaseEntry"),
            "responses": {
                "201": json_answer("Upserted", "Created."),
                "200": json_answer("Upserted", "Updated (or unchanged)."),
                **problems(400, 401, 403, 409, 415, 422, 503),
            },
        }
    },
    "/v1/appointments/{ref}": {
        "put": {
            "operationId": "putAppointment",
            "summary": "Create or update one of the caller organisation's own appointments "
            "(idempotent).",
            "parameters": [_REF, _ON_BEHALF_OF],
            "requestBody": json_body("AppointmentEntry"),
            "responses": {
                "201": json_answer("Upserted", "Created."),
                "200": json_answer("Upserted", "Updated (or unchanged)."),
                **problems(400, 401, 403, 409, 415, 422, 503),
            },
        }
    },
    "/v1/children/{cpr}/overview": {
        "get": {
            "operationId": "childOverview",
            "summary": "The caller's overview of a child: its own entries; other "
            "organisations' active cases, upcoming and recent appointments and the coordinator "
            "where consent opens them; the consent state; 48-hour overlap hints. Needs an own "
            "active case (403 no-active-case). Every disclosure is logged.",
            "description": "An owner organisation's entries are shown under a consent that is "
            "active, covers both organisations (their sectors, or the organisations by GLN), "
            "was given by someone whose word counts at the child's age, is not disputed by the "
            "owner, and that the hub's policy accepts for the owner's sector: a verified "
            "consent always; an attested one for the sectors in SAMSPIL_ATTESTED_CONSENT_OPENS "
            "(by default PPR and family), or when recorded by the owner's own sector. An owner "
            "whose data an attested consent opens is told so the first time (a "
            "consent-opened notification).",
            "parameters": [_CPR, _ON_BEHALF_OF],
            "responses": {
                "200": json_answer("Overview", "The overview."),
                **problems(400, 401, 403, 503),
            },
        }
    },
    "/v1/children/{cpr}/consents": {
        "post": {
            "operationId": "recordConsent",
            "summary": "Record a consent (needs an own active case): attested, or verified "
            "from a document signed by the consent service.",
            "description": "Two bodies. **Attested** (ConsentIn): a caseworker records who "
            "consented, their relation, the form, the sectors and the organisations it names "
            "by GLN (at least one of the two: 422 consent-covers-nothing; an unregistered GLN: "
            "422 unknown-organisation). **Verified** "
            '(VerifiedConsentIn, `{"document": "<compact JWS>"}`): a consent document '
            "signed (ES256) by the consent service whose public keys the hub is configured "
            "with (SAMSPIL_CONSENT_JWKS); who consented, the relation, the sectors, the named "
            "organisations and the period are read from the document, which is kept. The "
            "document's refusals, each recording nothing: 422 consent-document-malformed, "
            "consent-document-unknown-key, consent-document-bad-signature, "
            "consent-document-expired, consent-document-not-yet-valid, "
            "consent-document-other-child (another child's than the path's), "
            "consent-not-valid-for-age (as for an attested consent), "
            "consent-service-not-configured (the hub has no keys configured); 409 "
            "consent-document-reused (a document is recorded once); 503 "
            "consent-keys-unavailable (the service's keys could not be fetched; send it "
            "again later). Which sectors' data an attested consent opens is the hub's policy "
            "(SAMSPIL_ATTESTED_CONSENT_OPENS); a verified one opens every sector it covers. "
            "With an Idempotency-Key, a repeat of the request (e.g. a retry "
            "whose answer was lost) answers 200 with the consent the key first recorded, "
            "for either body.",
            "parameters": [_CPR, _ON_BEHALF_OF, _IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"oneOf": [ref("ConsentIn"), ref("VerifiedConsentIn")]}
                    }
                },
            },
            "responses": {
                "201": json_answer("ConsentRecorded", "Recorded."),
                "200": json_answer(
                    "ConsentRecorded", "Recorded before under this Idempotency-Key."
                ),
                **problems(400, 401, 403, 409, 415, 422, 503),
            },
        },
        "get": {
            "operationId": "listConsents",
            "summary": "The child's consents the caller may see, newest first (needs an own "
            "active case): those it recorded, and those naming its sector or the organisation "
            "itself; of a consent another organisation recorded, who gave it only while it is "
            "in force.",
            "parameters": [_CPR, _ON_BEHALF_OF],
            "responses": {
                "200": json_answer("Consents", "The consents."),
                **problems(400, 401, 403, 503),
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
                "200": json_answer("ConsentRevoked", "Revoked."),
                **problems(400, 401, 403, 404, 503),
            },
        }
    },
    "/v1/children/{cpr}/consents/{id}/dispute": {
        "post": {
            "operationId": "disputeConsent",
            "summary": "Dispute an attested consent that covers the caller's data (needs an own "
            "active case): from the next call it no longer opens the caller's data, and the "
            "organisation that recorded it is told (a consent-disputed notification with the "
            "reason). Idempotent per consent and organisation.",
            "description": "409 consent-verified: a verified consent cannot be disputed; 409 "
            "consent-recorded-by-you: revoke your own consent instead; 409 "
            "consent-does-not-cover-you: the consent opens nothing of yours. A system token "
            "must name the person (X-On-Behalf-Of): the dispute is kept with who made it.",
            "parameters": [
                _CPR,
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                _ON_BEHALF_OF,
            ],
            "requestBody": json_body("ConsentDisputeIn"),
            "responses": {
                "201": json_answer("ConsentDisputed", "Disputed."),
                "200": json_answer(
                    "ConsentDisputed", "Disputed before by the caller's organisation."
                ),
                **problems(400, 401, 403, 404, 409, 415, 422, 503),
            },
        }
    },
    "/v1/children/{cpr}/coordinator": {
        "put": {
            "operationId": "putCoordinator",
            "summary": "Name the child's coordinator (tovholder); needs an own active case.",
            "parameters": [_CPR, _ON_BEHALF_OF],
            "requestBody": json_body("CoordinatorIn"),
            "responses": {
                "200": json_answer("CoordinatorNamed", "The coordinator now named."),
                **problems(400, 401, 403, 415, 422, 503),
            },
        }
    },
    "/v1/children/{cpr}/access-log": {
        "get": {
            "operationId": "accessLog",
            "summary": "Who looked at the child's entries: when, which organisation, which "
            "person, whose entries.",
            "description": "An organisation with an active case sees its own views, the views "
            "of its own data (naming who read it) and every operator's read; in each, other "
            "organisations are named only where an active consent opens their data to it, "
            "and the others are left out uncounted. An operator sees everything, with the "
            "operators' stated reasons, and must state one (X-Access-Reason).",
            "parameters": [_CPR, _ON_BEHALF_OF, _ACCESS_REASON, _limit(5000)],
            "responses": {
                "200": json_answer("AccessLog", "The access log, newest first."),
                **problems(400, 401, 403, 503),
            },
        }
    },
    "/v1/access-notifications": {
        "get": {
            "operationId": "accessNotifications",
            "summary": "What the caller's organisation is told: views by other organisations "
            "that disclosed its entries, and its notifications about the children it has "
            "cases for (a new partner, a consent that opened its entries, a dispute of a "
            "consent it recorded).",
            "description": "One list, newest first, discriminated by `kind`: overview, "
            "consents and access-log are views (with the viewer); new-partner, "
            "consent-opened and consent-disputed are notifications (with the other "
            "organisation, and the consent, contact and detail where there are any). "
            "`since` gives only what came after that time (the newest `at` seen is the next "
            "call's `since`); `limit` caps the whole list.",
            "parameters": [
                {"name": "since", "in": "query", "schema": _TIME},
                _ON_BEHALF_OF,
                _limit(1000),
            ],
            "responses": {
                "200": json_answer("AccessNotifications", "Newest first."),
                **problems(400, 401, 403, 503),
            },
        }
    },
}

MODELS: list[type[Any]] = [
    MyChildren,
    PartnerEvents,
    Upserted,
    Overview,
    ConsentRecorded,
    ConsentRevoked,
    ConsentDisputed,
    Consents,
    CoordinatorNamed,
    AccessLog,
    AccessNotifications,
]

REQUESTS: list[type[Any]] = [
    CaseEntry,
    AppointmentEntry,
    ConsentIn,
    ConsentDisputeIn,
    VerifiedConsentIn,
    CoordinatorIn,
]
