"""Reading the store and the delivery writes.

Organisations and users are registered (audited) by :mod:`coordinator.security.credentials`.

Persistence functions are keyword-only and async. The mailbox reads run through the
:class:`~coordinator.database.reader.Reader` with statements built once; the others use the engine.
Writes are bulk writes and ops run by the :class:`~coordinator.database.committer.Committer` (their
first two arguments are the committer's connection and batch). SQLAlchemy errors are translated to
:class:`~coordinator.errors.StoreError` here and in the committer, never further out.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.committer import Batch, SyncOp
from coordinator.database.engine import guarded
from coordinator.database.reader import Reader
from coordinator.database.statements import ForEngine, Lookup, Query, UpdateEach
from coordinator.errors import Conflict, ConsumedElsewhere, LetterRemoved, NotFound
from coordinator.index.tables import CASE
from coordinator.mailbox.conversion import follow_letters
from coordinator.mailbox.status import MessageStatus, transition
from coordinator.tables import (
    CREDENTIAL,
    MESSAGE,
    MESSAGE_EVENT,
    ORGANISATION,
    REMOVED_MESSAGE,
    LettersConsumedBy,
    OrganisationPublic,
    Role,
)
from messages.medcom.model import MessageType
from wire.entries import CaseStatus

TOKEN_PREFIX = "smp_"  # noqa: S105 - a visible prefix for secret scanners, not a secret
M = MESSAGE.c


def new_token() -> str:
    """A bearer token: 256 random bits. Shown once; only its hash is stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CredentialRow:
    id: uuid.UUID
    org_gln: str
    name: str
    role: Role
    disabled: bool


# --- organisations and credentials -------------------------------------------------------


async def list_organisations(*, engine: AsyncEngine) -> list[OrganisationPublic]:
    o = ORGANISATION.c
    async with guarded(engine, write=False) as conn:
        rows = (await conn.execute(select(ORGANISATION).order_by(o.gln))).all()
    return [OrganisationPublic.model_validate(dict(row._mapping)) for row in rows]


async def registered_glns(*, engine: AsyncEngine, glns: Sequence[str]) -> set[str]:
    """Which of ``glns`` are registered organisations."""
    async with guarded(engine, write=False) as conn:
        found = await conn.scalars(
            select(ORGANISATION.c.gln).where(ORGANISATION.c.gln.in_(list(glns)))
        )
        return set(found)


async def find_credential(*, engine: AsyncEngine, hashed: str) -> CredentialRow | None:
    """The credential whose token hashes to ``hashed`` (lookup by hash: no timing oracle)."""
    c = CREDENTIAL.c
    async with guarded(engine, write=False) as conn:
        row = (
            await conn.execute(
                select(c.id, c.org_gln, c.name, c.role, c.disabled).where(c.token_hash == hashed)
            )
        ).first()
    if row is None:
        return None
    return CredentialRow(row.id, row.org_gln, row.name, Role(row.role), row.disabled)


# --- mailboxes (the hot path: statements built once, run through the Reader) ---------------

