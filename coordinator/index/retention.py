"""The index's retention job: what the index no longer needs, it deletes.

* Closed cases are deleted ``Settings.index_retention`` (default 2 years) after they closed,
  and appointments that long after they ended, and the change log's rows (the
  partner-events feed) that long after they were recorded.
* Everything about a child (cases, appointments, consents and their disputes, the
  coordinator, the access log, what owners were told about the child, the change log) is
  deleted on the day
  they turn ``Settings.index_delete_age`` (default 23), read from the birth date of the CPR.

Each run deletes in bounded steps (one committer transaction each) until nothing is due.
Deletions are counted for ``/metrics`` and logged as counts: never a CPR number.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.database.committer import Batch, Committer
from coordinator.index.tables import (
    ACCESS_LOG,
    APPOINTMENT,
    CASE,
    CHANGE,
    CHILD,
    CONSENT,
    COORDINATOR,
    DISCLOSURE,
    DISPUTE,
    NOTIFICATION,
)
from coordinator.settings import Settings
from coordinator.state import COMMITTER, SETTINGS
from coordinator.tasks import Counts, every, owned
from wire.entries import CaseStatus

log = logging.getLogger(__name__)

STEP = 2000  # most rows of one kind, or children, deleted in one transaction


@dataclass(slots=True)
class Deleted(Counts):
    """What was deleted (counts only)."""

    children: int = 0
    cases: int = 0
    appointments: int = 0
    consents: int = 0
    coordinators: int = 0
    access_log: int = 0
    notifications: int = 0
    changes: int = 0


RETENTION_TOTALS = web.AppKey("retention_totals", Deleted)


def born_on_or_before(day: date, years: int) -> date:
    """The latest birth date of someone who is ``years`` old on ``day``."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return date(day.year - years, 3, 1) - timedelta(days=1)


def delete_due(*, retention: timedelta, delete_age: int, step: int = STEP) -> Any:
    """Op: one bounded step of retention; what it deleted."""

    async def op(conn: AsyncConnection, batch: Batch) -> Deleted:
        cutoff = batch.now - retention
        c, a = CASE.c, APPOINTMENT.c
        closed = select(c.id).where(
            c.status == CaseStatus.CLOSED.value, c.closed_on < cutoff.date()
        )
        cases = await conn.execute(delete(CASE).where(c.id.in_(closed.limit(step))))
        past = select(a.id).where(a.ends_at < cutoff)
        appointments = await conn.execute(delete(APPOINTMENT).where(a.id.in_(past.limit(step))))
        old = select(CHANGE.c.seq).where(CHANGE.c.at < cutoff)  # the feed's changes
        changes = await conn.execute(delete(CHANGE).where(CHANGE.c.seq.in_(old.limit(step))))
        done = Deleted(
            cases=cases.rowcount, appointments=appointments.rowcount, changes=changes.rowcount
        )

        latest_birth = born_on_or_before(batch.now.date(), delete_age)
        grown = list(
            await conn.scalars(
                select(CHILD.c.cpr).where(CHILD.c.born_on <= latest_birth).limit(step // 10)
            )
        )
        if grown:
            views = select(ACCESS_LOG.c.id).where(ACCESS_LOG.c.cpr.in_(grown))
            await conn.execute(delete(DISCLOSURE).where(DISCLOSURE.c.access_id.in_(views)))
            await conn.execute(delete(DISPUTE).where(DISPUTE.c.cpr.in_(grown)))  # before consents
            done.add(
                Deleted(
                    access_log=(
                        await conn.execute(delete(ACCESS_LOG).where(ACCESS_LOG.c.cpr.in_(grown)))
                    ).rowcount,
                    cases=(await conn.execute(delete(CASE).where(c.cpr.in_(grown)))).rowcount,
                    appointments=(
                        await conn.execute(delete(APPOINTMENT).where(a.cpr.in_(grown)))
                    ).rowcount,
                    consents=(
                        await conn.execute(delete(CONSENT).where(CONSENT.c.cpr.in_(grown)))
                    ).rowcount,
                    coordinators=(
                        await conn.execute(delete(COORDINATOR).where(COORDINATOR.c.cpr.in_(grown)))
                    ).rowcount,
                    notifications=(
                        await conn.execute(
                            delete(NOTIFICATION).where(NOTIFICATION.c.cpr.in_(grown))
                        )
                    ).rowcount,
                    changes=(
                        await conn.execute(delete(CHANGE).where(CHANGE.c.cpr.in_(grown)))
                    ).rowcount,
                    children=(
                        await conn.execute(delete(CHILD).where(CHILD.c.cpr.in_(grown)))
                    ).rowcount,
                )
            )
        return done

    return op


async def run_retention(
    committer: Committer, settings: Settings, totals: Deleted | None = None
) -> Deleted:
    """Delete everything due, step by step; the counts (logged, never a CPR), also added to
    ``totals`` (the process's counters for ``/metrics``)."""
    total = Deleted()
    while True:
        step = await committer.call(
            delete_due(retention=settings.index_retention, delete_age=settings.index_delete_age)
        )
        total.add(step)
        if totals is not None:
            totals.add(step)
        if step.cases < STEP and step.appointments < STEP and step.children < STEP // 10:
            break
    if total.total:
        log.info(
            "index retention deleted %d children, %d cases, %d appointments, %d consents, "
            "%d coordinators, %d access-log entries, %d notifications",
            total.children,
            total.cases,
            total.appointments,
            total.consents,
            total.coordinators,
            total.access_log,
            total.notifications,
        )
    return total


async def retain_forever(committer: Committer, settings: Settings, totals: Deleted) -> None:
    """The scheduled job: run retention now and every ``Settings.retention_interval``."""
    await every(
        settings.retention_interval,
        lambda: run_retention(committer, settings, totals),
        what="index retention",
        log=log,
    )


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """The retention job's owner (a ``cleanup_ctx``): started with the hub, cancelled with it."""
    totals = Deleted()
    app[RETENTION_TOTALS] = totals
    job = retain_forever(app[COMMITTER], app[SETTINGS], totals)
    async with owned(job, name="samspil-retention"):
        yield


def retention_metrics(app: web.Application) -> dict[str, float]:
    """Deletion counters for ``/metrics`` (since this process started)."""
    totals = app.get(RETENTION_TOTALS)
    if totals is None:
        return {}
    return totals.metrics("samspil_index_retention_deleted")
