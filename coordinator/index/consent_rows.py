"""The consent rule's facts, read from the database: the statements that read a child's
consents (with the sector of the organisation that recorded each) and their disputes, and
the :class:`~coordinator.index.consent.ConsentFacts` built from their rows.

The overview reads :data:`CONSENTS_OF` and :data:`DISPUTES_OF` inside its one ``UNION ALL``
statement (:mod:`coordinator.index.store`); the access log, the consent list and disputes
read them with :func:`consent_facts` or :data:`CONSENTS_OF` on a connection of their own.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.index.consent import ConsentFacts
from coordinator.index.tables import CONSENT, DISPUTE, ConsentRelation, ConsentVerification
from coordinator.tables import ORGANISATION, Sector

K = CONSENT.c
KD = DISPUTE.c
G = ORGANISATION.c

__all__ = ["CONSENTS_OF", "DISPUTES_OF", "consent_facts", "facts", "facts_of", "listed"]

_RECORDER_SECTOR = (
    select(G.sector).where(G.gln == K.recorded_by_org).scalar_subquery().label("recorder_sector")
)
CONSENTS_OF = select(
    K.id,
    K.relation,
    K.sectors,
    K.organisations,
    K.verification,
    K.valid_from,
    K.valid_until,
    K.revoked_at,
    K.recorded_at,
    K.recorded_by_org,
    _RECORDER_SECTOR,
).where(K.cpr == bindparam("cpr"))
"""A child's consents (``cpr``), each with its recorder's sector."""
DISPUTES_OF = select(KD.consent_id, KD.org_gln).where(KD.cpr == bindparam("cpr"))
"""Who disputed which of a child's consents (``cpr``)."""


def listed(text: str) -> list[str]:
    """A comma-separated column (sectors, organisations) as its items; "" is none."""
    return text.split(",") if text else []


def facts(row: Any, disputed_by: frozenset[str]) -> ConsentFacts:
    """The facts of one row of :data:`CONSENTS_OF`, disputed by ``disputed_by`` (GLNs)."""
    return ConsentFacts(
        relation=ConsentRelation(row.relation),
        sectors=frozenset(Sector(s) for s in listed(row.sectors)),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
        id=row.id,
        verification=ConsentVerification(row.verification),
        organisations=frozenset(listed(row.organisations)),
        recorder=row.recorded_by_org,
        recorder_sector=Sector(row.recorder_sector) if row.recorder_sector else None,
        recorded_at=row.recorded_at,
        disputed_by=disputed_by,
    )


def facts_of(consents: list[Any], disputes: list[Any]) -> list[ConsentFacts]:
    """The facts of a child's rows of :data:`CONSENTS_OF` and :data:`DISPUTES_OF`."""
    disputers: dict[uuid.UUID, set[str]] = {}
    for dispute in disputes:
        disputers.setdefault(dispute.consent_id, set()).add(dispute.org_gln)
    return [facts(row, frozenset(disputers.get(row.id, ()))) for row in consents]


async def consent_facts(conn: AsyncConnection, cpr: str) -> list[ConsentFacts]:
    """The facts of the child's consents, with their disputes."""
    consents = (await conn.execute(CONSENTS_OF, {"cpr": cpr})).all()
    disputes = (await conn.execute(DISPUTES_OF, {"cpr": cpr})).all() if consents else []
    return facts_of(list(consents), list(disputes))
