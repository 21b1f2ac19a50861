"""Disclosure: the one way a child's data leaves the shared index.

The privacy rule — **no disclosure without a committed access-log entry** — is kept here and
nowhere else. Each ``disclose_*`` function reads, judges what the caller may see, writes the
access-log entry for whatever the answer shows of other organisations (through the
:class:`~coordinator.database.committer.Committer`, grouped with the other writes of the moment),
waits
until that entry has been committed, and only then returns. A read whose log entry cannot
be committed raises, so it is never answered; an entry committed for an answer that is then
lost on its way stays logged (a view too many, never one too few).

What is logged (see :mod:`coordinator.index.access_log`):

* :func:`disclose_overview` - an overview showing other organisations' entries (and, in the
  same write, each owner an attested consent opened for the first time is told:
  ``consent-opened``): ``/v1``'s overview and ``/fhir/r4``'s reads, where a search for one
  resource type shows, and so logs, only its part of the overview (``shows``);
* :func:`disclose_consents` - a consent list showing consents others recorded, or their
  disputes (the list shows only what :func:`coordinator.index.consent.listing` lets the
  caller see);
* :func:`disclose_access_log` - an organisation's read of the access log naming other
  organisations (what it names is decided in :mod:`coordinator.index.access_log`), and
  **every** operator's read of a child's access log, which needs a stated reason (kept on
  the logged view and in the operators' audit trail).
* :func:`disclose_access_notifications` - the views of an owner's own data, and what the owner
  was told about the children it has cases for (:mod:`coordinator.index.notifications`: a
  new partner, a consent that opened its data, a dispute), listed for that owner: not
  logged (it shows who read the owner's entries, and what the owner was told).
* :func:`disclose_partner_events` - a page of the partner-events feed
  (:mod:`coordinator.index.events`): other organisations' changes about the caller's own
  children, shown only where consent opens their entries, as the overview judges. **One entry
  per child and page**, naming the owners whose events the page holds for that child (and,
  in the same write, ``consent-opened`` to an owner an attested consent opened for the first
  time): a page is one look at each child it shows, as an overview is one look however many
  entries it shows. A page fetched again (a delivery that did not reach the case system) is
  logged again: a view too many, never one too few. A page that shows nothing of a child
  logs nothing for it;
* :func:`disclose_my_children` - the caller's own active cases grouped by child, with the
  number of partners the hub has told it of and its unread letters
  (:mod:`coordinator.index.children`): not logged (its own data and what it was told; no
  other organisation's current data).

A read that shows the caller nothing of others (its own consents only, an access log of its
own views and of operators' reads naming nobody else) logs nothing.

The routes call only these. The raw reads are private to their stores
(``index_store._overview``, ``index_store._consents_of``, ``access_log._access_log``,
``access_log._access_notifications``, ``notifications._owner_notifications``,
``children._my_children``, ``events._partner_events``);
``tests/unit/test_disclosure_rule.py`` fails if a routes module imports one, or the access
log itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.committer import Committer
from coordinator.database.reader import Reader
from coordinator.errors import BadRequest
from coordinator.index.access_log import (
    LoggedView,
    View,
    _access_log,
    _access_notifications,
    log_views,
    shown_others,
)
from coordinator.index.children import MyChildrenPage, _my_children
from coordinator.index.consent import ConsentPolicy
from coordinator.index.events import EventsPage, _partner_events
from coordinator.index.notifications import _owner_notifications
from coordinator.index.store import ConsentList, Overview, Viewer, _consents_of, _overview
from coordinator.index.tables import ViewKind
from messages.identifiers import Cpr

__all__ = [
    "EVERYTHING",
    "REASON_LENGTH",
    "Shown",
    "disclose_access_log",
    "disclose_access_notifications",
    "disclose_consents",
    "disclose_my_children",
    "disclose_overview",
    "disclose_partner_events",
]


REASON_LENGTH = 500
"""The longest reason an operator may give for reading a child's access log."""


class Shown(StrEnum):
    """The parts of an overview that can show other organisations' data: an answer that shows
    only some of them (a FHIR search for one resource type) discloses, and logs, only those."""

    CASES = "cases"
    APPOINTMENTS = "appointments"
    COORDINATOR = "coordinator"


EVERYTHING = frozenset(Shown)


def _only(result: Overview, shows: frozenset[Shown], org_gln: str) -> Overview:
    """``result`` with the other organisations' entries of the parts not in ``shows`` left
    out, and ``disclosed`` and ``opened`` narrowed to the owners what is left shows. The
    caller's own entries and the consent state stay (they disclose no one)."""
    cases = result.other_cases if Shown.CASES in shows else []
    appointments = result.other_appointments if Shown.APPOINTMENTS in shows else []
    coordinator = result.coordinator
    if (
        coordinator is not None
        and coordinator.org_gln != org_gln
        and Shown.COORDINATOR not in shows
    ):
        coordinator = None
    owners = {c.org_gln for c in cases} | {a.org_gln for a in appointments}
    if coordinator is not None and coordinator.org_gln != org_gln:
        owners.add(coordinator.org_gln)
    disclosed = [gln for gln in result.disclosed if gln in owners]
    return replace(
        result,
        other_cases=cases,
        other_appointments=appointments,
        coordinator=coordinator,
        disclosed=disclosed,
        opened=[o for o in result.opened if o.owner_org in owners],
    )


async def _logged(committer: Committer, view: View) -> None:
    """Write ``view``'s access-log entry and return once it has been committed."""
    await committer.bulk(log_views, view)


