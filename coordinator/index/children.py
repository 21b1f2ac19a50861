"""The caller organisation's own children: its active cases grouped by child, the most
recent activity first, with what it already knows besides them.

**What a row shows, and why nothing of it needs an access-log entry.** A row is the
organisation's own data and what the hub has already told it:

* its own active cases for the child (kind, opened, title, reference, contact);
* ``partners_told``: the organisations the hub told it of for this child, from the
  ``new-partner`` notices (:mod:`coordinator.index.notifications`) in both directions — a
  notice to the caller names an organisation that joined after it; a notice to another
  organisation about the caller means the caller's own first active case was answered with
  that organisation's name (``told``), since the hub tells both sides of a match. It is a
  count of what was said, not a fresh look: whether those organisations still have an active
  case, and anything about organisations that never met the caller through a notice, would
  be their data, which only the overview shows, under consent, logged;
* ``unread_letters``: letters about the child (an XDIS91's ``patient_cpr``) in the caller's
  own inbox that were never fetched.

So listing many children writes no access-log entry and discloses nothing of another
organisation it was not told (see :func:`coordinator.index.disclosure.disclose_my_children`,
the route's one way in).

**Most recent activity** is the latest of an update of the caller's active cases for the
child and the arrival of a letter about the child still in its inbox; ties go by CPR number.

**At national scale** the page is one statement over the organisation's active cases only
(``ix_index_case_org_active``: organisation, status, child, updated — a covering index,
grouped by child in index order) left-joined to the organisation's inbox (``ix_message_inbox``);
the page's cases and notices are then read by child (``ix_index_case_cpr``, the notices'
``cpr`` index). The total is counted from the same index.

SQLAlchemy's errors become :class:`~coordinator.errors.StoreError`; no CPR number is ever put
in an error or a log line. The read is private: routes reach it through
:mod:`coordinator.index.disclosure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.engine import guarded
from coordinator.index.tables import CASE, NOTIFICATION
from coordinator.mailbox.status import MessageStatus
from coordinator.sqltypes import UtcDateTime
from coordinator.tables import MESSAGE
from wire.entries import CaseStatus
from wire.index import NotificationKind

__all__ = ["MyChildRow", "MyChildrenPage"]

C = CASE.c
M = MESSAGE.c
N = NOTIFICATION.c

_ORG: BindParameter[Any] = bindparam("org")
_PAGE_CPRS: BindParameter[Any] = bindparam("cprs", expanding=True)

_OWN = (
    select(C.cpr.label("cpr"), func.max(C.updated_at, type_=UtcDateTime).label("case_at"))
    .where(C.org_gln == _ORG, C.status == CaseStatus.ACTIVE.value)
    .group_by(C.cpr)
    .subquery("own")
)
_LETTERS = (
    select(
        M.patient_cpr.label("cpr"),
        func.max(M.received_at, type_=UtcDateTime).label("letter_at"),
        func.sum(case((M.status == MessageStatus.ACCEPTED.value, 1), else_=0)).label("unread"),
    )
    .where(M.receiver_gln == _ORG, M.in_inbox.is_(True), M.patient_cpr.is_not(None))
    .group_by(M.patient_cpr)
    .subquery("letters")
)
_ACTIVITY = type_coerce(
    case(
        (_LETTERS.c.letter_at > _OWN.c.case_at, _LETTERS.c.letter_at),
        else_=_OWN.c.case_at,
    ),
    UtcDateTime,
).label("activity_at")
_PAGE = (
    select(_OWN.c.cpr, _ACTIVITY, func.coalesce(_LETTERS.c.unread, 0).label("unread"))
    .select_from(_OWN.outerjoin(_LETTERS, _LETTERS.c.cpr == _OWN.c.cpr))
    .order_by(literal_column("activity_at").desc(), _OWN.c.cpr)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_TOTAL = select(func.count()).select_from(_OWN)
_CASES = (
    select(
        C.cpr,
        C.ref,
        C.kind,
        C.opened_on,
        C.title,
        C.contact_name,
        C.contact_role,
        C.contact_phone,
        C.contact_email,
    )
    .where(C.cpr.in_(_PAGE_CPRS), C.org_gln == _ORG, C.status == CaseStatus.ACTIVE.value)
    .order_by(C.cpr, C.opened_on, C.ref)
)
_TOLD = select(N.cpr, N.owner_org, N.about_org).where(
    N.cpr.in_(_PAGE_CPRS),
    N.kind == NotificationKind.NEW_PARTNER.value,
    or_(N.owner_org == _ORG, and_(N.about_org == _ORG, N.owner_org != _ORG)),
)


@dataclass(frozen=True, slots=True)
class MyChildRow:
    """One child of the page: the caller's active cases (rows of ``index_case``), how many
    other organisations it was told of, its unread letters about the child."""

    cpr: str
    activity_at: datetime
    cases: list[Any]
    partners_told: int
    unread_letters: int


@dataclass(frozen=True, slots=True)
class MyChildrenPage:
    children: list[MyChildRow]
    total: int


async def _my_children(
    *, engine: AsyncEngine, org_gln: str, limit: int, offset: int
) -> MyChildrenPage:
    """A page of ``org_gln``'s children (see the module docstring). Private: read through
    :func:`coordinator.index.disclosure.disclose_my_children`."""
    async with guarded(engine, "the index", write=False) as conn:
        page = (await conn.execute(_PAGE, {"org": org_gln, "limit": limit, "offset": offset})).all()
        total = int(await conn.scalar(_TOTAL, {"org": org_gln}) or 0)
        cprs = [row.cpr for row in page]
        cases: dict[str, list[Any]] = {cpr: [] for cpr in cprs}
        partners: dict[str, set[str]] = {cpr: set() for cpr in cprs}
        if cprs:
            params = {"org": org_gln, "cprs": cprs}
            for own in await conn.execute(_CASES, params):
                cases[own.cpr].append(own)
            for told in await conn.execute(_TOLD, params):
                other = told.about_org if told.owner_org == org_gln else told.owner_org
                partners[told.cpr].add(other)
    return MyChildrenPage(
        children=[
            MyChildRow(
                cpr=row.cpr,
                activity_at=row.activity_at,
                cases=cases[row.cpr],
                partners_told=len(partners[row.cpr] - {org_gln}),
                unread_letters=int(row.unread),
            )
            for row in page
            if cases[row.cpr]  # a case closed between the two reads: the child has left
        ],
        total=total,
    )
