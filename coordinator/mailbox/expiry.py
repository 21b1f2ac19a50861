"""The sweep: expire letters nobody acknowledged in time, flag overdue receipts.

* A letter (XDIS91/XBIN01) not acknowledged within ``Settings.message_ttl`` becomes
  ``expired``, leaves the receiver's inbox, and the sender gets an XCTL01 negative network
  receipt from the hub (``Settings.network_gln``) in its own inbox. MedCom maps no XCTL01
  to FHIR (C11): a FHIR organisation's letter sent as FHIR is answered instead with one
  MedCom Acknowledgement of its MessageHeader (``fatal-error``, an OperationOutcome saying
  the letter was not delivered), built as every Acknowledgement is
  (:func:`messages.fhir.answer.acknowledgement_for`), from the letter's receiver to
  its sender; one for the message, though its XDIS91 and XBIN01 both expire (the other
  letter's row is locked before it is looked at, and the sweep goes in ``(received_at,
  id)`` order, so two hub processes make one). It is stored as
  the XCTL01 (type ``XCTL01``, from the network, its body FHIR), so the letter retention
  and the letter's ``receipt_id`` treat it alike.
* A letter whose sender asked for a positive receipt (``pluspositivkvitt``) and has none
  after ``Settings.receipt_deadline`` (120 minutes) is flagged ``overdue``; the flag goes
  when the receipt comes, or when the letter expires (the sender has its XCTL01 then, and
  no receipt will come for a letter nobody can fetch any more).
* A letter held for a FHIR receiver (:mod:`coordinator.mailbox.submission`) whose other
  half has not come within 60 minutes goes into the receiver's inbox: an XDIS91 converted
  without its attachments' data, an XBIN01 as it is. A held letter is in no inbox, so it
  cannot expire while it waits; its ``message_ttl`` counts from its release
  (``released_at``), so the hour it waited is not taken from its receiver. An XBIN01 whose
  data its letter carries expires with that letter (its sender gets its XCTL01 too).

The deadlines are judged by the clock the sweep is given (the hub's ``CLOCK``: now, UTC).

Each change is a conditional update, so several hub processes sweeping the same database
expire a letter once and send one XCTL01.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.database.committer import Batch, Committer
from coordinator.database.keys import new_key
from coordinator.database.statements import ForEngine
from coordinator.errors import CoordinatorError
from coordinator.mailbox.conversion import FHIR_JSON, release_unclaimed
from coordinator.mailbox.status import MessageStatus, sources_of, transition
from coordinator.settings import Settings
from coordinator.tables import MESSAGE, ORGANISATION, MessageFormat, new_message_row
from messages.errors import MessageError, RefuseCode
from messages.fhir.answer import MessageRef, acknowledgement_for
from messages.fhir.build import build_fhir
from messages.fhir.model import AckCode, Organization
from messages.identifiers import derived_message_id
from messages.medcom.documents import build_message
from messages.medcom.model import MessageType
from messages.medcom.receipts import negative_network_receipt
from messages.medcom.routing import Routing

log = logging.getLogger(__name__)
M = MESSAGE.c

EXPIRABLE = sorted(s.value for s in sources_of(MessageStatus.EXPIRED))
"""The statuses a letter expires from (the state machine's word, for the query)."""
AWAITING_RECEIPT = sorted(s.value for s in sources_of(MessageStatus.RECEIPTED))
"""The statuses of a letter a receipt may still answer."""


SENDER = ORGANISATION.alias("sender")
RECEIVER = ORGANISATION.alias("receiver")


_DUE_COLUMNS = (
    M.id,
    M.status,
    M.type,
    M.sender_gln,
    M.receiver_gln,
    M.envelope_id,
    M.letter_id,
    M.ack_requested,
    M.episode_id,
    M.received_at,
    M.sent_as,
    M.fhir_message_id,
    SENDER.c.format.label("sender_format"),
    SENDER.c.sor.label("sender_sor"),
    RECEIVER.c.sor.label("receiver_sor"),
)
_DUE_FROM = MESSAGE.outerjoin(SENDER, SENDER.c.gln == M.sender_gln).outerjoin(
    RECEIVER, RECEIVER.c.gln == M.receiver_gln
)


def expire_due(
    *, ttl: timedelta, network_gln: str, now: datetime | None = None, limit: int = 200
) -> Any:
    """Op: expire up to ``limit`` letters older than ``ttl`` at ``now`` (default: the
    commit's time), each with the XBIN01 it carries (:func:`~coordinator.mailbox.conversion.
    pair_binary`: its data inside a FHIR receiver's letter), which expires with it and is
    told to its sender as the letter is; how many letters expired. In ``(received_at, id)``
    order, so hub processes sweeping at once change rows in one order."""

    async def op(conn: AsyncConnection, batch: Batch) -> int:
        cutoff = (now or batch.now) - ttl
        due = (
            await conn.execute(
                select(*_DUE_COLUMNS)
                .select_from(_DUE_FROM)
                .where(
                    M.in_inbox.is_(True),
                    M.received_at < cutoff,
                    or_(M.released_at.is_(None), M.released_at < cutoff),  # held first
                    M.type.in_(MessageType.codes(receipts=False)),
                    M.status.in_(EXPIRABLE),
                )
                .order_by(M.received_at, M.id)
                .limit(limit)
            )
        ).all()
        expired = 0
        for row in due:
            if not await _expire(conn, batch, row, network_gln=network_gln, ttl=ttl):
                continue  # acknowledged or expired by another process meanwhile
            expired += 1
            carried = await conn.execute(
                select(*_DUE_COLUMNS)
                .select_from(_DUE_FROM)
                .where(M.paired_with == row.id, M.status.in_(EXPIRABLE))
                .order_by(M.id)
            )
            for binary in carried.all():
                await _expire(conn, batch, binary, network_gln=network_gln, ttl=ttl, inbox=False)
        return expired

    return op


async def _expire(
    conn: AsyncConnection,
    batch: Batch,
    row: Any,
    *,
    network_gln: str,
    ttl: timedelta,
    inbox: bool = True,
) -> bool:
    """Expire the letter ``row`` (in its receiver's inbox, or out of it: an XBIN01 its
    letter carries) and tell its sender; whether it changed."""
    new = transition(MessageStatus(row.status), MessageStatus.EXPIRED)  # the state machine's
    changed = await conn.execute(
        update(MESSAGE)
        .where(M.id == row.id, M.status.in_(EXPIRABLE), M.in_inbox.is_(inbox))
        .values(
            status=new.value,
            in_inbox=False,
            overdue=False,  # no receipt will come: the sender has the XCTL01
            updated_at=batch.now,
        )
    )
    if changed.rowcount != 1:
        return False
    receipt_id = await _tell_sender(conn, row, network_gln=network_gln, batch=batch, ttl=ttl)
    await conn.execute(update(MESSAGE).where(M.id == row.id).values(receipt_id=receipt_id))
    batch.event(row.id, new)
    batch.wake.add(row.sender_gln)
    log.info("message %s expired; receipt %s sent to %s", row.id, receipt_id, row.sender_gln)
    return True


def _answers_fhir(row: Any) -> bool:
    """Whether the expired letter's sender reads FHIR and sent it as a FHIR message: it is
    answered with an Acknowledgement of that message (an XCTL01 it could not read)."""
    return (
        row.sender_format == MessageFormat.FHIR.value
        and row.sent_as == MessageFormat.FHIR.value
        and row.fhir_message_id is not None
    )


_SIBLINGS = ForEngine(
    lambda kind: kind.lock(
        select(M.id, M.status, M.receipt_id)
        .where(
            M.sender_gln == bindparam("sender"),
            M.received_at == bindparam("received"),
            M.fhir_message_id == bindparam("message"),
            M.id != bindparam("id"),
        )
        .order_by(M.id)
    )
)
"""A FHIR message's other letter, locked (PostgreSQL; on SQLite the committer holds the
write lock): a process that expires one of them waits for another that expired the other
to commit, and then answers with that one's Acknowledgement, so the message has one."""


async def _tell_sender(
    conn: AsyncConnection, row: Any, *, network_gln: str, batch: Batch, ttl: timedelta
) -> uuid.UUID:
    """Put the expired letter's receipt in its sender's inbox (an XCTL01 or, for a FHIR
    sender's message, one Acknowledgement for the message's letters); its id."""
    text = _expiry_text(row, ttl)
    if not _answers_fhir(row):
        receipt = negative_network_receipt(
            _routing(row),
            network_id=network_gln,
            refuse_code=RefuseCode.NOT_SPECIFIED,
            text=text,
            now=batch.now,
        )
        made = new_message_row(
            id=new_key(),
            type=MessageType.XCTL01.value,
            sender_gln=network_gln,
            receiver_gln=row.sender_gln,
            envelope_id=receipt.envelope.identifier,
            letter_id=receipt.letter_identifier,
            body=build_message(receipt),
            received_at=batch.now,
            original_id=row.id,
        )
    else:
        siblings = await conn.execute(  # the message's other letter (a FHIR letter's XBIN01)
            _SIBLINGS.of(conn),
            {
                "sender": row.sender_gln,
                "received": row.received_at,
                "message": row.fhir_message_id,
                "id": row.id,
            },
        )
        told = next(
            (
                s.receipt_id
                for s in siblings.all()
                if s.status == MessageStatus.EXPIRED.value and s.receipt_id is not None
            ),
            None,
        )
        if told is not None:  # expired already, by this sweep or another process's
            return uuid.UUID(str(told))
        letter = MessageRef(
            header_id=row.fhir_message_id,
            sender=Organization(id="", sor=row.sender_sor, gln=row.sender_gln),
            receiver=Organization(id="", sor=row.receiver_sor, gln=row.receiver_gln),
        )
        ack = acknowledgement_for(  # from the letter's receiver, to its sender
            letter,
            now=batch.now,
            code=AckCode.FATAL_ERROR,
            details=f"Brevet er ikke leveret. {text}",
        )
        made = new_message_row(
            id=new_key(),
            type=MessageType.XCTL01.value,
            sender_gln=network_gln,
            receiver_gln=row.sender_gln,
            envelope_id=derived_message_id(ack.bundle_id, "envelope"),
            letter_id=derived_message_id(ack.header_id, "letter"),
            body=build_fhir(ack),
            received_at=batch.now,
            original_id=row.id,
            body_type=FHIR_JSON,
            fhir_bundle_id=ack.bundle_id,
            fhir_message_id=ack.header_id,
        )
    await conn.execute(insert(MESSAGE).values(made))
    batch.event(made["id"], MessageStatus.ACCEPTED)
    return uuid.UUID(str(made["id"]))


def _routing(row: Any) -> Routing:
    return Routing(
        type=MessageType(row.type),
        envelope_identifier=row.envelope_id,
        letter_identifier=row.letter_id,
        sender_gln=row.sender_gln,
        receiver_gln=row.receiver_gln,
        ack_requested=row.ack_requested,
        episode_of_care_identifier=row.episode_id,
        original=None,
        warnings=(),
    )


def _expiry_text(row: Any, ttl: timedelta) -> str:
    within = danish_duration(ttl)
    if row.status == MessageStatus.DOWNLOADED.value:
        return (
            f"Brevet er hentet af modtageren, men modtagelsen er ikke bekræftet inden for "
            f"{within}; brevet er udløbet."
        )
    return f"Brevet er ikke hentet af modtageren inden for {within} og er udløbet."


_UNITS = (
    (86400, "dag", "dage"),
    (3600, "time", "timer"),
    (60, "minut", "minutter"),
    (1, "sekund", "sekunder"),
)


def danish_duration(span: timedelta) -> str:
    """``span`` as a person writes it in Danish: "5 dage", "1 time og 30 minutter"."""
    left = round(span.total_seconds())
    if left < 1:
        return "under 1 sekund"
    parts: list[str] = []
    for size, one, many in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {one if count == 1 else many}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " og " + parts[-1]


def flag_overdue(*, deadline: timedelta, now: datetime | None = None) -> Any:
    """Op: flag letters whose requested positive receipt is overdue at ``now`` (default: the
    commit's time); how many."""

    async def op(conn: AsyncConnection, batch: Batch) -> int:
        result = await conn.execute(
            update(MESSAGE)
            .where(
                M.ack_requested.is_(True),
                M.overdue.is_(False),
                M.receipt_id.is_(None),
                M.type.in_(MessageType.codes(receipts=False)),
                M.status.in_(AWAITING_RECEIPT),
                M.received_at < (now or batch.now) - deadline,
            )
            .values(overdue=True)
        )
        return int(result.rowcount)

    return op


async def sweep_once(
    committer: Committer, settings: Settings, clock: Callable[[], datetime] | None = None
) -> tuple[int, int]:
    """Expire and flag what is due at ``clock()`` (default: the commit's time)."""
    expired = await committer.call(
        expire_due(
            ttl=settings.message_ttl,
            network_gln=settings.network_gln,
            now=clock() if clock else None,
        )
    )
    overdue = await committer.call(
        flag_overdue(deadline=settings.receipt_deadline, now=clock() if clock else None)
    )
    released = await committer.call(release_unclaimed(clock() if clock else None))
    if released:
        log.info("%d attachments (XBIN01) whose letter never came went on as they are", released)
    return expired, overdue


async def sweep_forever(
    committer: Committer, settings: Settings, clock: Callable[[], datetime] | None = None
) -> None:
    """The expiry task: sweep every ``Settings.expiry_interval`` seconds until cancelled."""
    while True:
        await asyncio.sleep(settings.expiry_interval)
        try:
            await sweep_once(committer, settings, clock)
        except (CoordinatorError, MessageError, SQLAlchemyError) as exc:
            log.warning(
                "expiry sweep failed (%s); trying again later",
                exc.code
                if isinstance(exc, CoordinatorError | MessageError)
                else type(exc).__name__,
            )
