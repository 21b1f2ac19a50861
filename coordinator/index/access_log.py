"""The shared index's access log: who read a child's data, what they read, whose it was.

**What is logged.** Every read that discloses another organisation's data about a child is
logged before it is answered: an overview that shows other organisations' entries, a consent
list that shows consents other organisations recorded, an organisation's read of the access
log that names other organisations, and **every** operator's read of a child's access log,
with the reason the operator stated (an operator runs the hub, so the family sees when one
looked, even at an empty log; the read is also in the operators' audit trail). Each logged
view names its :class:`~coordinator.index.tables.ViewKind` and, in one disclosure row each,
the organisations whose data it showed, so owners can list the views of their data
(``GET /v1/access-notifications``).

Owners are also told, beside the views, what they must know of consents (``index_notification``,
:class:`~coordinator.index.tables.NotificationKind`): an attested consent that opened their data
for the first time is written with the logged view that showed it (:func:`log_views`), a
dispute of a consent with the dispute (:mod:`coordinator.index.disputes`); each at most once
per owner, kind and consent (:data:`~coordinator.index.notifications.NOTIFY_ONCE`).
**What an organisation C sees of it** (``GET /v1/children/{cpr}/access-log``; C must have an
active case). The log never tells C more about who is involved than consent does:

* an entry is shown if C was its viewer, if C's data was disclosed in it, or if it is an
  operator's read (an operator is not involved with the child: its reads are shown to every
  organisation with an active case, so the family's organisations see when the hub looked);
  no other entry is shown, and nothing counts them;
* in a shown entry, the organisations it disclosed are named only where they are C itself or
  a consent opens their data to C now under the hub's policy and the owners' disputes
  (:func:`coordinator.index.store.organisations_open`, the overview's own per-owner
  judgement); the others are left out, without a name, a GLN or a count;
* the viewer is always named: C itself, an operator, or an organisation that read C's data.
  The last is the owner's right to know who read its data - the same fact
  ``GET /v1/access-notifications`` tells C - and a reader knows its look is told to the owner;
* an operator's stated reason is shown only in the full log (an operator's read, made on the
  family's request): free text may name anyone, so organisations see that an operator
  looked, not why.

An operator sees the whole log, every organisation named, with the reasons.

:func:`log_views` is a bulk write for the :class:`~coordinator.database.committer.Committer`; the
reads use the engine and are private (``_access_log``, ``_access_notifications``): the routes
reach them only through :mod:`coordinator.index.disclosure`, which logs each read that must be
logged before it returns. SQLAlchemy errors become :class:`~coordinator.errors.StoreError`; no
CPR number is ever put in an error or a log line.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.committer import Batch
from coordinator.database.engine import guarded
from coordinator.index.consent import ConsentPolicy
from coordinator.index.notifications import NOTIFY_ONCE, Notice, row_of
from coordinator.index.store import (
    CHILDREN,
    Opening,
    Viewer,
    _require_active_case,
    organisations_open,
)
from coordinator.index.tables import (
    ACCESS_LOG,
    DISCLOSURE,
    NotificationKind,
    ViewKind,
)
from coordinator.operations.audit_tables import OPERATOR_AUDIT, AuditAction
from coordinator.sqltypes import utcnow
from coordinator.tables import CREDENTIAL, ORGANISATION, Role
from messages.identifiers import Cpr

G = ORGANISATION.c
L = ACCESS_LOG.c
D = DISCLOSURE.c

__all__ = [
    "LoggedView",
    "View",
    "log_views",
    "shown_others",
]

# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class View:
    """One read of a child's data to log: who, which child, what kind, whose data it showed."""

    viewer: Viewer
    cpr: Cpr
    kind: ViewKind
    owners: tuple[str, ...]  # the other organisations whose data it disclosed, sorted
    opened: tuple[Opening, ...] = ()  # owners an attested consent opened, not yet told
    # an operator's stated reason: kept on the view, and the read goes into the operators'
    # audit trail (``read-access-log``, naming the view's id, never the child)
    reason: str | None = None