_SUGGESTED_CASE = and_(
    M.type == MessageType.XDIS91.value,
    M.patient_cpr.is_not(None),
    ~exists().where(  # an index probe per entry (ix_index_case_cpr): no extra round trip
        CASE.c.cpr == M.patient_cpr,
        CASE.c.org_gln == M.receiver_gln,
        CASE.c.status == CaseStatus.ACTIVE.value,
    ),
).label("suggested_case")
"""An XDIS91 about a child for whom the receiver has no active case: the inbox offers
(never forces) registering one, and stops as soon as the receiver has one. Receipts and
letters without a real CPR never suggest a case. The CPR itself is never selected."""
_INBOX_COLUMNS = (
    M.id,
    M.type,
    M.sender_gln,
    M.received_at,
    M.size,
    M.status,
    M.letter_id,
    M.episode_id,
    M.subject,
    M.in_reply_to,
    M.body_type,
    _SUGGESTED_CASE,
)
_INBOX = Query(
    select(*_INBOX_COLUMNS)
    .where(M.receiver_gln == bindparam("gln"), M.in_inbox.is_(True))
    .order_by(M.received_at, M.id)
    .limit(bindparam("limit"))
)
_MESSAGE_COLUMNS = (
    M.id,
    M.type,
    M.sender_gln,
    M.receiver_gln,
    M.status,
    M.in_inbox,
    M.receipt_id,
    M.overdue,
    M.is_resend,
    M.received_at,
    M.letter_id,
    M.sent_as,
    M.body_type,
    M.fhir_bundle_id,
    M.fhir_message_id,
)
_MESSAGE = Query(select(*_MESSAGE_COLUMNS).where(M.id == bindparam("id")))
_CONSUMED_BY = (
    select(ORGANISATION.c.letters_consumed_by)
    .where(ORGANISATION.c.gln == M.receiver_gln)
    .scalar_subquery()
    .label("consumed_by")
)
"""Who takes the receiver's letters out of its inbox (``letters_consumed_by``): read with
the message, by the unique GLN index, so a fetch or an acknowledgement costs no extra trip."""
_CONSUMER = Query(
    select(ORGANISATION.c.letters_consumed_by).where(ORGANISATION.c.gln == bindparam("gln"))
)
_R = REMOVED_MESSAGE.c
_REMOVED = Query(
    select(_R.type, _R.sender_gln, _R.receiver_gln, _R.status, _R.updated_at, _R.removed_at).where(
        _R.id == bindparam("id")
    )
)
"""What stays of a message the letter retention removed: read only when no message has the
id, so a stored message costs no second lookup."""
_MESSAGE_BODY = Query(
    select(*_MESSAGE_COLUMNS, _CONSUMED_BY, M.body, M.original).where(M.id == bindparam("id"))
)
_EVENTS = Query(
    select(MESSAGE_EVENT.c.status, MESSAGE_EVENT.c.at)
    .where(MESSAGE_EVENT.c.message_id == bindparam("id"))
    .order_by(MESSAGE_EVENT.c.at, MESSAGE_EVENT.c.id)
)
_OUTBOX_COLUMNS = (
    M.id,
    M.type,
    M.receiver_gln,
    M.envelope_id,
    M.letter_id,
    M.status,
    M.received_at,
    M.updated_at,
    M.size,
    M.is_resend,
    M.overdue,
    M.receipt_id,
    M.subject,
)
_OUTBOX_ALL = (
    select(*_OUTBOX_COLUMNS)
    .where(M.sender_gln == bindparam("gln"))
    .order_by(M.received_at.desc(), M.id)
    .limit(bindparam("limit"))
)
_OUTBOX = {
    None: Query(_OUTBOX_ALL),
    "status": Query(_OUTBOX_ALL.where(M.status == bindparam("status"))),
}


def _inbox(conn: Connection, gln: str, limit: int) -> list[Any]:
    return _INBOX.rows(conn, {"gln": gln, "limit": limit})


async def inbox(*, reader: Reader, gln: str, limit: int) -> list[Any]:
    """Messages for ``gln`` not yet acknowledged, oldest first (leased ones too)."""
    return await reader(_inbox, gln, limit)


def party_of(role: Role) -> LettersConsumedBy:
    """Which party a credential speaks for: an organisation's system, or its people."""
    return LettersConsumedBy.SYSTEM if role is Role.SYSTEM else LettersConsumedBy.PEOPLE


def _consumer(conn: Connection, gln: str) -> LettersConsumedBy:
    row = _CONSUMER.first(conn, {"gln": gln})
    return LettersConsumedBy(row[0]) if row is not None else LettersConsumedBy.SYSTEM


async def consumer_of(*, reader: Reader, gln: str) -> LettersConsumedBy:
    """Who takes ``gln``'s letters out of its inbox (read at each call: an operator's change
    holds at once, in every hub process)."""
    return await reader(_consumer, gln)


def _outbox(conn: Connection, gln: str, status: MessageStatus | None, limit: int) -> list[Any]:
    if status is None:
        return _OUTBOX[None].rows(conn, {"gln": gln, "limit": limit})
    return _OUTBOX["status"].rows(conn, {"gln": gln, "status": status.value, "limit": limit})


async def outbox(
    *, reader: Reader, gln: str, status: MessageStatus | None, limit: int
) -> list[Any]:
    """Messages ``gln`` sent, newest first."""
    return await reader(_outbox, gln, status, limit)


def removed_error(removed: Any) -> LetterRemoved:
    """The 410 for a message the letter retention removed (its ``message_removed`` row)."""
    return LetterRemoved.of(
        kind=removed.type,
        status=removed.status,
        changed_at=removed.updated_at,
        removed_at=removed.removed_at,
    )


def _visible(row: Any, gln: str, removed: Any = None) -> Any:
    """``row`` if ``gln`` sent or receives it; 410 ``letter-removed`` if it is a message of
    theirs the retention removed; NotFound for anything else (no existence leak)."""
    if row is None and removed is not None and gln in (removed.sender_gln, removed.receiver_gln):
        raise removed_error(removed)
    if row is None or gln not in (row.sender_gln, row.receiver_gln):
        raise NotFound("no such message for your organisation")
    return row


def _removed(conn: Connection, message_id: uuid.UUID) -> Any:
    return _REMOVED.first(conn, {"id": message_id})


