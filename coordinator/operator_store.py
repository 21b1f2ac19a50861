"""What the operator monitor reads and does: throughput, a message's trail, an organisation's
queue, and the audited actions (re-deliver, status report, token on/off).

Operators see metadata only: no read here selects a message body, and nothing returned holds
a CPR number. Actions are committer ops that write their :mod:`coordinator.audit_tables` row
in the same transaction as the change. SQLAlchemy errors become
:class:`~coordinator.errors.StoreError` here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator import revocation
from coordinator.audit_tables import OPERATOR_AUDIT, AuditAction
from coordinator.committer import Batch
from coordinator.errors import Conflict, NotFound, OrganisationExists, StoreError
from coordinator.heartbeat import ALIVE_WITHIN
from coordinator.status import MessageStatus
from coordinator.store import new_token, token_hash
from coordinator.tables import (
    CREDENTIAL,
    HUB_PROCESS,
    MESSAGE,
    MESSAGE_EVENT,
    ORGANISATION,
    OrganisationCreate,
    Role,
)
from messages.identifiers import new_message_id
from messages.medcom.model import MessageType

M = MESSAGE.c
NAME_MAX = 200
"""The longest organisation or credential name the hub stores."""
LETTER_TYPES = (MessageType.XDIS91.value, MessageType.XBIN01.value)
RECEIPT_TYPES = (MessageType.XCTL01.value, MessageType.XCTL02.value, MessageType.XCTL03.value)
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


@dataclass(frozen=True, slots=True)
class Actor:
    """The operator doing something, for the audit trail."""

    credential_id: uuid.UUID
    name: str
    org_gln: str


def _store_error(exc: SQLAlchemyError) -> StoreError:
    return StoreError(f"the message store is unavailable ({type(exc).__name__}); try again")


# --- reads -----------------------------------------------------------------------------------


async def throughput(*, engine: AsyncEngine, now: datetime, minutes: int) -> dict[str, list[int]]:
    """Messages accepted per minute by type over the last ``minutes`` minutes, oldest first."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(M.type, M.received_at).where(M.received_at >= start))
            ).all()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    series: dict[str, list[int]] = {}
    for kind, at in rows:
        slot = int((at - start).total_seconds() // 60)
        if 0 <= slot < minutes:
            series.setdefault(str(kind), [0] * minutes)[slot] += 1
    return dict(sorted(series.items()))


async def message_meta(*, engine: AsyncEngine, message_id: uuid.UUID) -> Any:
    """A message's metadata (never its body); NotFound if there is none."""
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(select(*META_COLUMNS).where(M.id == message_id))).first()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    if row is None:
        raise NotFound("no such message")
    return row


async def trail(*, engine: AsyncEngine, message_id: uuid.UUID) -> list[Any]:
    e = MESSAGE_EVENT.c
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(e.status, e.at).where(e.message_id == message_id).order_by(e.at, e.id)
            )
            return list(result.all())
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


async def queue(
    *, engine: AsyncEngine, gln: str, limit: int, status: MessageStatus | None = None
) -> list[Any]:
    """What waits in ``gln``'s inbox, oldest first (metadata only); with ``status``, the
    messages to ``gln`` in that status instead, newest first (e.g. expired, to re-deliver)."""
    try:
        async with engine.connect() as conn:
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
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


@dataclass(frozen=True, slots=True)
class OrganisationState:
    gln: str
    name: str
    sector: str
    inbox_depth: int
    oldest_waiting: datetime | None
    last_poll: datetime | None
    token_disabled: bool


async def organisations(*, engine: AsyncEngine) -> list[OrganisationState]:
    """Every organisation with its inbox depth, oldest waiting message, last poll and whether
    its system token is disabled."""
    o, c = ORGANISATION.c, CREDENTIAL.c
    try:
        async with engine.connect() as conn:
            orgs = (
                await conn.execute(select(o.gln, o.name, o.sector, o.last_poll_at).order_by(o.gln))
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
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    states = []
    for gln, name, sector, last_poll in orgs:
        n, oldest = depth.get(gln, (0, None))
        if isinstance(oldest, str):  # SQLite's MIN() bypasses the column type
            oldest = datetime.fromisoformat(oldest + "+00:00")
        states.append(OrganisationState(gln, name, sector, n, oldest, last_poll, gln not in active))
    return states


@dataclass(frozen=True, slots=True)
class Processes:
    """The hub processes on this database: those seen within
    :data:`~coordinator.heartbeat.ALIVE_WITHIN` (oldest start first), and how many others
    have stopped heartbeating without a graceful stop."""

    alive: list[Any]
    stale: int


async def processes(*, engine: AsyncEngine, now: datetime) -> Processes:
    p = HUB_PROCESS.c
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(p.id, p.host, p.pid, p.version, p.started_at, p.seen_at).order_by(
                        p.started_at, p.id
                    )
                )
            ).all()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    since = now - ALIVE_WITHIN
    alive = [row for row in rows if row.seen_at >= since]
    return Processes(alive=alive, stale=len(rows) - len(alive))


async def audit_entries(*, engine: AsyncEngine, limit: int) -> list[Any]:
    a = OPERATOR_AUDIT.c
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(a.id, a.at, a.action, a.target, a.result, a.actor_name, a.actor_org)
                .order_by(a.at.desc(), a.id)
                .limit(limit)
            )
            return list(result.all())
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


# --- actions (committer ops, each audited in its own transaction) ---------------------------


