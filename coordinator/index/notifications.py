"""What a data owner is told about a child besides the views of its entries
(``index_notification``): a new partner, a consent that opened its entries, a dispute.

**Partners told when someone joins** (``new-partner``). When an organisation's case write
leaves it with an active case for a child it had no active case for, every other
organisation with an active case for that child is told, in the same transaction: one row
each, naming the newcomer and the contact of the case that joined (whom to call: never the
case's kind, title or reference). The newcomer learns of them in its answer
(:func:`tell_partners` returns them); as in the Dutch VIR, a match tells both sides.
Nobody is told twice that the same organisation joined the same child: a second case, an
update, or a case reopened after the owner was told, tells no one again. An organisation
whose cases for the child are all closed is not told.

:func:`tell_partners` runs inside :func:`coordinator.index.store.upsert_entries` (the case
upserts' bulk write), with a statement or two per group and none when no write of the group
joins a child. The other kinds are written by the consent work (their rows only need
``kind``, ``about_org`` and, where they have them, ``consent_id``, contact and detail): they
may write them with :func:`tell`, an op that tells each owner once per kind and consent.

The owner's read (``_owner_notifications``) is private: the route reaches it through
:func:`coordinator.index.disclosure.disclose_access_notifications`, beside the views of the
owner's entries. SQLAlchemy errors become :class:`~coordinator.errors.StoreError`; no CPR
number is ever put in an error or a log line.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.database.committer import Batch
from coordinator.database.engine import guarded
from coordinator.database.statements import ForEngine
from coordinator.index.tables import CASE, CHILD, NOTIFICATION
from coordinator.tables import ORGANISATION, Sector
from wire.entries import CaseStatus, Contact
from wire.index import NotificationKind

G = ORGANISATION.c
C = CASE.c
N = NOTIFICATION.c

__all__ = ["CaseWrite", "Involved", "Notice", "tell", "tell_partners"]


# --- telling partners (inside the case upserts' bulk write) ------------------------------


@dataclass(frozen=True, slots=True)
class Involved:
    """An organisation involved with a child, as the newcomer's answer names it."""

    gln: str
    name: str
    sector: Sector


@dataclass(frozen=True, slots=True)
class CaseWrite:
    """One case write of a group, in the group's order: the case's status before the write
    (stored, or left by an earlier write of the group) and after it, and its contact."""

    org_gln: str
    ref: str
    cpr: str
    was_active: bool
    active: bool
    at: datetime
    contact_name: str
    contact_role: str
    contact_phone: str | None
    contact_email: str | None


_CHILDREN: BindParameter[Any] = bindparam("cprs", expanding=True)
# PostgreSQL: two hub processes' groups joining one child wait for each other here, so the
# later one reads the earlier one's case (SQLite: one writer; FOR UPDATE is not rendered)
_LOCK_CHILDREN = (
    select(CHILD.c.id).where(CHILD.c.cpr.in_(_CHILDREN)).order_by(CHILD.c.cpr).with_for_update()
)
_ACTIVE_CASES = select(C.org_gln, C.ref, C.cpr).where(
    C.cpr.in_(_CHILDREN), C.status == CaseStatus.ACTIVE.value
)
_TOLD_BEFORE = select(N.owner_org, N.about_org, N.cpr).where(
    N.kind == NotificationKind.NEW_PARTNER.value, N.cpr.in_(_CHILDREN)
)
_ORGANISATIONS = select(G.gln, G.name, G.sector).where(G.gln.in_(bindparam("glns", expanding=True)))
_INSERT = insert(NOTIFICATION)


