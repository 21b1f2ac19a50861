"""Reading the store, registering organisations and users, and the delivery writes.

Persistence functions are keyword-only and async. Reads use the engine directly; writes are
ops run by the :class:`~coordinator.committer.Committer` (their first two arguments are the
committer's connection and batch). SQLAlchemy errors are translated to
:class:`~coordinator.errors.StoreError` here and in the committer, never further out.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.committer import Batch
from coordinator.errors import Conflict, NotFound, OrganisationExists, StoreError
from coordinator.sqltypes import utcnow
from coordinator.status import MessageStatus
from coordinator.tables import (
    CREDENTIAL,
    MESSAGE,
    MESSAGE_EVENT,
    ORGANISATION,
    OrganisationCreate,
    OrganisationPublic,
    Role,
)

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


def _store_error(exc: SQLAlchemyError) -> StoreError:
    return StoreError(f"the message store is unavailable ({type(exc).__name__}); try again")


# --- organisations and credentials -------------------------------------------------------


async def create_organisation(
    *, engine: AsyncEngine, organisation: OrganisationCreate
) -> tuple[OrganisationPublic, str]:
    """Register an organisation with a system token; the organisation and the token."""
    now = utcnow()
    org_id = uuid.uuid4()
    token = new_token()
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(ORGANISATION).values(
                    id=org_id, created_at=now, last_poll_at=None, **organisation.model_dump()
                )
            )
            await conn.execute(
                insert(CREDENTIAL).values(
                    id=uuid.uuid4(),
                    org_gln=organisation.gln,
                    name=f"{organisation.name} system",
                    role=Role.SYSTEM.value,
                    token_hash=token_hash(token),
                    disabled=False,
                    created_at=now,
                )
            )
    except IntegrityError as exc:
        raise OrganisationExists(f"an organisation with GLN {organisation.gln} exists") from exc
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    public = OrganisationPublic(id=org_id, created_at=now, **organisation.model_dump())
    return public, token


async def create_user(*, engine: AsyncEngine, org_gln: str, name: str, role: Role) -> str:
    """A credential for a person of an organisation; its token."""
    token = new_token()
    try:
        async with engine.begin() as conn:
            known = await conn.scalar(
                select(ORGANISATION.c.gln).where(ORGANISATION.c.gln == org_gln)
            )
            if known is None:
                raise NotFound(f"no organisation with GLN {org_gln} is registered")
            await conn.execute(
                insert(CREDENTIAL).values(
                    id=uuid.uuid4(),
                    org_gln=org_gln,
                    name=name,
                    role=role.value,
                    token_hash=token_hash(token),
                    disabled=False,
                    created_at=utcnow(),
                )
            )
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    return token


async def list_organisations(*, engine: AsyncEngine) -> list[OrganisationPublic]:
    o = ORGANISATION.c
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(ORGANISATION).order_by(o.gln))).all()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    return [OrganisationPublic.model_validate(dict(row._mapping)) for row in rows]


async def registered_glns(*, engine: AsyncEngine, glns: Sequence[str]) -> set[str]:
    """Which of ``glns`` are registered organisations."""
    try:
        async with engine.connect() as conn:
            found = await conn.scalars(
                select(ORGANISATION.c.gln).where(ORGANISATION.c.gln.in_(list(glns)))
            )
            return set(found)
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


async def find_credential(*, engine: AsyncEngine, hashed: str) -> CredentialRow | None:
    """The credential whose token hashes to ``hashed`` (lookup by hash: no timing oracle)."""
    c = CREDENTIAL.c
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(c.id, c.org_gln, c.name, c.role, c.disabled).where(
                        c.token_hash == hashed
                    )
                )
            ).first()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    if row is None:
        return None
    return CredentialRow(row.id, row.org_gln, row.name, Role(row.role), row.disabled)


# --- mailboxes -----------------------------------------------------------------------------


async def inbox(*, engine: AsyncEngine, gln: str, limit: int) -> list[Any]:
    """Messages for ``gln`` not yet acknowledged, oldest first."""
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(M.id, M.type, M.sender_gln, M.received_at, M.size, M.status)
                .where(M.receiver_gln == gln, M.in_inbox.is_(True))
                .order_by(M.received_at, M.id)
                .limit(limit)
            )
            return list(result.all())
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


async def outbox(
    *, engine: AsyncEngine, gln: str, status: MessageStatus | None, limit: int
) -> list[Any]:
    """Messages ``gln`` sent, newest first."""
    query = (
        select(
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
        )
        .where(M.sender_gln == gln)
        .order_by(M.received_at.desc(), M.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(M.status == status.value)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(query)).all())
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


async def message_for(
    *, engine: AsyncEngine, message_id: uuid.UUID, gln: str, with_body: bool = False
) -> Any:
    """A message that ``gln`` sent or receives; NotFound for any other (no existence leak)."""
    columns = [
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
    ]
    if with_body:
        columns.append(M.body)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(select(*columns).where(M.id == message_id))).first()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    if row is None or gln not in (row.sender_gln, row.receiver_gln):
        raise NotFound("no such message for your organisation")
    return row


async def events_of(*, engine: AsyncEngine, message_id: uuid.UUID) -> list[Any]:
    e = MESSAGE_EVENT.c
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(e.status, e.at).where(e.message_id == message_id).order_by(e.at, e.id)
            )
            return list(result.all())
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


# --- delivery writes (ops for the committer) -------------------------------------------------


def mark_downloaded(message_id: uuid.UUID) -> Any:
    """Op: the receiver fetched the message for the first time."""

    async def op(conn: AsyncConnection, batch: Batch) -> bool:
        result = await conn.execute(
            update(MESSAGE)
            .where(M.id == message_id, M.status == MessageStatus.ACCEPTED.value)
            .values(status=MessageStatus.DOWNLOADED.value, updated_at=batch.now)
        )
        if result.rowcount == 1:
            batch.event(message_id, MessageStatus.DOWNLOADED)
            return True
        return False

    return op


def acknowledge(message_id: uuid.UUID, gln: str) -> Any:
    """Op: the receiver took the message into its own system (idempotent)."""

    async def op(conn: AsyncConnection, batch: Batch) -> MessageStatus:
        row = (
            await conn.execute(
                select(M.status, M.in_inbox, M.receiver_gln).where(M.id == message_id)
            )
        ).first()
        if row is None or row.receiver_gln != gln:
            raise NotFound("no such message in your inbox")
        status = MessageStatus(row.status)
        if not row.in_inbox:
            if status is MessageStatus.EXPIRED:
                raise Conflict("the message expired before it was acknowledged")
            return status
        new = (
            status.to(MessageStatus.ACKNOWLEDGED)
            if status in (MessageStatus.ACCEPTED, MessageStatus.DOWNLOADED)
            else status
        )
        result = await conn.execute(
            update(MESSAGE)
            .where(M.id == message_id, M.in_inbox.is_(True), M.status == status.value)
            .values(status=new.value, in_inbox=False, updated_at=batch.now)
        )
        if result.rowcount != 1:  # another hub process changed it first: read it again
            return await op(conn, batch)
        if new is not status:
            batch.event(message_id, new)
        return new

    return op


def touch_poll(gln: str, at: datetime) -> Any:
    """Op: remember when an organisation last polled its inbox (for operators)."""

    async def op(conn: AsyncConnection, batch: Batch) -> None:
        await conn.execute(
            update(ORGANISATION).where(ORGANISATION.c.gln == gln).values(last_poll_at=at)
        )

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
    try:
        async with engine.connect() as conn:
            by = (
                await conn.execute(
                    select(M.status, M.type, func.count()).group_by(M.status, M.type)
                )
            ).all()
            depth = (
                await conn.execute(
                    select(M.receiver_gln, func.count())
                    .where(M.in_inbox.is_(True))
                    .group_by(M.receiver_gln)
                )
            ).all()
            polls = (
                await conn.execute(select(ORGANISATION.c.gln, ORGANISATION.c.last_poll_at))
            ).all()
            overdue = await conn.scalar(
                select(func.count()).select_from(MESSAGE).where(M.overdue.is_(True))
            )
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    counts = [(str(s), str(t), int(n)) for s, t, n in by]
    return Summary(
        by_status_type=counts,
        inbox_depth={str(g): int(n) for g, n in depth},
        last_poll={str(g): at for g, at in polls},
        overdue=int(overdue or 0),
        expired=sum(n for s, _t, n in counts if s == MessageStatus.EXPIRED.value),
    )


async def ping(*, engine: AsyncEngine) -> None:
    try:
        async with engine.connect() as conn:
            await conn.scalar(select(1))
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
