"""The partner-events feed, read from the index's change log
(:mod:`coordinator.index.changes`).

**The feed** (``_partner_events``, private: read through
:func:`coordinator.index.disclosure.disclose_partner_events`, which logs it). For an
organisation, the changes after its cursor that

* are about a child it has an active case for *now*, and happened since its own case did
  (the history before it joined stays out, as the overview shows no closed cases);
* are another organisation's (its own changes it knows);
* that organisation's entries consent opens to it now, judged per owner as the overview
  judges (:func:`coordinator.index.consent.judge`, under the hub's policy and the owners'
  disputes): a revoked consent withholds from the next read;
* for an appointment: one the overview would show (starting after ``now - recent``).

A change left out is skipped without a trace: the cursor moves past it as past any other
organisation's change, and nothing counts it. The cursor is the log's number, so it tells the
caller only how many changes the whole index has seen.

SQLAlchemy's errors become :class:`~coordinator.errors.StoreError`; no CPR number is ever put
in an error or a log line.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.engine import guarded
from coordinator.index.consent import ConsentFacts, ConsentPolicy, Missing, Party, age_on, judge
from coordinator.index.consent_rows import consent_facts
from coordinator.index.store import Opening, _first_openings
from coordinator.index.tables import CASE, CHANGE, NOTIFICATION
from coordinator.sqltypes import UtcDateTime, utcnow
from coordinator.tables import ORGANISATION, Sector
from messages.identifiers import Cpr, parse_cpr
from wire.entries import CaseStatus
from wire.events import PartnerEventType
from wire.index import NotificationKind

__all__ = ["ChildShown", "EventsPage", "FoundEvent"]

C = CASE.c
CH = CHANGE.c
G = ORGANISATION.c
N = NOTIFICATION.c

_ACTIVE = CaseStatus.ACTIVE.value


# --- the feed -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundEvent:
    """One event the caller may see."""

    seq: int
    cpr: str
    at: datetime
    kind: PartnerEventType
    owner_org: str
    owner_name: str
    owner_sector: str
    entry_id: uuid.UUID | None
    shown: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChildShown:
    """What a page showed of one child: the other organisations whose events it holds, and
    the owners an attested consent opened for the first time (told with the logged view)."""

    cpr: Cpr
    owners: tuple[str, ...]
    opened: tuple[Opening, ...]


@dataclass(slots=True)
class EventsPage:
    events: list[FoundEvent] = field(default_factory=list)
    cursor: int = 0
    more: bool = False
    children: list[ChildShown] = field(default_factory=list)


_ORG: BindParameter[Any] = bindparam("org")
_CPRS: BindParameter[Any] = bindparam("cprs", expanding=True)
_HEAD = select(func.coalesce(func.max(CH.seq), 0))
_OWN_CHILDREN = select(C.cpr).where(C.org_gln == _ORG, C.status == _ACTIVE)
_PAGE = (
    select(
        CH.seq,
        CH.cpr,
        CH.at,
        CH.kind,
        CH.owner_org,
        CH.entry_id,
        CH.shown,
        G.name.label("owner_name"),
        G.sector.label("owner_sector"),
    )
    .join(ORGANISATION, G.gln == CH.owner_org)
    .where(
        CH.seq > bindparam("since"),
        CH.seq <= bindparam("head"),
        CH.owner_org != _ORG,
        CH.cpr.in_(_OWN_CHILDREN),
    )
    .order_by(CH.seq)
    .limit(bindparam("limit"))
)
_JOINED = (
    select(C.cpr, func.min(C.created_at, type_=UtcDateTime).label("since"))
    .where(C.org_gln == _ORG, C.status == _ACTIVE, C.cpr.in_(_CPRS))
    .group_by(C.cpr)
)
_SECTOR = select(G.sector).where(G.gln == _ORG)
_NOTIFIED = select(N.cpr, N.owner_org, N.consent_id).where(
    N.cpr.in_(_CPRS), N.kind == NotificationKind.CONSENT_OPENED.value
)


async def _partner_events(
    *,
    engine: AsyncEngine,
    org_gln: str,
    since: int,
    limit: int,
    recent: timedelta,
    policy: ConsentPolicy,
) -> EventsPage:
    """The changes after ``since`` that ``org_gln`` may see (the module docstring's rule), at
    most ``limit`` looked at, oldest first, and what the page shows of each child. Private:
    read through :func:`coordinator.index.disclosure.disclose_partner_events`."""
    now = utcnow()
    async with guarded(engine, "the index", write=False) as conn:
        # the head first: every change numbered up to it has committed (commit order)
        head = int(await conn.scalar(_HEAD) or 0)
        if since >= head:
            return EventsPage(cursor=since)
        params = {"org": org_gln, "since": since, "head": head, "limit": limit + 1}
        rows = (await conn.execute(_PAGE, params)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        page = EventsPage(cursor=rows[-1].seq if more else head, more=more)
        if not rows:
            return page
        cprs = sorted({row.cpr for row in rows})
        caller_sector = await conn.scalar(_SECTOR, {"org": org_gln})
        joined = {
            r.cpr: r.since for r in await conn.execute(_JOINED, {"org": org_gln, "cprs": cprs})
        }
        notified: dict[str, list[Any]] = {}
        for r in await conn.execute(_NOTIFIED, {"cprs": cprs}):
            notified.setdefault(r.cpr, []).append(r)
        facts = {cpr: await consent_facts(conn, cpr) for cpr in cprs if cpr in joined}
    if caller_sector is None:
        return page
    caller = Party(Sector(caller_sector), org_gln)
    opened_by: dict[str, dict[str, ConsentFacts | None]] = {cpr: {} for cpr in cprs}
    shown: dict[str, set[str]] = {}

    def may_show(cpr: str, gln: str, sector: str) -> bool:
        judged = opened_by[cpr]
        if gln not in judged:
            verdict = judge(
                caller=caller,
                owner=Party(Sector(sector), gln),
                age=age_on(parse_cpr(cpr).birth_date, now.date()),
                consents=facts[cpr],
                now=now,
                policy=policy,
            )
            judged[gln] = None if isinstance(verdict, Missing) else verdict
        return judged[gln] is not None

    for row in rows:
        start = joined.get(row.cpr)
        if start is None or row.at < start:
            continue  # the case closed since, or the change came before the caller joined
        data = json.loads(row.shown)
        kind = PartnerEventType(row.kind)
        if kind.value.startswith("appointment-") and (
            datetime.fromisoformat(data["starts_at"]) < now - recent
        ):
            continue  # an appointment long past: the overview does not show it either
        if not may_show(row.cpr, row.owner_org, row.owner_sector):
            continue
        shown.setdefault(row.cpr, set()).add(row.owner_org)
        page.events.append(
            FoundEvent(
                seq=row.seq,
                cpr=row.cpr,
                at=row.at,
                kind=kind,
                owner_org=row.owner_org,
                owner_name=row.owner_name,
                owner_sector=row.owner_sector,
                entry_id=row.entry_id,
                shown=data,
            )
        )
    for cpr in sorted(shown):
        owners = sorted(shown[cpr])
        openings = _first_openings(owners, opened_by[cpr], notified.get(cpr, []))
        page.children.append(ChildShown(parse_cpr(cpr), tuple(owners), tuple(openings)))
    return page
