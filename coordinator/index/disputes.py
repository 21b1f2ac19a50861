"""Disputes of attested consents: a data owner says a consent that opens its data is not
one it trusts (``POST /v1/children/{cpr}/consents/{id}/dispute``).

From the next call the disputed consent no longer opens the disputing organisation's data
(:func:`coordinator.index.consent.is_disputed_by`); it keeps opening the others'. The
organisation that recorded the consent is told (a ``consent-disputed`` notification naming the
disputer, with the reason), and the dispute row itself is the record of who disputed (the
person and the organisation) and when. Only an attested consent (a caseworker's word) can be
disputed: a verified one carries the consent service's signature.

The recorder's notification is kept once per consent (``index_notification`` is unique on
owner, kind and consent): when a second organisation disputes the same consent, its dispute
stands and is listed with the consent, but the recorder is not told a second time.

:func:`dispute_consent` is an op for the :class:`~coordinator.database.committer.Committer`;
a dispute is kept once per consent and organisation (a repeat finds the first).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.database.backend import kind_of
from coordinator.database.committer import Batch
from coordinator.errors import Conflict, NotFound
from coordinator.index.consent import Party, covers
from coordinator.index.consent_rows import CONSENTS_OF, facts
from coordinator.index.notifications import NOTIFY_ONCE, Notice, row_of
from coordinator.index.store import Viewer, _require_active_case, _sector_of
from coordinator.index.tables import CONSENT, DISPUTE, NotificationKind
from messages.identifiers import Cpr

KD = DISPUTE.c

__all__ = ["dispute_consent"]

_FIRST_DISPUTE = select(KD.id, KD.at)


def dispute_consent(*, viewer: Viewer, cpr: Cpr, consent_id: uuid.UUID, reason: str) -> Any:
    """Op: the caller's organisation disputes consent ``consent_id`` of the child:
    ``(disputed_at, created)`` (``created`` false: it had disputed it before, and that first
    dispute stands).

    Refused: without an own active case (403 ``no-active-case``); for a consent the child
    does not have (404); for a verified consent (409 ``consent-verified``); for the caller's
    own consent (409 ``consent-recorded-by-you``: revoke it instead); for a consent that does
    not cover the caller's data (409 ``consent-does-not-cover-you``).
    """

    async def op(conn: AsyncConnection, batch: Batch) -> tuple[datetime, bool]:
        await _require_active_case(conn, viewer.org_gln, cpr.digits)
        row = (
            await conn.execute(CONSENTS_OF.where(CONSENT.c.id == consent_id), {"cpr": cpr.digits})
        ).first()
        if row is None:
            raise NotFound("no such consent for this child")
        consent = facts(row, frozenset())
        if consent.verified:
            raise Conflict(
                "a verified consent carries the consent service's signature and cannot be "
                "disputed here; if it is wrong, the family revokes it at the consent service",
                code="consent-verified",
            )
        if consent.recorder == viewer.org_gln:
            raise Conflict(
                "your organisation recorded this consent: revoke it "
                "(DELETE /v1/children/{cpr}/consents/{id}) instead of disputing it",
                code="consent-recorded-by-you",
            )
        if not covers(consent, Party(await _sector_of(conn, viewer.org_gln), viewer.org_gln)):
            raise Conflict(
                "this consent does not cover your organisation's data (neither its sector nor "
                "the organisation itself): it opens nothing of yours to dispute",
                code="consent-does-not-cover-you",
            )
        dispute_id = uuid.uuid4()
        await conn.execute(
            kind_of(conn)
            .insert_ignore(DISPUTE, ["consent_id", "org_gln"])
            .values(
                id=dispute_id,
                consent_id=consent_id,
                cpr=cpr.digits,
                org_gln=viewer.org_gln,
                person=viewer.person,
                reason=reason,
                at=batch.now,
            )
        )
        first = (
            await conn.execute(
                _FIRST_DISPUTE.where(KD.consent_id == consent_id, KD.org_gln == viewer.org_gln)
            )
        ).one()
        if first.id != dispute_id:
            disputed_at: datetime = first.at
            return disputed_at, False
        await conn.execute(
            NOTIFY_ONCE.of(conn),
            row_of(
                Notice(
                    consent.recorder,
                    cpr.digits,
                    NotificationKind.CONSENT_DISPUTED,
                    viewer.org_gln,
                    consent_id=consent_id,
                    detail=reason,
                ),
                batch.now,
            ),
        )
        return batch.now, True

    return op
