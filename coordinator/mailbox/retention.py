"""Letter retention: a delivered letter leaves the hub, and the child's CPR with it.

The hub is a mailbox, not an archive: the letter lives on in its receiver's system (and its
sender's), so the hub keeps it only as long as its parties may still follow it. Removed,
``Settings.letter_retention`` (default 7 days) after the time named:

* a **delivered letter** (XDIS91, XBIN01) its receiver acknowledged, or that was receipted
  or rejected (out of the receiver's inbox): after its last status change, so a receipt that
  comes after the acknowledgement starts the period again;
* a **receipt** (XCTL01/02/03) its receiver acknowledged: after that acknowledgement;
* an **expired letter**: after its sender acknowledged the XCTL01 that told it the letter was
  not delivered (:mod:`coordinator.mailbox.expiry`); until then an operator may re-deliver it.

A conversion record (:mod:`coordinator.mailbox.conversion`: which FHIR message became or
came from which OIOXML letters) is removed three months after the conversion; a receipt
that comes later passes unconverted.

An XBIN01 whose data went inside its letter's CareCommunication (a FHIR receiver) takes
its letter's status (:func:`~coordinator.mailbox.conversion.follow_letters`), so it is
removed with it.

A letter still waiting in an inbox (accepted, downloaded) is never removed here: it expires
first. An expired letter whose XCTL01 was never acknowledged stays until it is.

What goes: the ``message`` row, and with it the body, the child's CPR (``patient_cpr``,
kept beside an XDIS91 for ``suggested_case``), the subject, and every ``message_event`` of
the message. What stays: a **tombstone** in ``message_removed`` (id, type, sender and
receiver GLN, envelope and letter identifiers, last status, when it arrived, last changed
and was removed), because the hub promises that nothing accepted is doubled: a sender whose
adapter sends the same letter again days later (the same envelope and letter identifiers)
is answered ``200`` duplicate with the first id and nothing is delivered, a new envelope for
the same letter is a resend counted against MedCom's limit
(:mod:`coordinator.mailbox.intake`), and ``GET /v1/messages/{id}`` (``/status``, ``/ack``)
tells the sender and receiver ``410 letter-removed`` with what became of it, not ``404``.
The tombstones are kept: without one, a late repeat would be delivered a second time. They
hold no child's data.

The sweep runs in bounded steps (:data:`STEP` messages each, one committer transaction), so
a backlog never holds the tables long; on PostgreSQL each step locks the rows it removes
(``FOR UPDATE SKIP LOCKED``), so hub processes sweeping the same database share the work and
remove each message once. The deadlines are judged by the clock the sweep is given (the
hub's ``CLOCK``: now, UTC). Removals are counted for ``/metrics`` and logged as counts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import bindparam, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.database.committer import Batch, Committer, Op
from coordinator.database.statements import ForEngine
from coordinator.mailbox.conversion import remove_old_records
from coordinator.mailbox.status import MessageStatus
from coordinator.settings import Settings
from coordinator.state import CLOCK, COMMITTER, SETTINGS
from coordinator.tables import MESSAGE, MESSAGE_EVENT, REMOVED_MESSAGE
from coordinator.tasks import Counts, every, owned
from messages.medcom.model import MessageType

log = logging.getLogger(__name__)

STEP = 200
"""Most messages of each kind (expired, delivered) removed in one transaction."""

DELIVERED = sorted(
    s.value for s in (MessageStatus.ACKNOWLEDGED, MessageStatus.RECEIPTED, MessageStatus.REJECTED)
)
"""The statuses of a message its receiver took in (acknowledged, or answered by a receipt)."""

M = MESSAGE.c
R = REMOVED_MESSAGE.c
_REPORT = MESSAGE.alias("report")
_TOMBSTONE_COLUMNS = (
    M.id,
    M.type,
    M.sender_gln,
    M.receiver_gln,
    M.envelope_id,
    M.letter_id,
    M.status,
    M.received_at,
    M.updated_at,
)
# updated_at >= received_at, so ``received_at < cutoff`` changes no answer; it lets both
# queries walk ix_message_sweep (in_inbox, received_at) instead of the whole table
_EXPIRED_DUE = (
    select(*_TOMBSTONE_COLUMNS)
    .where(
        M.in_inbox.is_(False),
        M.status == MessageStatus.EXPIRED.value,
        M.received_at < bindparam("cutoff"),
        M.receipt_id.is_not(None),
        or_(
            exists().where(  # its sender acknowledged the XCTL01 before the cutoff
                _REPORT.c.id == M.receipt_id,
                _REPORT.c.in_inbox.is_(False),
                _REPORT.c.status.in_(DELIVERED),
                _REPORT.c.updated_at < bindparam("cutoff"),
            ),
            exists().where(R.id == M.receipt_id),  # ... and the XCTL01 was removed already
        ),
    )
    .order_by(M.received_at)
    .limit(bindparam("step"))
)
_DELIVERED_DUE = (
    select(*_TOMBSTONE_COLUMNS)
    .where(
        M.in_inbox.is_(False),
        M.status.in_(DELIVERED),
        M.received_at < bindparam("cutoff"),
        M.updated_at < bindparam("cutoff"),
    )
    .order_by(M.received_at)
    .limit(bindparam("step"))
)
_DUE = {
    "expired": ForEngine(lambda kind: kind.lock(_EXPIRED_DUE, skip_locked=True)),
    "delivered": ForEngine(lambda kind: kind.lock(_DELIVERED_DUE, skip_locked=True)),
}
# a tombstone already there (another process's step) is kept as it is: any conflict
_TOMBSTONE = ForEngine(lambda kind: kind.insert(REMOVED_MESSAGE).on_conflict_do_nothing())
_LETTERS = frozenset(MessageType.codes(receipts=False))


@dataclass(slots=True)
class Removed(Counts):
    """What the letter retention removed (counts only)."""

    letters: int = 0  # delivered letters (XDIS91, XBIN01)
    expired: int = 0  # expired letters, after their XCTL01
    receipts: int = 0  # receipts (XCTL01, XCTL02, XCTL03)
    conversions: int = 0  # conversion records past three months (coordinator.mailbox.conversion)


LETTER_RETENTION_TOTALS = web.AppKey("letter_retention_totals", Removed)


def remove_due(
    *, retention: timedelta, now: datetime | None = None, step: int = STEP
) -> Op[tuple[Removed, bool]]:
    """Op: one bounded step of letter retention at ``now`` (default: the commit's time); what
    it removed, and whether more may be due (a query found ``step`` messages)."""

    async def op(conn: AsyncConnection, batch: Batch) -> tuple[Removed, bool]:
        at = now or batch.now
        params = {"cutoff": at - retention, "step": step}
        expired = (await conn.execute(_DUE["expired"].of(conn), params)).all()
        delivered = (await conn.execute(_DUE["delivered"].of(conn), params)).all()
        more = len(expired) == step or len(delivered) == step
        rows = [*expired, *delivered]  # disjoint: expired is not a delivered status
        if not rows:
            return Removed(), more
        await conn.execute(
            _TOMBSTONE.of(conn),
            [{**row._asdict(), "removed_at": at} for row in rows],
        )
        await conn.execute(
            delete(MESSAGE_EVENT).where(MESSAGE_EVENT.c.message_id.in_([r.id for r in rows]))
        )
        kinds = {
            "expired": [r.id for r in expired],
            "letters": [r.id for r in delivered if r.type in _LETTERS],
            "receipts": [r.id for r in delivered if r.type not in _LETTERS],
        }
        removed = Removed()
        for name, ids in kinds.items():
            if ids:  # counted as deleted: a row another process removed first is not counted
                gone = await conn.execute(delete(MESSAGE).where(M.id.in_(ids)))
                setattr(removed, name, gone.rowcount)
        return removed, more

    return op


async def run_letter_retention(
    committer: Committer,
    settings: Settings,
    clock: Callable[[], datetime] | None = None,
    totals: Removed | None = None,
    *,
    step: int = STEP,
) -> Removed:
    """Remove everything due at ``clock()`` (default: each commit's time), ``step`` messages
    of each kind per transaction; the counts (logged), also added to ``totals`` (the
    process's counters for ``/metrics``)."""
    total = Removed()
    while True:
        done, more = await committer.call(
            remove_due(
                retention=settings.letter_retention,
                now=clock() if clock else None,
                step=step,
            )
        )
        total.add(done)
        if totals is not None:
            totals.add(done)
        if not more:
            break
    old = Removed(conversions=await committer.call(remove_old_records(clock() if clock else None)))
    total.add(old)
    if totals is not None:
        totals.add(old)
    if total.total:
        log.info(
            "letter retention removed %d delivered letters, %d expired letters, %d receipts "
            "and %d conversion records",
            total.letters,
            total.expired,
            total.receipts,
            total.conversions,
        )
    return total


async def retain_letters_forever(
    committer: Committer,
    settings: Settings,
    clock: Callable[[], datetime],
    totals: Removed,
) -> None:
    """The scheduled job: run letter retention now and every ``Settings.retention_interval``."""
    await every(
        settings.retention_interval,
        lambda: run_letter_retention(committer, settings, clock, totals),
        what="letter retention",
        log=log,
    )


async def letter_retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """The letter retention job's owner (a ``cleanup_ctx``): started with the hub, on the
    hub's clock, and cancelled with it."""
    totals = Removed()
    app[LETTER_RETENTION_TOTALS] = totals
    job = retain_letters_forever(app[COMMITTER], app[SETTINGS], app[CLOCK], totals)
    async with owned(job, name="samspil-letter-retention"):
        yield


def letter_retention_metrics(app: web.Application) -> dict[str, float]:
    """Removal counters for ``/metrics`` (since this process started)."""
    totals = app.get(LETTER_RETENTION_TOTALS)
    if totals is None:
        return {}
    return totals.metrics("samspil_letter_retention_removed")