_LOG = insert(ACCESS_LOG)
_DISCLOSE = insert(DISCLOSURE)
_AUDIT = insert(OPERATOR_AUDIT)


def log_views(conn: Connection, batch: Batch, items: list[View]) -> list[Any]:
    """Bulk write: a group's logged views, their disclosures and the operators' audit rows
    (three statements, four with an operator's read), and the owners first opened by an
    attested consent told so (one more, when there are any: ``consent-opened``, once per
    owner and consent).

    The child of an access-log read is remembered too (an operator may read the log of a
    child the index does not know yet): the retention job deletes a child's log with
    everything else about the child when they turn 23, and it finds the child by that row.
    The other views (an overview, a consent list) need the caller's active case for the
    child, so the child's row exists already: no statement is spent on it.
    """
    children: dict[str, dict[str, Any]] = {}
    views: list[dict[str, Any]] = []
    disclosures: list[dict[str, Any]] = []
    notices: dict[tuple[str, uuid.UUID], dict[str, Any]] = {}
    audits: list[dict[str, Any]] = []
    for item in items:
        for opening in item.opened:
            notices.setdefault(
                (opening.owner_org, opening.consent_id),
                row_of(
                    Notice(
                        opening.owner_org,
                        item.cpr.digits,
                        NotificationKind.CONSENT_OPENED,
                        opening.recorder,
                        consent_id=opening.consent_id,
                    ),
                    batch.now,
                ),
            )
        access_id = uuid.uuid4()
        if item.kind is ViewKind.ACCESS_LOG:
            children[item.cpr.digits] = {
                "id": uuid.uuid4(),
                "cpr": item.cpr.digits,
                "born_on": item.cpr.birth_date,
            }
        views.append(
            {
                "id": access_id,
                "cpr": item.cpr.digits,
                "at": batch.now,
                "viewer_org": item.viewer.org_gln,
                "viewer_person": item.viewer.person,
                "viewer_credential": item.viewer.credential_id,
                "on_behalf_of": item.viewer.on_behalf_of,
                "kind": item.kind.value,
                "reason": item.reason,
            }
        )
        if item.reason is not None:
            audits.append(
                {
                    "id": uuid.uuid4(),
                    "at": batch.now,
                    "actor_credential": item.viewer.credential_id,
                    "actor_name": item.viewer.person,
                    "actor_org": item.viewer.org_gln,
                    "action": AuditAction.READ_ACCESS_LOG.value,
                    "target": str(access_id),
                    "result": None,
                }
            )
        disclosures.extend(
            {
                "id": uuid.uuid4(),
                "access_id": access_id,
                "owner_org": owner,
                "cpr": item.cpr.digits,
                "at": batch.now,
            }
            for owner in item.owners
        )
    if children:
        CHILDREN.many(conn, list(children.values()))
    conn.execute(_LOG, views)
    if disclosures:
        conn.execute(_DISCLOSE, disclosures)
    if audits:
        conn.execute(_AUDIT, audits)
    if notices:
        conn.execute(NOTIFY_ONCE.of(conn), list(notices.values()))
    return [None] * len(items)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoggedView:
    at: datetime
    kind: str  # a ViewKind value
    viewer_org: str
    viewer_name: str
    viewer_person: str
    on_behalf_of: bool
    by_operator: bool  # read by the hub's operator, not by the organisation's caseworkers
    disclosed: list[tuple[str, str]]  # (gln, name)
    reason: str | None  # an operator's stated reason; only in the full (operator's) log


def shown_others(views: Iterable[LoggedView], org_gln: str) -> tuple[str, ...]:
    """The organisations other than ``org_gln`` that an answer of ``views`` names as involved
    with the child (viewers and the organisations they saw; an operator is not involved)."""
    found = {gln for v in views for gln, _ in v.disclosed}
    found |= {v.viewer_org for v in views if not v.by_operator}
    found.discard(org_gln)
    return tuple(sorted(found))