def _message(conn: Connection, message_id: uuid.UUID, with_body: bool) -> tuple[Any, Any]:
    row = (_MESSAGE_BODY if with_body else _MESSAGE).first(conn, {"id": message_id})
    return row, (_removed(conn, message_id) if row is None else None)


async def message_for(
    *, reader: Reader, message_id: uuid.UUID, gln: str, with_body: bool = False
) -> Any:
    """A message that ``gln`` sent or receives; :class:`LetterRemoved` for one of theirs the
    retention removed, NotFound for any other (no existence leak)."""
    row, removed = await reader(_message, message_id, with_body)
    return _visible(row, gln, removed)


def _with_events(conn: Connection, message_id: uuid.UUID) -> tuple[Any, list[Any], Any]:
    row = _MESSAGE.first(conn, {"id": message_id})
    if row is None:
        return None, [], _removed(conn, message_id)
    return row, _EVENTS.rows(conn, {"id": message_id}), None


async def message_with_events(
    *, reader: Reader, message_id: uuid.UUID, gln: str
) -> tuple[Any, list[Any]]:
    """A message ``gln`` sent or receives and its status history, read together
    (:class:`LetterRemoved` for one the retention removed)."""
    row, events, removed = await reader(_with_events, message_id)
    return _visible(row, gln, removed), events


# --- delivery writes (bulk writes and ops for the committer) ----------------------------------

_LOCKED = Lookup(  # PostgreSQL: one lock order for every process
    select(M.id, M.status, M.in_inbox, M.receiver_gln, _CONSUMED_BY), [M.id], lock_order=M.id
)
_DOWNLOADED = UpdateEach(
    update(MESSAGE)
    .where(M.status == MessageStatus.ACCEPTED.value)
    .values(status=MessageStatus.DOWNLOADED.value, updated_at=bindparam("now")),
    M.id,
)
_ACKNOWLEDGE = UpdateEach(
    update(MESSAGE)
    .where(M.status == bindparam("old"))
    .values(
        status=bindparam("new"), in_inbox=False, leased_until=None, updated_at=bindparam("now")
    ),
    M.id,
)