async def _audit(
    conn: AsyncConnection,
    batch: Batch,
    actor: Actor,
    action: AuditAction,
    target: str,
    result: str | None,
) -> None:
    await conn.execute(
        insert(OPERATOR_AUDIT).values(
            id=uuid.uuid4(),
            at=batch.now,
            actor_credential=actor.credential_id,
            actor_name=actor.name,
            actor_org=actor.org_gln,
            action=action.value,
            target=target,
            result=result,
        )
    )


async def _copy(
    conn: AsyncConnection, batch: Batch, source: uuid.UUID, **changes: Any
) -> uuid.UUID:
    """A new inbox entry with ``source``'s body (byte for byte) and a hub-made envelope id, so
    the store's identity rule (sender, envelope, letter) holds; receipts still link by letter."""
    row = (await conn.execute(select(MESSAGE).where(M.id == source))).mappings().one()
    new_id = uuid.uuid4()
    values = dict(row)
    values.update(
        id=new_id,
        envelope_id=new_message_id(),
        status=MessageStatus.ACCEPTED.value,
        in_inbox=True,
        received_at=batch.now,
        updated_at=batch.now,
        receipt_id=None,
        overdue=False,
    )
    values.update(changes)
    await conn.execute(insert(MESSAGE).values(**values))
    batch.event(new_id, MessageStatus.ACCEPTED)
    batch.wake.add(str(values["receiver_gln"]))
    return new_id


def redeliver(message_id: uuid.UUID, actor: Actor) -> Any:
    """Op: put an expired letter in its receiver's inbox again, as a resend of the original."""

    async def op(conn: AsyncConnection, batch: Batch) -> uuid.UUID:
        row = (await conn.execute(select(M.type, M.status).where(M.id == message_id))).first()
        if row is None:
            raise NotFound("no such message")
        if row.type not in LETTER_TYPES or row.status != MessageStatus.EXPIRED.value:
            raise Conflict(
                f"only an expired letter is re-delivered; this {row.type} is {row.status}",
                code="not-expired",
            )
        new_id = await _copy(conn, batch, message_id, is_resend=True, resend_of=message_id)
        await _audit(conn, batch, actor, AuditAction.REDELIVER, str(message_id), str(new_id))
        return new_id

    return op


def status_report(message_id: uuid.UUID, actor: Actor) -> Any:
    """Op: put the receipt that answered a letter (XCTL01/02/03) in its sender's inbox again."""

    async def op(conn: AsyncConnection, batch: Batch) -> uuid.UUID:
        row = (await conn.execute(select(M.type, M.receipt_id).where(M.id == message_id))).first()
        if row is None:
            raise NotFound("no such message")
        if row.type not in LETTER_TYPES:
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
        await _audit(conn, batch, actor, AuditAction.STATUS_REPORT, str(message_id), str(new_id))
        return new_id

    return op


def set_token(gln: str, *, disabled: bool, actor: Actor) -> Any:
    """Op: disable or enable an organisation's system token(s); how many changed."""

    async def op(conn: AsyncConnection, batch: Batch) -> int:
        known = await conn.scalar(select(ORGANISATION.c.gln).where(ORGANISATION.c.gln == gln))
        if known is None:
            raise NotFound(f"no organisation with GLN {gln} is registered")
        c = CREDENTIAL.c
        which = [c.org_gln == gln, c.role == Role.SYSTEM.value, c.disabled.is_(not disabled)]
        if not disabled:  # only the newest: a token revoked by a rotation stays revoked
            newest = await conn.scalar(
                select(c.id)
                .where(c.org_gln == gln, c.role == Role.SYSTEM.value)
                .order_by(c.created_at.desc())
                .limit(1)
            )
            which.append(c.id == newest)
        result = await conn.execute(update(CREDENTIAL).where(*which).values(disabled=disabled))
        changed = int(result.rowcount)
        if disabled:
            await revocation.announce(conn)  # every hub process forgets the token at once
        action = AuditAction.DISABLE_TOKEN if disabled else AuditAction.ENABLE_TOKEN
        await _audit(conn, batch, actor, action, gln, f"{changed} token(s) changed")
        return changed

    return op


def add_organisation(organisation: OrganisationCreate, actor: Actor) -> Any:
    """Op: the organisation, its system credential and the audit row; ``(org id, token)``."""

    async def op(conn: AsyncConnection, batch: Batch) -> tuple[uuid.UUID, str]:
        gln = organisation.gln
        taken = await conn.scalar(select(ORGANISATION.c.gln).where(ORGANISATION.c.gln == gln))
        if taken is not None:
            raise OrganisationExists(
                f"an organisation with GLN {gln} is registered; its token is not shown again "
                "(rotate it with 'samspil org token')"
            )
        org_id, credential_id, token = uuid.uuid4(), uuid.uuid4(), new_token()
        await conn.execute(
            insert(ORGANISATION).values(
                id=org_id, created_at=batch.now, last_poll_at=None, **organisation.model_dump()
            )
        )
        await conn.execute(
            insert(CREDENTIAL).values(
                id=credential_id,
                org_gln=gln,
                name=f"{organisation.name} system"[:NAME_MAX],
                role=Role.SYSTEM.value,
                token_hash=token_hash(token),
                disabled=False,
                created_at=batch.now,
                expires_at=None,
            )
        )
        await conn.execute(
            insert(OPERATOR_AUDIT).values(
                id=uuid.uuid4(),
                at=batch.now,
                actor_credential=actor.credential_id,
                actor_name=actor.name,
                actor_org=actor.org_gln,
                action=AuditAction.ADD_ORGANISATION.value,
                target=gln,
                result=f"system credential {credential_id}",
            )
        )
        return org_id, token

    return op
