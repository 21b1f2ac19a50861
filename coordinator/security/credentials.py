"""Administering organisations and credentials, audited: the one place they are made.

``samspil org add``, ``samspil user add|disable``, ``samspil org token`` (rotate),
``samspil org disable|enable`` each run one transaction that makes the change **and** writes its
:mod:`coordinator.operations.audit_tables` row (who: the local OS user). The hub's routes make the
same
changes as committer ops (:func:`registration` for ``POST /v1/admin/organisations``,
:func:`token_switch` for an operator's disable/enable; who: the caller's credential); the
simulation and the tests register through these functions too. A change that takes a
credential away announces it to every hub process
(:func:`coordinator.security.revocation.announce`),
so a rotated or disabled token is refused on its next request. Tokens are returned once and
stored only as their SHA-256.
"""

from __future__ import annotations

import getpass
import socket
import uuid
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.database.committer import Batch, Op
from coordinator.database.engine import guarded
from coordinator.errors import NotFound, OrganisationExists, store_error
from coordinator.mailbox.store import new_token, token_hash
from coordinator.operations.audit_tables import Actor, AuditAction, write_audit
from coordinator.security import revocation
from coordinator.sqltypes import utcnow
from coordinator.tables import (
    CREDENTIAL,
    ORGANISATION,
    LettersConsumedBy,
    MessageFormat,
    OrganisationCreate,
    OrganisationPublic,
    Role,
)

LOCAL_ORG = "local"
_CLI_NAMESPACE = uuid.UUID("6f0d7c1e-5a53-4c1b-9a52-73616d737069")


