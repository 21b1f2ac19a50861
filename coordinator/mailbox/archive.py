"""An organisation's letters, incoming and sent, as kept now: the archive its people search
(``POST /v1/letters/search``).

Read-only, and only the organisation's own letters (it sent or received them): no index
access-log entry, because nothing of another organisation's is disclosed. Receipts are not
listed (a letter's status and receipt say what they did). Letters the retention removed are
listed from their tombstones (identifiers, parties, last status and when it was removed):
never by child or subject, which went with them.

Newest first, in pages: each page's ``next`` is an opaque cursor (the last letter's time
and id). Four reads per page, each by an index: incoming and sent letters, incoming and
sent tombstones, merged here.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, literal, null, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.engine import guarded
from coordinator.errors import BadRequest
from coordinator.mailbox.status import MessageStatus
from coordinator.tables import MESSAGE, REMOVED_MESSAGE
from messages.medcom.model import MessageType

M, R = MESSAGE.c, REMOVED_MESSAGE.c
LETTER_TYPES = MessageType.codes(receipts=False)
DELIVERED = or_(M.in_inbox.is_(True), M.status != MessageStatus.ACCEPTED.value)
"""Not held for its other half (:mod:`coordinator.mailbox.submission`): its receiver lists
it."""


@dataclass(frozen=True, slots=True)
class Search:
    """What to list: ``child`` a CPR's digits (never logged), ``senders`` GLNs, ``subject``
    a text the subject holds, ``incoming``/``sent`` which directions."""

    gln: str
    child: str | None = None
    senders: tuple[str, ...] | None = None
    subject: str | None = None
    incoming: bool = True
    sent: bool = True
    before: tuple[datetime, uuid.UUID] | None = None
    limit: int = 50


def cursor_of(received_at: datetime, message_id: uuid.UUID) -> str:
    raw = f"{received_at.isoformat()}|{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def parse_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A page's ``next`` read back; 400 ``invalid-cursor`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        at, _, ident = raw.partition("|")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError(at)
        return when, uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadRequest(
            "before is not a page cursor this hub gave (send the previous page's next)",
            code="invalid-cursor",
        ) from None


def _before(time: Any, ident: Any, before: tuple[datetime, uuid.UUID] | None) -> Any:
    if before is None:
        return literal(True)
    at, last = before
    return or_(time < at, and_(time == at, ident < last))


_KEPT = (
    M.id,
    M.type,
    M.sender_gln,
    M.receiver_gln,
    M.letter_id,
    M.episode_id,
    M.subject,
    M.in_reply_to,
    M.status,
    M.in_inbox,
    M.overdue,
    M.receipt_id,
    M.received_at,
    M.updated_at,
    null().label("removed_at"),
)
_GONE = (
    R.id,
    R.type,
    R.sender_gln,
    R.receiver_gln,
    R.letter_id,
    null().label("episode_id"),
    null().label("subject"),
    null().label("in_reply_to"),
    R.status,
    false().label("in_inbox"),
    false().label("overdue"),
    null().label("receipt_id"),
    R.received_at,
    R.updated_at,
    R.removed_at,
)


def _kept(search: Search, party: ColumnElement[bool]) -> Any:
    where = [party, M.type.in_(LETTER_TYPES), _before(M.received_at, M.id, search.before)]
    if search.child is not None:
        where.append(M.patient_cpr == search.child)
    if search.senders is not None:
        where.append(M.sender_gln.in_(search.senders))
    if search.subject is not None:
        where.append(M.subject.icontains(search.subject, autoescape=True))
    return (
        select(*_KEPT)
        .where(*where)
        .order_by(M.received_at.desc(), M.id.desc())
        .limit(search.limit + 1)
    )


def _gone(search: Search, party: ColumnElement[bool]) -> Any:
    where = [party, R.type.in_(LETTER_TYPES), _before(R.received_at, R.id, search.before)]
    if search.senders is not None:
        where.append(R.sender_gln.in_(search.senders))
    return (
        select(*_GONE)
        .where(*where)
        .order_by(R.received_at.desc(), R.id.desc())
        .limit(search.limit + 1)
    )


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    next: str | None


async def letters(*, engine: AsyncEngine, search: Search) -> Page:
    """A page of ``search.gln``'s letters, newest first (see the module docstring)."""
    statements = []
    if search.incoming:
        statements.append(_kept(search, and_(M.receiver_gln == search.gln, DELIVERED)))
    if search.sent:
        statements.append(_kept(search, M.sender_gln == search.gln))
    if search.child is None and search.subject is None:  # a tombstone has neither
        if search.incoming:
            statements.append(_gone(search, R.receiver_gln == search.gln))
        if search.sent:
            statements.append(_gone(search, R.sender_gln == search.gln))
    found: dict[uuid.UUID, Any] = {}
    async with guarded(engine, "the letter archive", write=False) as conn:
        for statement in statements:
            for row in (await conn.execute(statement)).all():
                found[row.id] = row
    ordered = sorted(found.values(), key=lambda r: (r.received_at, r.id), reverse=True)
    page = ordered[: search.limit]
    more = len(ordered) > search.limit
    return Page(page, cursor_of(page[-1].received_at, page[-1].id) if more else None)
