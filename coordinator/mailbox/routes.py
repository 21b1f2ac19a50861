"""``/v1`` mailboxes: submit, inbox (long-poll), fetch, acknowledge, status, outbox."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from coordinator.errors import (
    BadRequest,
    ConsumedElsewhere,
    Expired,
    Forbidden,
    InvalidSearch,
    NotFound,
    UnsupportedMediaType,
)
from coordinator.mailbox.archive import Search, letters, parse_cursor
from coordinator.mailbox.conversion import FHIR_JSON
from coordinator.mailbox.intake import accept_many
from coordinator.mailbox.status import MessageStatus
from coordinator.mailbox.store import (
    acknowledge,
    consumer_of,
    inbox,
    mark_downloaded,
    message_for,
    message_with_events,
    outbox,
    party_of,
    touch_poll,
)
from coordinator.mailbox.store import lease as store_lease
from coordinator.mailbox.submission import FHIR_TYPES, FHIR_XML, pair_held, submitted
from coordinator.params import path_id, seconds, whole_number
from coordinator.responses import json_response
from coordinator.security.auth import Principal, principal_of
from coordinator.sqltypes import utcnow
from coordinator.state import (
    COMMITTER,
    ENGINE,
    LAST_POLL,
    NOTIFIER,
    READER,
    SETTINGS,
    STOPPING,
)
from coordinator.tables import LettersConsumedBy, Role
from messages.errors import IdentifierError
from messages.identifiers import parse_cpr, parse_gln
from wire.directory import MessageFormat
from wire.entries import entry_problems
from wire.mailbox import (
    Accepted,
    Archive,
    ArchiveEntry,
    ArchiveSearch,
    Direction,
    Inbox,
    Outbox,
    OutboxEntry,
    Status,
    StatusChange,
    StatusEvent,
)

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

MAILBOX_ROLES = (Role.SYSTEM, Role.CASEWORKER, Role.ADMIN)
XML_TYPES = frozenset({"application/xml", "text/xml"})
OFF_LOOP_BYTES = 64 * 1024  # validate bigger documents in a thread
POLL_TOUCH_SECONDS = 10.0
MAX_LEASE_SECONDS = 3600.0


def _mailbox_user(request: web.Request) -> Principal:
    principal = principal_of(request)
    if principal.role not in MAILBOX_ROLES:
        raise Forbidden("operators see counts, never messages")
    return principal


def _message_id(request: web.Request) -> uuid.UUID:
    return path_id(request, not_found="no such message for your organisation")


@routes.post("/v1/messages")
async def submit(request: web.Request) -> web.Response:
    principal = _mailbox_user(request)
    app = request.app
    content_type = request.content_type
    if content_type not in XML_TYPES and content_type not in FHIR_TYPES:
        raise UnsupportedMediaType(
            "send the Emessage as Content-Type: application/xml, or a MedCom FHIR bundle as "
            "application/fhir+json or application/fhir+xml"
        )
    body = await request.read()
    incoming = await submitted(request, body, content_type, principal.org_gln)
    accepted = await app[COMMITTER].bulk(accept_many, incoming)
    await pair_held(app, incoming, accepted)
    headers = {"Location": f"/v1/messages/{accepted.id}"}
    answer = Accepted(
        id=accepted.id,
        status=accepted.status,
        duplicate=accepted.duplicate,
        resend=accepted.resend and not accepted.duplicate,
    )
    status = 200 if accepted.duplicate else 202
    return json_response(answer, status=status, headers=headers, exclude_defaults=True)


def _format_of(body_type: str) -> MessageFormat:
    return MessageFormat.FHIR if body_type in FHIR_TYPES else MessageFormat.OIOXML


def _sent_type(sent_as: str, body: bytes) -> str:
    if sent_as != MessageFormat.FHIR.value:
        return "application/xml"
    return FHIR_JSON if body.lstrip()[:1] == b"{" else FHIR_XML


def _entry(row: Any) -> dict[str, Any]:
    """One :class:`~wire.mailbox.InboxEntry`'s fields: never the child's CPR, only whether to
    offer registering a case."""
    return {
        "id": row.id,
        "type": row.type,
        "sender": row.sender_gln,
        "received_at": row.received_at,
        "size": row.size,
        "status": row.status,
        "letter_id": row.letter_id,
        "episode_id": row.episode_id,
        "subject": row.subject,
        "in_reply_to": row.in_reply_to,
        "format": _format_of(row.body_type).value,
        "suggested_case": bool(row.suggested_case),
    }


@routes.get("/v1/inbox")
async def get_inbox(request: web.Request) -> web.Response:
    principal = _mailbox_user(request)
    app = request.app
    wait = seconds(request, "wait", default=0.0, low=0.0, high=app[SETTINGS].max_wait)
    limit = whole_number(request, "limit", default=100, low=1, high=1000)
    lease = seconds(request, "lease", default=0.0, low=0.0, high=MAX_LEASE_SECONDS)
    gln = principal.org_gln
    reader, notifier, committer = app[READER], app[NOTIFIER], app[COMMITTER]
    party = party_of(principal.role)
    # a system's poll is where it starts taking letters in; a person's list is a view,
    # except with a lease (handing letters to one consumer is taking them)
    if party is LettersConsumedBy.SYSTEM or lease:
        owner = await consumer_of(reader=reader, gln=gln)
        if owner is not party:
            raise ConsumedElsewhere.by(owner)
    if principal.role == Role.SYSTEM:  # a person reading the inbox says nothing of the system
        await _touch_poll(request, gln)
    deadline = time.monotonic() + wait
    while True:
        waiter = notifier.waiter(gln)  # before the query: a commit in between still wakes us
        try:
            remaining = deadline - time.monotonic()
            if lease:
                leased = await committer.write(store_lease(gln, limit, lease))
                rows = leased.rows
                if leased.next_release is not None:  # another consumer's lease may run out
                    until = (leased.next_release - utcnow()).total_seconds()
                    remaining = min(remaining, max(until, 0.0) + 0.01)
            else:
                rows = await inbox(reader=reader, gln=gln, limit=limit)
            if rows or deadline - time.monotonic() <= 0 or app[STOPPING].is_set():
                break
            # the waiter itself, woken by a commit or by the timer: one hop back to this
            # handler where asyncio.wait_for takes two (each a full turn of a busy loop)
            timer = asyncio.get_running_loop().call_later(remaining, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
        finally:
            notifier.discard(gln, waiter)
    # validated in one call of pydantic's core: faster than building the models one by one
    return json_response(Inbox.model_validate({"messages": [_entry(r) for r in rows]}))


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _touch_poll(request: web.Request, gln: str) -> None:
    polls = request.app[LAST_POLL]
    now = time.monotonic()
    if now - polls.get(gln, -POLL_TOUCH_SECONDS) >= POLL_TOUCH_SECONDS:
        polls[gln] = now
        await request.app[COMMITTER].write(touch_poll(gln, utcnow()))


@routes.get("/v1/messages/{id}")
async def fetch(request: web.Request) -> web.Response:
    principal = _mailbox_user(request)
    message_id = _message_id(request)
    app = request.app
    row = await message_for(
        reader=app[READER], message_id=message_id, gln=principal.org_gln, with_body=True
    )
    receiver = row.receiver_gln == principal.org_gln
    if receiver and row.status == MessageStatus.ACCEPTED.value and not row.in_inbox:
        # held for its other half (a converted letter and its attachment): not delivered yet
        raise NotFound("no such message for your organisation")
    if receiver and row.status == MessageStatus.EXPIRED.value:
        raise Expired(
            "this letter expired before your system acknowledged it and its sender was told "
            "it was not delivered; ask the sender to send it again"
        )
    # only the party that owns the mailbox takes a letter in: the system is refused where
    # the people do; a person where the system does reads it without changing its status
    owner = LettersConsumedBy(row.consumed_by or LettersConsumedBy.SYSTEM.value)
    party = party_of(principal.role)
    if receiver and party is LettersConsumedBy.SYSTEM and owner is not party:
        raise ConsumedElsewhere.by(owner)
    first = MessageStatus(row.status).can_become(MessageStatus.DOWNLOADED)
    if receiver and first and owner is party:
        await app[COMMITTER].bulk(mark_downloaded, message_id)
    body, media_type = bytes(row.body), row.body_type
    if row.sender_gln == principal.org_gln and row.original is not None:
        body = bytes(row.original)  # the sender sees what it sent
        media_type = _sent_type(row.sent_as, body)
    return web.Response(
        body=body,
        content_type=media_type,
        headers={"X-Samspil-Message-Type": row.type},
    )


@routes.post("/v1/messages/{id}/ack")
async def ack(request: web.Request) -> web.Response:
    principal = _mailbox_user(request)
    message_id = _message_id(request)
    asked = (message_id, principal.org_gln, party_of(principal.role))
    status = await request.app[COMMITTER].bulk(acknowledge, asked)
    return json_response(StatusChange(id=message_id, status=status))


@routes.get("/v1/messages/{id}/status")
async def status(request: web.Request) -> web.Response:
    principal = _mailbox_user(request)
    message_id = _message_id(request)
    row, events = await message_with_events(
        reader=request.app[READER], message_id=message_id, gln=principal.org_gln
    )
    return json_response(
        Status(
            id=row.id,
            type=row.type,
            status=row.status,
            events=[StatusEvent(status=e.status, at=e.at) for e in events],
            receipt_id=row.receipt_id,
            resend=row.is_resend,
            overdue=row.overdue,
            letter_id=row.letter_id,
            fhir_bundle_id=row.fhir_bundle_id,
            fhir_message_id=row.fhir_message_id,
            sent_as=row.sent_as,
            delivered_as=_format_of(row.body_type),
        )
    )


@routes.get("/v1/outbox")
async def get_outbox(request: web.Request) -> web.Response:
    principal = _mailbox_user(request)
    raw = request.query.get("status")
    try:
        wanted = MessageStatus(raw) if raw is not None else None  # "" is no status
    except ValueError:
        choices = ", ".join(s.value for s in MessageStatus)
        raise BadRequest(f"status must be one of {choices}") from None
    limit = whole_number(request, "limit", default=100, low=1, high=1000)
    rows = await outbox(
        reader=request.app[READER], gln=principal.org_gln, status=wanted, limit=limit
    )
    return json_response(
        Outbox(
            messages=[
                OutboxEntry(
                    id=r.id,
                    type=r.type,
                    receiver=r.receiver_gln,
                    envelope_id=r.envelope_id,
                    letter_id=r.letter_id,
                    status=r.status,
                    received_at=r.received_at,
                    updated_at=r.updated_at,
                    size=r.size,
                    resend=r.is_resend,
                    overdue=r.overdue,
                    receipt_id=r.receipt_id,
                    subject=r.subject,
                )
                for r in rows
            ]
        )
    )


# --- the archive ---------------------------------------------------------------------------


async def _search(request: web.Request, gln: str) -> Search:
    """``POST /v1/letters/search``'s body (:class:`wire.mailbox.ArchiveSearch`) as a search
    of ``gln``'s letters. No error repeats a value from the body (it may hold a CPR)."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the search as Content-Type: application/json")
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not JSON", code="invalid-json") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid-json")
    try:
        asked = ArchiveSearch.model_validate(data)
    except ValidationError as exc:
        raise InvalidSearch(f"the search cannot be used: {entry_problems(exc)}") from None
    try:
        child = parse_cpr(asked.child).digits if asked.child is not None else None
    except IdentifierError:
        raise InvalidSearch(
            "child is not a valid CPR number (10 digits, DDMMYY and 4 digits, a real date)",
            code="invalid-cpr",
        ) from None
    try:
        senders = tuple(parse_gln(g) for g in asked.senders) if asked.senders else None
    except IdentifierError:
        raise InvalidSearch(
            "senders are 13-digit location numbers (GLN)", code="invalid-gln"
        ) from None
    return Search(
        gln=gln,
        child=child,
        senders=senders,
        subject=asked.subject,
        incoming=asked.direction in (None, Direction.INCOMING),
        sent=asked.direction in (None, Direction.SENT),
        before=parse_cursor(asked.before) if asked.before is not None else None,
        limit=asked.limit,
    )


@routes.post("/v1/letters/search")
async def search_letters(request: web.Request) -> web.Response:
    """The caller's organisation's letters, incoming and sent, newest first: its own data,
    read-only whoever takes its letters in."""
    principal = _mailbox_user(request)
    gln = principal.org_gln
    search = await _search(request, gln)
    app = request.app
    page = await letters(engine=app[ENGINE], search=search)
    owner = await consumer_of(reader=app[READER], gln=gln)
    return json_response(
        Archive(
            letters_consumed_by=owner,
            letters=[
                ArchiveEntry(
                    id=r.id,
                    type=r.type,
                    direction=Direction.INCOMING if r.receiver_gln == gln else Direction.SENT,
                    sender=r.sender_gln,
                    receiver=r.receiver_gln,
                    letter_id=r.letter_id,
                    episode_id=r.episode_id,
                    subject=r.subject,
                    in_reply_to=r.in_reply_to,
                    status=r.status,
                    in_inbox=bool(r.in_inbox),
                    overdue=bool(r.overdue),
                    receipt_id=r.receipt_id,
                    received_at=r.received_at,
                    updated_at=r.updated_at,
                    removed_at=r.removed_at,
                )
                for r in page.rows
            ],
            next=page.next,
        )
    )