def local_actor() -> Actor:
    """Who runs the command line: the OS user on this machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    name = f"{user}@{socket.gethostname()} (cli)"[:200]
    return Actor(uuid.uuid5(_CLI_NAMESPACE, name), name, LOCAL_ORG)


async def _credential(
    conn: AsyncConnection, *, gln: str, name: str, role: Role, expires_at: datetime | None
) -> tuple[uuid.UUID, str]:
    token = new_token()
    credential_id = uuid.uuid4()
    await conn.execute(
        insert(CREDENTIAL).values(
            id=credential_id,
            org_gln=gln,
            name=name,
            role=role.value,
            token_hash=token_hash(token),
            disabled=False,
            created_at=utcnow(),
            expires_at=expires_at,
        )
    )
    return credential_id, token


async def require_organisation(conn: AsyncConnection, gln: str) -> None:
    """404 unless ``gln`` is a registered organisation."""
    found = await conn.scalar(select(ORGANISATION.c.gln).where(ORGANISATION.c.gln == gln))
    if found is None:
        raise NotFound(f"no organisation with GLN {gln} is registered")


def _expiry(expires_at: datetime | None) -> str:
    return f", expires {expires_at.isoformat(timespec='seconds')}" if expires_at else ""


NAME_MAX = 200
"""The longest name of an organisation or a credential (the tables' ``name`` columns)."""


async def _add_organisation(
    conn: AsyncConnection,
    *,
    organisation: OrganisationCreate,
    actor: Actor,
    now: datetime,
    expires_at: datetime | None,
) -> tuple[OrganisationPublic, str]:
    """The organisation, its system credential and the audit row, in ``conn``'s transaction."""
    gln = organisation.gln
    taken = await conn.scalar(select(ORGANISATION.c.gln).where(ORGANISATION.c.gln == gln))
    if taken is not None:
        raise _exists(gln)
    org_id = uuid.uuid4()
    await conn.execute(
        insert(ORGANISATION).values(
            id=org_id, created_at=now, last_poll_at=None, **organisation.model_dump()
        )
    )
    credential_id, token = await _credential(
        conn,
        gln=gln,
        name=f"{organisation.name} system"[:NAME_MAX],
        role=Role.SYSTEM,
        expires_at=expires_at,
    )
    await write_audit(
        conn,
        at=now,
        actor=actor,
        action=AuditAction.ADD_ORGANISATION,
        target=gln,
        result=f"system credential {credential_id}{_expiry(expires_at)}, letters consumed by "
        f"{organisation.letters_consumed_by.value}, format {organisation.format.value}",
    )
    return OrganisationPublic(id=org_id, created_at=now, **organisation.model_dump()), token


def _exists(gln: str) -> OrganisationExists:
    return OrganisationExists(
        f"an organisation with GLN {gln} is registered; its token is not shown again "
        "(rotate it with 'samspil org token')"
    )


async def register_organisation(
    *,
    engine: AsyncEngine,
    organisation: OrganisationCreate,
    actor: Actor,
    expires_at: datetime | None = None,
) -> tuple[OrganisationPublic, str]:
    """Register an organisation with a system token (audited); the organisation and token.

    The one registration: ``samspil org add``, the tests and the simulation call this; the
    admin route runs the same write through the committer (:func:`registration`).
    """
    try:
        async with engine.begin() as conn:
            return await _add_organisation(
                conn, organisation=organisation, actor=actor, now=utcnow(), expires_at=expires_at
            )
    except IntegrityError as exc:  # registered by another process since the check
        raise _exists(organisation.gln) from exc
    except SQLAlchemyError as exc:
        raise store_error(exc, "the hub's database") from exc


def registration(
    organisation: OrganisationCreate, actor: Actor, expires_at: datetime | None = None
) -> Op[tuple[OrganisationPublic, str]]:
    """:func:`register_organisation` as a committer op (``Committer.call``), for the hub."""

    async def op(conn: AsyncConnection, batch: Batch) -> tuple[OrganisationPublic, str]:
        return await _add_organisation(
            conn, organisation=organisation, actor=actor, now=batch.now, expires_at=expires_at
        )

    return op


async def add_user(
    *,
    engine: AsyncEngine,
    org_gln: str,
    name: str,
    role: Role,
    actor: Actor,
    expires_at: datetime | None = None,
) -> str:
    """A credential for a person of an organisation (audited); its token."""
    async with guarded(engine, "the hub's database") as conn:
        await require_organisation(conn, org_gln)
        credential_id, token = await _credential(
            conn, gln=org_gln, name=name, role=role, expires_at=expires_at
        )
        await write_audit(
            conn,
            at=utcnow(),
            actor=actor,
            action=AuditAction.ADD_USER,
            target=org_gln,
            result=f"{role.value} credential {credential_id}{_expiry(expires_at)}",
        )
    return token


async def disable_user(*, engine: AsyncEngine, org_gln: str, name: str, actor: Actor) -> int:
    """Disable every enabled token of the person ``name`` of ``org_gln`` (a caseworker, an
    operator or an administrator; never the organisation's system token), audited; how many
    were disabled. Every hub process refuses them from their next request; ``samspil user
    add`` gives the person a new one."""
    c = CREDENTIAL.c
    async with guarded(engine, "the hub's database") as conn:
        await require_organisation(conn, org_gln)
        person = (
            c.org_gln == org_gln,
            c.name == name,
            c.role != Role.SYSTEM.value,
            c.disabled.is_(False),
        )
        ids = list(await conn.scalars(select(c.id).where(*person)))
        if ids:
            await conn.execute(update(CREDENTIAL).where(c.id.in_(ids)).values(disabled=True))
            await revocation.announce(conn)
        await write_audit(
            conn,
            at=utcnow(),
            actor=actor,
            action=AuditAction.DISABLE_TOKEN,
            target=org_gln,
            result=f"{len(ids)} user token(s) disabled"
            + (f": credential {', '.join(str(i) for i in ids)}" if ids else ""),
        )
    if ids:
        revocation.mark(engine)  # committed: running hubs on this SQLite file forget them
    return len(ids)


async def rotate_system_token(
    *, engine: AsyncEngine, gln: str, actor: Actor, expires_at: datetime | None = None
) -> str:
    """A new system token for ``gln``; every earlier one is disabled at once (audited)."""
    c = CREDENTIAL.c
    async with guarded(engine, "the hub's database") as conn:
        await require_organisation(conn, gln)
        name = await conn.scalar(select(ORGANISATION.c.name).where(ORGANISATION.c.gln == gln))
        revoked = await conn.execute(
            update(CREDENTIAL)
            .where(c.org_gln == gln, c.role == Role.SYSTEM.value, c.disabled.is_(False))
            .values(disabled=True)
        )
        credential_id, token = await _credential(
            conn, gln=gln, name=f"{name} system", role=Role.SYSTEM, expires_at=expires_at
        )
        await revocation.announce(conn)
        await write_audit(
            conn,
            at=utcnow(),
            actor=actor,
            action=AuditAction.ROTATE_TOKEN,
            target=gln,
            result=f"new credential {credential_id}, {int(revoked.rowcount)} revoked"
            f"{_expiry(expires_at)}",
        )
    revocation.mark(engine)  # committed: running hubs on this SQLite file forget the old one
    return token


async def _switch_system_token(
    conn: AsyncConnection, *, gln: str, disabled: bool, actor: Actor, at: datetime
) -> int:
    """Disable or enable ``gln``'s system token in ``conn``'s transaction (audited); how many
    changed. Enabling turns on only the newest one, so a token revoked by a rotation stays
    revoked; disabling announces it to every hub process."""
    c = CREDENTIAL.c
    await require_organisation(conn, gln)
    system = (c.org_gln == gln, c.role == Role.SYSTEM.value)
    if disabled:
        result = await conn.execute(
            update(CREDENTIAL).where(*system, c.disabled.is_(False)).values(disabled=True)
        )
        await revocation.announce(conn)
    else:
        newest = await conn.scalar(
            select(c.id).where(*system).order_by(c.created_at.desc()).limit(1)
        )
        result = await conn.execute(
            update(CREDENTIAL).where(c.id == newest, c.disabled.is_(True)).values(disabled=False)
        )
    changed = int(result.rowcount)
    await write_audit(
        conn,
        at=at,
        actor=actor,
        action=AuditAction.DISABLE_TOKEN if disabled else AuditAction.ENABLE_TOKEN,
        target=gln,
        result=f"{changed} token(s) changed",
    )
    return changed


async def set_system_token(*, engine: AsyncEngine, gln: str, disabled: bool, actor: Actor) -> int:
    """Disable or enable ``gln``'s newest system token (audited); how many changed.

    Enabling turns on only the newest one, so a token revoked by a rotation stays revoked.
    ``samspil org disable|enable`` calls this; an operator's route runs the same change
    through the committer (:func:`token_switch`).
    """
    async with guarded(engine, "the hub's database") as conn:
        changed = await _switch_system_token(
            conn, gln=gln, disabled=disabled, actor=actor, at=utcnow()
        )
    if disabled:
        revocation.mark(engine)
    return changed


def token_switch(gln: str, *, disabled: bool, actor: Actor) -> Op[int]:
    """:func:`set_system_token` as a committer op, for an operator's route (which makes the
    running hub processes forget the token once it has committed)."""

    async def op(conn: AsyncConnection, batch: Batch) -> int:
        return await _switch_system_token(
            conn, gln=gln, disabled=disabled, actor=actor, at=batch.now
        )

    return op


# --- who takes an organisation's letters in ----------------------------------------------


async def _switch_consumer(
    conn: AsyncConnection, *, gln: str, owner: LettersConsumedBy, actor: Actor, at: datetime
) -> bool:
    """Set who takes ``gln``'s letters out of its inbox, in ``conn``'s transaction (audited,
    also when it was so already); whether it changed."""
    o = ORGANISATION.c
    await require_organisation(conn, gln)
    before = await conn.scalar(select(o.letters_consumed_by).where(o.gln == gln))
    changed = before != owner.value
    if changed:
        await conn.execute(
            update(ORGANISATION).where(o.gln == gln).values(letters_consumed_by=owner.value)
        )
    await write_audit(
        conn,
        at=at,
        actor=actor,
        action=AuditAction.LETTERS_CONSUMED_BY,
        target=gln,
        result=f"letters consumed by {owner.value}"
        + (f" (was {before})" if changed else " (unchanged)"),
    )
    return changed


async def set_letters_consumer(
    *, engine: AsyncEngine, gln: str, owner: LettersConsumedBy, actor: Actor
) -> bool:
    """``samspil org letters GLN system|people``: who takes the organisation's letters in
    (audited); whether it changed. An operator's route runs the same change through the
    committer (:func:`consumer_switch`)."""
    async with guarded(engine, "the hub's database") as conn:
        return await _switch_consumer(conn, gln=gln, owner=owner, actor=actor, at=utcnow())


def consumer_switch(gln: str, owner: LettersConsumedBy, actor: Actor) -> Op[bool]:
    """:func:`set_letters_consumer` as a committer op, for an operator's route."""

    async def op(conn: AsyncConnection, batch: Batch) -> bool:
        return await _switch_consumer(conn, gln=gln, owner=owner, actor=actor, at=batch.now)

    return op


# --- the letter format an organisation receives -------------------------------------------


def format_switch(gln: str, fmt: MessageFormat, *, actor: Actor) -> Op[bool]:
    """An operator's change of the letter format ``gln`` receives, as a committer op
    (audited); whether it changed. Letters already in its inbox keep the format they were
    converted to; the next ones come in the new one."""

    async def op(conn: AsyncConnection, batch: Batch) -> bool:
        o = ORGANISATION.c
        old = await conn.scalar(select(o.format).where(o.gln == gln))
        if old is None:
            raise NotFound(f"no organisation with GLN {gln} is registered")
        changed = bool(old != fmt.value)
        if changed:
            await conn.execute(update(ORGANISATION).where(o.gln == gln).values(format=fmt.value))
        await write_audit(
            conn,
            at=batch.now,
            actor=actor,
            action=AuditAction.SET_FORMAT,
            target=gln,
            result=f"format {old} -> {fmt.value}" if changed else f"format {old} unchanged",
        )
        return changed

    return op