_VIEWS = (
    select(
        L.id,
        L.at,
        L.kind,
        L.viewer_org,
        L.viewer_person,
        L.on_behalf_of,
        L.reason,
        CREDENTIAL.c.role.label("viewer_role"),
    )
    .outerjoin(CREDENTIAL, CREDENTIAL.c.id == L.viewer_credential)
    .order_by(L.at.desc(), L.id)
)


def _shown_to(org_gln: str, cpr: str) -> Any:
    """The views an organisation is shown: its own, those that disclosed its data, and every
    operator's read (see the module docstring)."""
    return or_(
        L.viewer_org == org_gln,
        L.id.in_(select(D.access_id).where(D.owner_org == org_gln, D.cpr == cpr)),
        CREDENTIAL.c.role == Role.OPERATOR.value,
    )


async def _access_log(
    *,
    engine: AsyncEngine,
    cpr: Cpr,
    org_gln: str | None,
    limit: int,
    policy: ConsentPolicy,
) -> list[LoggedView]:
    """The child's access log, newest first.

    ``org_gln`` None is an operator: everything, every organisation named, with the reasons.
    An organisation (which must have an active case) is shown what the module docstring says:
    its own views, the views of its data and the operators' reads, naming no organisation
    that consent (under ``policy``) does not open to it.
    """
    now = utcnow()
    named: frozenset[str] = frozenset()  # the organisations an organisation's log may name
    async with guarded(engine, "the index", write=False) as conn:
        query = _VIEWS.where(L.cpr == cpr.digits)
        if org_gln is not None:
            await _require_active_case(conn, org_gln, cpr.digits)
            query = query.where(_shown_to(org_gln, cpr.digits))
        views = (await conn.execute(query.limit(limit))).all()
        owners: dict[uuid.UUID, list[str]] = {}
        if views:
            for row in await conn.execute(
                select(D.access_id, D.owner_org)
                .where(D.access_id.in_([v.id for v in views]))
                .order_by(D.owner_org)
            ):
                owners.setdefault(row.access_id, []).append(row.owner_org)
        glns = {v.viewer_org for v in views} | {o for os in owners.values() for o in os}
        names = {
            row.gln: row.name
            for row in await conn.execute(select(G.gln, G.name).where(G.gln.in_(sorted(glns))))
        }
        if org_gln is not None:
            named = await organisations_open(
                conn, caller_gln=org_gln, cpr=cpr, glns=glns, now=now, policy=policy
            )

    def shown(gln: str) -> bool:
        return org_gln is None or gln in named

    return [
        LoggedView(
            at=v.at,
            kind=v.kind,
            viewer_org=v.viewer_org,
            viewer_name=names.get(v.viewer_org, ""),
            viewer_person=v.viewer_person,
            on_behalf_of=v.on_behalf_of,
            by_operator=v.viewer_role == Role.OPERATOR.value,
            disclosed=[(o, names.get(o, "")) for o in owners.get(v.id, []) if shown(o)],
            reason=v.reason if org_gln is None else None,
        )
        for v in views
    ]


async def _access_notifications(
    *, engine: AsyncEngine, owner: str, since: datetime | None, limit: int
) -> list[Any]:
    """Views by other organisations (or by operators) that disclosed ``owner``'s data,
    newest first."""
    query = (
        select(
            D.at,
            D.cpr,
            L.kind,
            L.viewer_org,
            L.viewer_person,
            L.on_behalf_of,
            CREDENTIAL.c.role.label("viewer_role"),
            G.name.label("viewer_name"),
            G.sector.label("viewer_sector"),
        )
        .join(ACCESS_LOG, L.id == D.access_id)
        .join(ORGANISATION, G.gln == L.viewer_org)
        .outerjoin(CREDENTIAL, CREDENTIAL.c.id == L.viewer_credential)
        .where(D.owner_org == owner)
        .order_by(D.at.desc(), D.id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(D.at > since)
    async with guarded(engine, "the index", write=False) as conn:
        return list((await conn.execute(query)).all())
