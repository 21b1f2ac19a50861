"""What the operator monitor reads and does: throughput, a message's trail, an organisation's
queue, the index's daily counts per organisation (new children, attested consents), and the
audited actions (re-deliver, status report, token on/off).

Operators see metadata only: no read here selects a message body, and nothing returned holds
a CPR number. Actions are committer ops that write their :mod:`coordinator.operations.audit_tables`
row
in the same transaction as the change. SQLAlchemy errors become
:class:`~coordinator.errors.StoreError` here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.database.committer import Batch
from coordinator.database.engine import guarded
from coordinator.database.keys import new_key
from coordinator.errors import Conflict, LetterRemoved, NotFound
from coordinator.index.tables import CASE, CONSENT
from coordinator.mailbox.status import MessageStatus
from coordinator.operations.audit_tables import OPERATOR_AUDIT, Actor, AuditAction, write_audit
from coordinator.operations.heartbeat import ALIVE_WITHIN
from coordinator.tables import (
    CREDENTIAL,
    HUB_PROCESS,
    MESSAGE,
    MESSAGE_EVENT,
    ORGANISATION,
    REMOVED_MESSAGE,
    Role,
    new_message_row,
)
from messages.identifiers import new_message_id
from messages.medcom.model import MessageType
from wire.index import ConsentVerification
from wire.operator import RateKind

M = MESSAGE.c
META_COLUMNS = (
    M.id,
    M.type,
    M.sender_gln,
    M.receiver_gln,
    M.envelope_id,
    M.letter_id,
    M.episode_id,
    M.ack_requested,
    M.status,
    M.in_inbox,
    M.is_resend,
    M.resend_of,
    M.original_id,
    M.receipt_id,
    M.overdue,
    M.size,
    M.received_at,
    M.updated_at,
)


# --- reads -----------------------------------------------------------------------------------


async def throughput(*, engine: AsyncEngine, now: datetime, minutes: int) -> dict[str, list[int]]:
    """Messages accepted per minute by type over the last ``minutes`` minutes, oldest first."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    async with guarded(engine, write=False) as conn:
        rows = (
            await conn.execute(select(M.type, M.received_at).where(M.received_at >= start))
        ).all()
    series: dict[str, list[int]] = {}
    for kind, at in rows:
        slot = int((at - start).total_seconds() // 60)
        if 0 <= slot < minutes:
            series.setdefault(str(kind), [0] * minutes)[slot] += 1
    return dict(sorted(series.items()))


async def _gone(conn: AsyncConnection, message_id: uuid.UUID) -> NotFound | LetterRemoved:
    """Why there is no message ``message_id``: the letter retention removed it (410), or
    there never was one (404)."""
    r = REMOVED_MESSAGE.c
    removed = (
        await conn.execute(
            select(r.type, r.status, r.updated_at, r.removed_at).where(r.id == message_id)
        )
    ).first()
    if removed is None:
        return NotFound("no such message")
    return LetterRemoved.of(
        kind=removed.type,
        status=removed.status,
        changed_at=removed.updated_at,
        removed_at=removed.removed_at,
    )


async def message_meta(*, engine: AsyncEngine, message_id: uuid.UUID) -> Any:
    """A message's metadata (never its body); :class:`LetterRemoved` if the letter
    retention removed it, NotFound if there is none."""
    async with guarded(engine, write=False) as conn:
        row = (await conn.execute(select(*META_COLUMNS).where(M.id == message_id))).first()
        if row is None:
            raise await _gone(conn, message_id)
    return row


async def trail(*, engine: AsyncEngine, message_id: uuid.UUID) -> list[Any]:
    e = MESSAGE_EVENT.c
    async with guarded(engine, write=False) as conn:
        result = await conn.execute(
            select(e.status, e.at).where(e.message_id == message_id).order_by(e.at, e.id)
        )
        return list(result.all())


async def queue(
    *, engine: AsyncEngine, gln: str, limit: int, status: MessageStatus | None = None
) -> list[Any]:
    """What waits in ``gln``'s inbox, oldest first (metadata only); with ``status``, the
    messages to ``gln`` in that status instead, newest first (e.g. expired, to re-deliver)."""
    async with guarded(engine, write=False) as conn:
        known = await conn.scalar(select(ORGANISATION.c.gln).where(ORGANISATION.c.gln == gln))
        if known is None:
            raise NotFound(f"no organisation with GLN {gln} is registered")
        query = select(*META_COLUMNS).where(M.receiver_gln == gln).limit(limit)
        if status is None:
            query = query.where(M.in_inbox.is_(True)).order_by(M.received_at, M.id)
        else:
            query = query.where(M.status == status.value).order_by(M.received_at.desc(), M.id)
        result = await conn.execute(query)
        return list(result.all())


@dataclass(frozen=True, slots=True)
class OrganisationState:
    gln: str
    name: str
    sector: str
    inbox_depth: int
    oldest_waiting: datetime | None
    last_poll: datetime | None
    token_disabled: bool
    letters_consumed_by: str
    format: str


async def organisations(*, engine: AsyncEngine) -> list[OrganisationState]:
    """Every organisation with its inbox depth, oldest waiting message, last poll and whether
    its system token is disabled, who takes its letters in, and its letter format."""
    o, c = ORGANISATION.c, CREDENTIAL.c
    async with guarded(engine, write=False) as conn:
        orgs = (
            await conn.execute(
                select(
                    o.gln, o.name, o.sector, o.last_poll_at, o.letters_consumed_by, o.format
                ).order_by(o.gln)
            )
        ).all()
        depth = {
            str(g): (int(n), oldest)
            for g, n, oldest in (
                await conn.execute(
                    select(M.receiver_gln, func.count(), func.min(M.received_at))
                    .where(M.in_inbox.is_(True))
                    .group_by(M.receiver_gln)
                )
            ).all()
        }
        active = set(  # a rotation leaves old tokens disabled: "disabled" is none active
            await conn.scalars(
                select(c.org_gln).where(c.role == Role.SYSTEM.value, c.disabled.is_(False))
            )
        )
    states = []
    for gln, name, sector, last_poll, consumed_by, fmt in orgs:
        n, oldest = depth.get(gln, (0, None))
        if isinstance(oldest, str):  # SQLite's MIN() bypasses the column type
            oldest = datetime.fromisoformat(oldest + "+00:00")
        states.append(
            OrganisationState(
                gln, name, sector, n, oldest, last_poll, gln not in active, consumed_by, fmt
            )
        )
    return states


# --- the index's daily counts (the stolen-token signal) -----------------------------------

COUNTED_DAYS = 15
"""Today and the 14 days before it (UTC days)."""


def _day_of(at: Any) -> ColumnElement[int]:
    """Which counted day ``at`` falls on: 0 the oldest, ``COUNTED_DAYS - 1`` today (the days'
    starts are the parameters ``day0``... ``day14``: the same SQL on both databases)."""
    whens = [(at >= bindparam(f"day{n}"), n) for n in reversed(range(COUNTED_DAYS))]
    return case(*whens, else_=-1)


def _per_day(rows: Any) -> Any:
    """``(organisation, day, count)`` per organisation and day of a subquery of rows."""
    return select(rows.c.org, rows.c.day, func.count()).group_by(rows.c.org, rows.c.day)


_C, _W, _K = CASE.alias("c").c, CASE.alias("w").c, CONSENT.c
# per organisation: each registered GLN probes the (organisation, time) index for the counted
# days, without a table scan and without needing the planner's statistics
_EACH_ORGANISATION = select(ORGANISATION.c.gln).scalar_subquery()
# the organisation's first case for the child: a probe of the child's cases (the cpr index;
# "|| ''" keeps both planners off the organisation index, which would scan all its cases)
_FIRST_OF_CHILD = (
    select(func.min(_C.created_at))
    .where(_C.cpr == _W.cpr, _C.org_gln.concat("") == _W.org_gln)
    .scalar_subquery()
)
# the cases created in the counted days that are their organisation's first for the child: a
# child the organisation had no case for (cases created at one moment for one child: one)
_FIRST_CASES = (
    select(_W.org_gln.label("org"), _W.cpr, _day_of(_W.created_at).label("day"))
    .where(
        _W.org_gln.in_(_EACH_ORGANISATION),
        _W.created_at >= bindparam("day0"),
        _W.created_at < bindparam("end"),
        _W.created_at == _FIRST_OF_CHILD,
    )
    .distinct()
    .subquery()
)
_NEW_CHILDREN = _per_day(_FIRST_CASES)
# consents a caseworker attested (not verified by the consent service), by recorder and day;
# read by (recorded_by_org, recorded_at)
_ATTESTED_CONSENTS = _per_day(
    select(_K.recorded_by_org.label("org"), _day_of(_K.recorded_at).label("day"))
    .where(
        _K.recorded_by_org.in_(_EACH_ORGANISATION),
        _K.verification == ConsentVerification.ATTESTED.value,
        _K.recorded_at >= bindparam("day0"),
        _K.recorded_at < bindparam("end"),
    )
    .subquery()
)


@dataclass(frozen=True, slots=True)
class DailyCounts:
    """One organisation's count of one kind on each counted day, the oldest first, today
    last (``COUNTED_DAYS`` of them)."""

    organisation: str
    name: str
    kind: RateKind
    days: tuple[int, ...]


async def daily_index_counts(*, engine: AsyncEngine, today: date) -> list[DailyCounts]:
    """Per organisation with any in the counted days (``today`` and the 14 UTC days before
    it): children registered that it had no case for (:attr:`RateKind.NEW_CHILDREN`) and
    attested consents it recorded (:attr:`RateKind.ATTESTED_CONSENTS`), per day; sorted by
    organisation, then kind."""
    first = datetime.combine(today - timedelta(days=COUNTED_DAYS - 1), time(), UTC)
    params: dict[str, Any] = {f"day{n}": first + timedelta(days=n) for n in range(COUNTED_DAYS)}
    params["end"] = first + timedelta(days=COUNTED_DAYS)
    counts: dict[tuple[str, RateKind], list[int]] = {}
    async with guarded(engine, write=False) as conn:
        for kind, statement in (
            (RateKind.NEW_CHILDREN, _NEW_CHILDREN),
            (RateKind.ATTESTED_CONSENTS, _ATTESTED_CONSENTS),
        ):
            for org, day, n in (await conn.execute(statement, params)).all():
                if 0 <= day < COUNTED_DAYS:
                    counts.setdefault((org, kind), [0] * COUNTED_DAYS)[day] = int(n)
        names: dict[str, str] = {}
        if counts:
            o = ORGANISATION.c
            glns = sorted({org for org, _ in counts})
            names = dict((await conn.execute(select(o.gln, o.name).where(o.gln.in_(glns)))).all())
    return [
        DailyCounts(org, names.get(org, org), kind, tuple(days))
        for (org, kind), days in sorted(counts.items())
    ]


@dataclass(frozen=True, slots=True)
class Processes:
    """The hub processes on this database: those seen within
    :data:`~coordinator.operations.heartbeat.ALIVE_WITHIN` (oldest start first), and how many others
    have stopped heartbeating without a graceful stop."""

    alive: list[Any]
    stale: int


async def processes(*, engine: AsyncEngine, now: datetime) -> Processes:
    p = HUB_PROCESS.c
    async with guarded(engine, write=False) as conn:
        rows = (
            await conn.execute(
                select(p.id, p.host, p.pid, p.version, p.started_at, p.seen_at).order_by(
                    p.started_at, p.id
                )
            )
        ).all()
    since = now - ALIVE_WITHIN
    alive = [row for row in rows if row.seen_at >= since]
    return Processes(alive=alive, stale=len(rows) - len(alive))


async def audit_entries(*, engine: AsyncEngine, limit: int) -> list[Any]:
    a = OPERATOR_AUDIT.c
    async with guarded(engine, write=False) as conn:
        result = await conn.execute(
            select(a.id, a.at, a.action, a.target, a.result, a.actor_name, a.actor_org)
            .order_by(a.at.desc(), a.id)
            .limit(limit)
        )
        return list(result.all())


# --- actions (committer ops, each audited in its own transaction) ---------------------------


async def _copy(
    conn: AsyncConnection,
    batch: Batch,
    source: uuid.UUID,
    *,
    resend_of: uuid.UUID | None = None,
    original_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A new inbox entry with ``source``'s body (byte for byte) and a hub-made envelope id, so
    the store's identity rule (sender, envelope, letter) holds; receipts still link by letter."""
    row = (await conn.execute(select(MESSAGE).where(M.id == source))).first()
    if row is None:
        raise await _gone(conn, source)
    new_id = new_key()
    values = new_message_row(
        id=new_id,
        type=row.type,
        sender_gln=row.sender_gln,
        receiver_gln=row.receiver_gln,
        envelope_id=new_message_id(),
        letter_id=row.letter_id,
        body=row.body,
        received_at=batch.now,
        episode_id=row.episode_id,
        ack_requested=row.ack_requested,
        resend_of=resend_of or row.resend_of,
        original_id=original_id or row.original_id,
        patient_cpr=row.patient_cpr,
        subject=row.subject,
        in_reply_to=row.in_reply_to,
        sent_as=row.sent_as,
        body_type=row.body_type,
        original=row.original,
        fhir_bundle_id=row.fhir_bundle_id,
        fhir_message_id=row.fhir_message_id,
    )
    await conn.execute(insert(MESSAGE).values(**values))
    batch.event(new_id, MessageStatus.ACCEPTED)
    batch.wake.add(str(values["receiver_gln"]))
    return new_id


def redeliver(message_id: uuid.UUID, actor: Actor) -> Any:
    """Op: put an expired letter in its receiver's inbox again, as a resend of the original."""

    async def op(conn: AsyncConnection, batch: Batch) -> uuid.UUID:
        row = (await conn.execute(select(M.type, M.status).where(M.id == message_id))).first()
        if row is None:
            raise await _gone(conn, message_id)
        if not MessageType(row.type).is_letter or row.status != MessageStatus.EXPIRED.value:
            raise Conflict(
                f"only an expired letter is re-delivered; this {row.type} is {row.status}",
                code="not-expired",
            )
        new_id = await _copy(conn, batch, message_id, resend_of=message_id)
        await write_audit(
            conn,
            at=batch.now,
            actor=actor,
            action=AuditAction.REDELIVER,
            target=str(message_id),
            result=str(new_id),
        )
        return new_id

    return op


def status_report(message_id: uuid.UUID, actor: Actor) -> Any:
    """Op: put the receipt that answered a letter (XCTL01/02/03) in its sender's inbox again."""

    async def op(conn: AsyncConnection, batch: Batch) -> uuid.UUID:
        row = (await conn.execute(select(M.type, M.receipt_id).where(M.id == message_id))).first()
        if row is None:
            raise await _gone(conn, message_id)
        if not MessageType(row.type).is_letter:
            raise Conflict(
                "a status report is sent for a letter, not a receipt", code="not-a-letter"
            )
        if row.receipt_id is None:
            raise Conflict(
                "the letter has no receipt yet: nothing to report (its sender sees its status "
                "in GET /v1/outbox)",
                code="no-receipt-yet",
            )
        new_id = await _copy(conn, batch, row.receipt_id, original_id=message_id)
        await write_audit(
            conn,
            at=batch.now,
            actor=actor,
            action=AuditAction.STATUS_REPORT,
            target=str(message_id),
            result=str(new_id),
        )
        return new_id

    return op