async def disclose_overview(
    *,
    reader: Reader,
    committer: Committer,
    viewer: Viewer,
    cpr: Cpr,
    recent: timedelta,
    policy: ConsentPolicy,
    shows: frozenset[Shown] = EVERYTHING,
) -> Overview:
    """The caller's overview of a child (:class:`~coordinator.index.store.Overview`), judged
    under ``policy``, once the view of the other organisations it shows (``disclosed``) is
    logged and committed — with, in the same write, a ``consent-opened`` notification to
    each owner an attested consent opened for the first time (``opened``).

    ``shows``: the parts the answer will show (all of them by default); other
    organisations' entries in the other parts are left out, and neither logged nor their
    owners told. One call is one look: at most one entry, naming the owners it shows.

    The reads run on the read path; the entry is a later committer write, and this waits
    for its commit.
    """
    result = await _overview(reader=reader, viewer=viewer, cpr=cpr, recent=recent, policy=policy)
    if shows != EVERYTHING:
        result = _only(result, shows, viewer.org_gln)
    if result.disclosed:
        view = View(viewer, cpr, ViewKind.OVERVIEW, tuple(result.disclosed), tuple(result.opened))
        await _logged(committer, view)
    return result


async def disclose_consents(
    *, engine: AsyncEngine, committer: Committer, viewer: Viewer, cpr: Cpr, policy: ConsentPolicy
) -> ConsentList:
    """The child's consents the caller may see (:func:`coordinator.index.consent.listing`),
    newest first (the caller must have an active case), with the disputes the caller may
    see, once the view of consents other organisations recorded (or disputed) is logged and
    committed."""
    found = await _consents_of(engine=engine, org_gln=viewer.org_gln, cpr=cpr, policy=policy)
    others = tuple(sorted(found.others - {viewer.org_gln}))
    if others:
        await _logged(committer, View(viewer, cpr, ViewKind.CONSENTS, others))
    return found


async def disclose_access_log(
    *,
    engine: AsyncEngine,
    committer: Committer,
    viewer: Viewer,
    cpr: Cpr,
    operator: bool,
    limit: int,
    policy: ConsentPolicy,
    reason: str | None = None,
) -> list[LoggedView]:
    """The child's access log, newest first, once this read of it is logged and committed:
    an organisation's read when it names other organisations, an operator's read always (an
    operator runs the hub; the family sees when one looked, even at an empty log).

    An operator must state ``reason`` (1-500 characters, e.g. the family's request
    reference): it is kept on the logged view, shown in the full log, and the read is
    audited. An organisation's ``reason`` is ignored.
    """
    if operator and (reason is None or not 1 <= len(reason) <= REASON_LENGTH):
        raise BadRequest(
            "an operator reads a child's access log only with a stated reason: send it in "
            f"X-Access-Reason (1-{REASON_LENGTH} characters, e.g. the family's request "
            "reference); it is kept in the log the family sees, and audited",
            code="access-reason-missing",
        )
    views = await _access_log(
        engine=engine,
        cpr=cpr,
        org_gln=None if operator else viewer.org_gln,
        limit=limit,
        policy=policy,
    )
    others = shown_others(views, viewer.org_gln)
    if operator or others:
        view = View(viewer, cpr, ViewKind.ACCESS_LOG, others, reason=reason if operator else None)
        await _logged(committer, view)
    return views


async def disclose_access_notifications(
    *, engine: AsyncEngine, owner: str, since: datetime | None, limit: int
) -> list[Any]:
    """What ``owner`` is told, newest first, at most ``limit`` (with ``since``, only what came
    after it): views by other organisations (or by operators) that disclosed its data (rows
    whose ``kind`` is a :class:`~wire.index.ViewKind`), and its notifications (a
    :class:`~wire.index.NotificationKind`). Not logged: the owner reads who saw its own
    entries and what it was told."""
    views = await _access_notifications(engine=engine, owner=owner, since=since, limit=limit)
    told = await _owner_notifications(engine=engine, owner=owner, since=since, limit=limit)
    return sorted([*views, *told], key=lambda row: row.at, reverse=True)[:limit]


async def disclose_partner_events(
    *,
    engine: AsyncEngine,
    committer: Committer,
    viewer: Viewer,
    since: int,
    limit: int,
    recent: timedelta,
    policy: ConsentPolicy,
) -> EventsPage:
    """A page of the partner-events feed after ``since`` (:mod:`coordinator.index.events`),
    once one access-log entry per child it shows is committed (``partner-events``, naming the
    owners whose events it holds for that child, and the person or system asking)."""
    page = await _partner_events(
        engine=engine,
        org_gln=viewer.org_gln,
        since=since,
        limit=limit,
        recent=recent,
        policy=policy,
    )
    views = [
        View(viewer, child.cpr, ViewKind.PARTNER_EVENTS, child.owners, child.opened)
        for child in page.children
    ]
    if views:  # one group of the committer, most likely: its bulk write takes them together
        await asyncio.gather(*(_logged(committer, view) for view in views))
    return page


async def disclose_my_children(
    *, engine: AsyncEngine, org_gln: str, limit: int, offset: int
) -> MyChildrenPage:
    """A page of ``org_gln``'s own children, the most recent activity first: its active cases,
    how many other organisations the hub has told it of for each child (``new-partner``
    notices, both ways: never whether they still have a case), its unread letters about
    each. Not logged: it shows the caller its own data and what it was told, nothing of
    another organisation it was not told (the rule is in :mod:`coordinator.index.children`)."""
    return await _my_children(engine=engine, org_gln=org_gln, limit=limit, offset=offset)
