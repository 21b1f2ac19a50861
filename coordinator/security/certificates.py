"""Client certificates revoked on their own: a lost certificate is stopped without disabling
its organisation, whose other certificates and tokens keep working.

A revocation names a serial number (kept as :func:`coordinator.security.tls.parse_serial`
writes it) and the organisation whose certificate it is. The hub cannot check, when it is
told, that the CA gave that serial to a certificate naming that GLN — it never sees the
certificate — so it records both, and :class:`coordinator.security.auth.TokenVerifier`
refuses every certificate with a revoked serial (401 ``certificate-revoked``), whatever GLN it
names. A revocation is for good: the organisation gets a new certificate.

``samspil org cert revoke`` (:func:`revoke_certificate`) and the operators' route
(:func:`certificate_revocation`, a committer op) write the revocation and its audit row in
one transaction and announce it as a revoked token is announced
(:mod:`coordinator.security.revocation`), so every hub process refuses the certificate from
its next request. ``samspil org cert list`` and the operators' route list an organisation's
revocations (:func:`revoked_certificates`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.database.backend import kind_of
from coordinator.database.committer import Batch, Op
from coordinator.database.engine import guarded
from coordinator.errors import CertificateAlreadyRevoked, InvalidRevocation
from coordinator.operations.audit_tables import Actor, AuditAction, write_audit
from coordinator.security import revocation
from coordinator.security.credentials import require_organisation
from coordinator.security.tls import InvalidSerial, parse_serial
from coordinator.sqltypes import utcnow
from coordinator.tables import REVOKED_CERTIFICATE

REASON_MAX = 500
"""The longest reason a revocation keeps (the table's ``reason`` column)."""
_R = REVOKED_CERTIFICATE.c


@dataclass(frozen=True, slots=True)
class Revocation:
    """A revoked client certificate: its serial, its organisation, when, by whom and why."""

    serial: str
    org_gln: str
    revoked_at: datetime
    revoked_by: str
    reason: str | None


SERIAL_TYPED_MAX = 200
"""The longest serial number the hub reads as typed (with ``0x``, colons, blanks)."""


def certificate_serial(raw: str) -> str:
    """A serial number as typed, in the form the hub keeps (422 ``invalid-serial``)."""
    if len(raw) > SERIAL_TYPED_MAX:
        raise InvalidRevocation(
            f"a serial number is at most {SERIAL_TYPED_MAX} characters as typed",
            code="invalid-serial",
        )
    try:
        return parse_serial(raw)
    except InvalidSerial as exc:
        raise InvalidRevocation(str(exc), code="invalid-serial") from None


def revocation_reason(raw: str | None) -> str | None:
    """A revocation's reason: one line of at most :data:`REASON_MAX` characters, or None
    when blank (422 ``invalid-reason``)."""
    if raw is None or not raw.strip():
        return None
    reason = raw.strip()
    if len(raw) > REASON_MAX or not reason.isprintable():
        raise InvalidRevocation(
            f"a reason is one line of at most {REASON_MAX} printable characters",
            code="invalid-reason",
        )
    return reason


def _revocation(row: Any) -> Revocation:
    return Revocation(row.serial, row.org_gln, row.revoked_at, row.revoked_by, row.reason)


async def _revoke(
    conn: AsyncConnection,
    *,
    gln: str,
    serial: str,
    reason: str | None,
    actor: Actor,
    at: datetime,
) -> Revocation:
    """The revocation, its announcement and its audit row, in ``conn``'s transaction."""
    await require_organisation(conn, gln)
    revoked = Revocation(serial, gln, at, actor.name[:200], reason)
    inserted = await conn.execute(
        kind_of(conn)
        .insert_ignore(REVOKED_CERTIFICATE, ["serial"])
        .values(
            serial=serial,
            org_gln=gln,
            revoked_at=at,
            revoked_by=revoked.revoked_by,
            reason=reason,
        )
    )
    if int(inserted.rowcount) == 0:  # revoked before (perhaps by another process just now)
        earlier = _revocation(
            (await conn.execute(select(REVOKED_CERTIFICATE).where(_R.serial == serial))).one()
        )
        raise CertificateAlreadyRevoked(
            f"the certificate with serial {serial} was revoked at "
            f"{earlier.revoked_at.isoformat(timespec='seconds')} (organisation "
            f"{earlier.org_gln}); a revocation is for good: issue a new certificate"
        )
    await revocation.announce(conn)
    await write_audit(
        conn,
        at=at,
        actor=actor,
        action=AuditAction.REVOKE_CERTIFICATE,
        target=gln,
        result=f"certificate {serial} revoked",
    )
    return revoked


async def revoke_certificate(
    *, engine: AsyncEngine, gln: str, serial: str, reason: str | None, actor: Actor
) -> Revocation:
    """Revoke the certificate ``serial`` of ``gln`` (audited): ``samspil org cert revoke``.
    Running hubs on this database refuse it from their next request."""
    async with guarded(engine, "the hub's database") as conn:
        revoked = await _revoke(
            conn, gln=gln, serial=serial, reason=reason, actor=actor, at=utcnow()
        )
    revocation.mark(engine)  # committed: running hubs on this SQLite file look again
    return revoked


def certificate_revocation(
    gln: str, serial: str, reason: str | None, actor: Actor
) -> Op[Revocation]:
    """:func:`revoke_certificate` as a committer op, for an operator's route (which makes
    the running hub processes forget what they cached once it has committed)."""

    async def op(conn: AsyncConnection, batch: Batch) -> Revocation:
        return await _revoke(conn, gln=gln, serial=serial, reason=reason, actor=actor, at=batch.now)

    return op


async def revoked_certificates(*, engine: AsyncEngine, gln: str) -> list[Revocation]:
    """The revoked certificates of ``gln``, newest first (404 for an unknown GLN)."""
    async with guarded(engine, "the hub's database", write=False) as conn:
        await require_organisation(conn, gln)
        rows = await conn.execute(
            select(REVOKED_CERTIFICATE)
            .where(_R.org_gln == gln)
            .order_by(_R.revoked_at.desc(), _R.serial)
        )
        return [_revocation(row) for row in rows]