def tell_partners(conn: Connection, writes: list[CaseWrite]) -> list[tuple[Involved, ...]]:
    """Per write (in order): the organisations told that its organisation joined the child,
    their rows written; empty for a write that joins no one. Runs before the group's case
    writes, once the children's ``index_child`` rows are written (it locks them).

    The writes run as if one after the other: a write joins when its case is active after it
    and its organisation had no active case for the child before it (counting the group's
    earlier writes); those told are the organisations with an active case for the child at
    that moment, less those told before that the same organisation joined the same child.
    """
    told: list[list[str]] = [[] for _ in writes]
    children = sorted({w.cpr for w in writes if w.active and not w.was_active})
    if not children:
        return [() for _ in writes]
    conn.execute(_LOCK_CHILDREN, {"cprs": children})  # the children's rows exist by now
    active: dict[str, dict[str, set[str]]] = {cpr: {} for cpr in children}
    for row in conn.execute(_ACTIVE_CASES, {"cprs": children}):
        active[row.cpr].setdefault(row.org_gln, set()).add(row.ref)
    before: set[tuple[str, str, str]] | None = None  # (owner, newcomer, child), read once
    for i, write in enumerate(writes):
        cases = active.get(write.cpr)
        if cases is None:  # a child none of the group's writes joins
            continue
        mine = cases.setdefault(write.org_gln, set())
        had_one = bool(mine)
        if write.active:
            mine.add(write.ref)
        else:
            mine.discard(write.ref)
        if had_one or not write.active:
            continue
        owners = sorted(org for org, refs in cases.items() if refs and org != write.org_gln)
        if not owners:
            continue
        if before is None:
            before = {
                (r.owner_org, r.about_org, r.cpr)
                for r in conn.execute(_TOLD_BEFORE, {"cprs": children})
            }
        for owner in owners:
            if (owner, write.org_gln, write.cpr) not in before:
                before.add((owner, write.org_gln, write.cpr))
                told[i].append(owner)
    glns = sorted({owner for owners in told for owner in owners})
    if not glns:
        return [() for _ in writes]
    conn.execute(
        _INSERT,
        [
            {
                "id": uuid.uuid4(),
                "owner_org": owner,
                "cpr": write.cpr,
                "at": write.at,
                "kind": NotificationKind.NEW_PARTNER.value,
                "about_org": write.org_gln,
                "consent_id": None,
                "contact_name": write.contact_name,
                "contact_role": write.contact_role,
                "contact_phone": write.contact_phone,
                "contact_email": write.contact_email,
                "detail": None,
            }
            for write, owners in zip(writes, told, strict=True)
            for owner in owners
        ],
    )
    known = {
        row.gln: Involved(row.gln, row.name, Sector(row.sector))
        for row in conn.execute(_ORGANISATIONS, {"glns": glns})
    }
    return [tuple(known[owner] for owner in owners) for owners in told]


# --- telling an owner anything else (an op) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell one owner about one child (see :class:`~wire.index.NotificationKind`);
    ``at`` None is the commit's time."""

    owner_org: str
    cpr: str
    kind: NotificationKind
    about_org: str
    consent_id: uuid.UUID | None = None
    contact: Contact | None = None
    detail: str | None = None
    at: datetime | None = None


NOTIFY_ONCE: ForEngine[Any] = ForEngine(
    lambda kind: kind.insert_ignore(NOTIFICATION, ["owner_org", "kind", "consent_id", "about_org"])
)
"""Insert notices (rows of :func:`row_of`), each at most once per owner, kind, consent and
other organisation: an attested consent opens an owner's data "for the first time" once, and
each disputing organisation tells a consent's recorder once (a notice without a consent is
always written: NULLs are distinct)."""


def row_of(notice: Notice, now: datetime) -> dict[str, Any]:
    """``notice`` as an ``index_notification`` row; ``now`` where it names no time."""
    contact = notice.contact
    return {
        "id": uuid.uuid4(),
        "owner_org": notice.owner_org,
        "cpr": notice.cpr,
        "at": notice.at or now,
        "kind": notice.kind.value,
        "about_org": notice.about_org,
        "consent_id": notice.consent_id,
        "contact_name": contact.name if contact else None,
        "contact_role": contact.role if contact else None,
        "contact_phone": contact.phone if contact else None,
        "contact_email": contact.email if contact else None,
        "detail": notice.detail,
    }


def tell(*notices: Notice) -> Any:
    """Op (``Committer.call``): write ``notices`` (:data:`NOTIFY_ONCE`)."""

    async def op(conn: AsyncConnection, batch: Batch) -> None:
        if notices:
            await conn.execute(NOTIFY_ONCE.of(conn), [row_of(n, batch.now) for n in notices])

    return op


# --- the owner's read --------------------------------------------------------------------


_OWN = (
    select(
        N.id,
        N.at,
        N.cpr,
        N.kind,
        N.about_org,
        N.consent_id,
        N.contact_name,
        N.contact_role,
        N.contact_phone,
        N.contact_email,
        N.detail,
        G.name.label("about_name"),
        G.sector.label("about_sector"),
    )
    .join(ORGANISATION, G.gln == N.about_org)
    .where(N.owner_org == bindparam("owner"))
    .order_by(N.at.desc(), N.id)
)


async def _owner_notifications(
    *, engine: AsyncEngine, owner: str, since: datetime | None, limit: int
) -> list[Any]:
    """``owner``'s notifications (every kind), newest first; with ``since``, those after it.
    Private: read through :func:`coordinator.index.disclosure.disclose_access_notifications`."""
    query = _OWN.limit(limit)
    if since is not None:
        query = query.where(N.at > since)
    async with guarded(engine, "the index", write=False) as conn:
        return list((await conn.execute(query, {"owner": owner})).all())
