"""The audit trail of administrative actions on the hub, one row each.

An operator may re-deliver an expired letter, send a sender its status report again, and
disable or enable an organisation's system token (``coordinator.operations.routes``); an
administrator at the hub's machine registers organisations, creates users and rotates,
disables or enables tokens (``samspil org ...``, ``samspil user add``;
:mod:`coordinator.security.credentials`). Each of these is written here in the same transaction as
the change itself, with who did it, when, what it was done to and what came of it. For the
command line, who is the local OS user (``actor_name`` ``<user>@<host> (cli)``,
``actor_org`` ``local``). The table holds identifiers only, never a body, a CPR number or a
token. The schema is owned by migration ``0003``. Every row is written by
:func:`write_audit`, except an operator's read of a child's access log (``read-access-log``,
its target the logged view's id, never the child): that row is part of the access log's own
bulk write (:func:`coordinator.index.access_log.log_views`), in the transaction that logs the
read with the operator's stated reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Index, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field, SQLModel

from coordinator.sqltypes import UtcDateTime, utcnow
from wire.operator import AuditAction as AuditAction


class OperatorAuditBase(SQLModel):
    action: AuditAction = Field(sa_type=String(24))
    target: str = Field(max_length=64)  # a message id or an organisation's GLN
    result: str | None = Field(default=None, max_length=200)  # e.g. the new message's id


class OperatorAudit(OperatorAuditBase, table=True):
    __tablename__ = "operator_audit"
    __table_args__ = (Index("ix_operator_audit_at", "at"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor_credential: uuid.UUID
    actor_name: str = Field(max_length=200)
    actor_org: str = Field(max_length=13)


OPERATOR_AUDIT = cast(Table, OperatorAudit.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does an administrative action, for the audit trail: a credential (an operator's
    or an administrator's), or the local OS user at the command line."""

    credential_id: uuid.UUID
    name: str
    org_gln: str


async def write_audit(
    conn: AsyncConnection,
    *,
    at: datetime,
    actor: Actor,
    action: AuditAction,
    target: str,
    result: str | None,
) -> None:
    """The audit row of an action, in ``conn``'s transaction (the one making the change)."""
    await conn.execute(
        insert(OPERATOR_AUDIT).values(
            id=uuid.uuid4(),
            at=at,
            actor_credential=actor.credential_id,
            actor_name=actor.name,
            actor_org=actor.org_gln,
            action=action.value,
            target=target,
            result=result,
        )
    )