def _locked(conn: Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The rows of ``ids`` as they are now, locked until the group commits (PostgreSQL
    ``FOR UPDATE``; on SQLite the committer holds the write lock)."""
    return {row.id: row for row in _LOCKED.rows(conn, ((i,) for i in ids))}


def mark_downloaded(conn: Connection, batch: Batch, items: list[Any]) -> list[Any]:
    """Bulk write: the receiver fetched these messages (``uuid.UUID`` each) for the first
    time; per item whether its status changed. One UPDATE for the group."""
    ids: list[uuid.UUID] = items
    rows = _locked(conn, ids)
    changing = {
        i
        for i, row in rows.items()
        if MessageStatus(row.status).can_become(MessageStatus.DOWNLOADED)
    }
    if changing:
        _DOWNLOADED.run(conn, [(sorted(changing), {"now": batch.now})])
        follow_letters(conn, batch, sorted(changing), MessageStatus.DOWNLOADED)
    results: list[Any] = []
    for message_id in ids:
        first = message_id in changing
        if first:
            batch.event(message_id, MessageStatus.DOWNLOADED)
            changing.discard(message_id)
        results.append(first)
    return results


def acknowledge(conn: Connection, batch: Batch, items: list[Any]) -> list[Any]:
    """Bulk write: receivers took these messages (``(id, receiver GLN, party)`` each) into
    their own systems (idempotent); per item the status after, or the error for that request
    (409 :class:`ConsumedElsewhere` when ``party`` does not own the receiver's mailbox). One
    UPDATE per status the messages had."""
    asked: list[tuple[uuid.UUID, str, LettersConsumedBy]] = items
    rows = _locked(conn, [message_id for message_id, _, _ in asked])
    status = {i: MessageStatus(row.status) for i, row in rows.items()}
    inbox = {i for i, row in rows.items() if row.in_inbox}
    changes: dict[tuple[MessageStatus, MessageStatus], list[uuid.UUID]] = {}
    results: list[Any] = []
    for message_id, gln, party in asked:
        row = rows.get(message_id)
        if row is None:
            removed = _removed(conn, message_id)  # only for an id no message has
            if removed is not None and removed.receiver_gln == gln:
                results.append(removed_error(removed))
                continue
        if row is None or row.receiver_gln != gln:
            results.append(NotFound("no such message in your inbox"))
            continue
        owner = row.consumed_by or LettersConsumedBy.SYSTEM.value
        if party.value != owner:
            results.append(ConsumedElsewhere.by(owner))
            continue
        current = status[message_id]
        if message_id not in inbox:
            if current is MessageStatus.EXPIRED:
                results.append(Conflict("the message expired before it was acknowledged"))
            else:
                results.append(current)
            continue
        acknowledged = current.can_become(MessageStatus.ACKNOWLEDGED)
        new = transition(current, MessageStatus.ACKNOWLEDGED) if acknowledged else current
        changes.setdefault((current, new), []).append(message_id)
        if new is not current:
            batch.event(message_id, new)
        status[message_id] = new
        inbox.discard(message_id)
        results.append(new)
    _ACKNOWLEDGE.run(
        conn,
        [
            (ids, {"old": old.value, "new": new.value, "now": batch.now})
            for (old, new), ids in changes.items()
        ],
    )
    taken = [
        i for (_, new), ids in changes.items() if new is MessageStatus.ACKNOWLEDGED for i in ids
    ]
    follow_letters(conn, batch, sorted(taken), MessageStatus.ACKNOWLEDGED)
    return results


_LEASABLE_ROWS = (
    select(*_INBOX_COLUMNS)
    .where(
        M.receiver_gln == bindparam("gln"),
        M.in_inbox.is_(True),
        or_(M.leased_until.is_(None), M.leased_until <= bindparam("now")),
    )
    .order_by(M.received_at, M.id)
    .limit(bindparam("limit"))
)
_LEASABLE = ForEngine(lambda kind: kind.lock(_LEASABLE_ROWS, skip_locked=True))
_LEASE = (
    update(MESSAGE)
    .where(M.id.in_(bindparam("ids", expanding=True)))
    .values(leased_until=bindparam("until"))
)
_NEXT_LEASE_END = select(func.min(M.leased_until)).where(
    M.receiver_gln == bindparam("gln"), M.in_inbox.is_(True), M.leased_until > bindparam("now")
)


@dataclass(frozen=True, slots=True)
class Leased:
    """Messages handed to one consumer, and when the next lease held by another one ends."""

    rows: list[Any]
    next_release: datetime | None


def lease(gln: str, limit: int, seconds: float) -> SyncOp[Leased]:
    """Op: hand up to ``limit`` of ``gln``'s unacknowledged messages that no other consumer
    holds to this one, hidden from the others for ``seconds`` (competing consumers). A lease
    that runs out before the message is acknowledged makes it visible again: none is lost.

    PostgreSQL skips rows another transaction is leasing (``FOR UPDATE SKIP LOCKED``); on
    SQLite the committer's single writer serialises the leases.
    """

    def op(conn: Connection, batch: Batch) -> Leased:
        rows = list(
            conn.execute(_LEASABLE.of(conn), {"gln": gln, "now": batch.now, "limit": limit})
        )
        if rows:
            until = batch.now + timedelta(seconds=seconds)
            conn.execute(_LEASE, {"ids": [row.id for row in rows], "until": until})
        next_release = conn.execute(_NEXT_LEASE_END, {"gln": gln, "now": batch.now}).scalar()
        return Leased(rows, next_release)

    return op


def touch_poll(gln: str, at: datetime) -> SyncOp[None]:
    """Op: remember when an organisation's system last polled its inbox (for operators; the
    route calls it for the system token only, never for a person reading the inbox)."""

    def op(conn: Connection, batch: Batch) -> None:
        conn.execute(update(ORGANISATION).where(ORGANISATION.c.gln == gln).values(last_poll_at=at))

    return op


# --- counts for operators and metrics ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    by_status_type: list[tuple[str, str, int]]
    inbox_depth: dict[str, int]
    last_poll: dict[str, datetime | None]
    overdue: int
    expired: int


async def summary(*, engine: AsyncEngine) -> Summary:
    async with guarded(engine, write=False) as conn:
        by = (
            await conn.execute(select(M.status, M.type, func.count()).group_by(M.status, M.type))
        ).all()
        depth = (
            await conn.execute(
                select(M.receiver_gln, func.count())
                .where(M.in_inbox.is_(True))
                .group_by(M.receiver_gln)
            )
        ).all()
        polls = (await conn.execute(select(ORGANISATION.c.gln, ORGANISATION.c.last_poll_at))).all()
        overdue = await conn.scalar(
            select(func.count()).select_from(MESSAGE).where(M.overdue.is_(True))
        )
    counts = [(str(s), str(t), int(n)) for s, t, n in by]
    return Summary(
        by_status_type=counts,
        inbox_depth={str(g): int(n) for g, n in depth},
        last_poll={str(g): at for g, at in polls},
        overdue=int(overdue or 0),
        expired=sum(n for s, _t, n in counts if s == MessageStatus.EXPIRED.value),
    )


async def ping(*, engine: AsyncEngine) -> None:
    async with guarded(engine, write=False) as conn:
        await conn.scalar(select(1))
