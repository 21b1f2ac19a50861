"""Letters and receipts between an OIOXML and a FHIR organisation: the conversion records.

A letter the hub converts (XDIS91 + XBIN01 ⇄ CareCommunication) leaves a record in
``message_conversion`` (MedCom's rule C11): its FHIR MessageHeader.id, the OIOXML letters'
identifiers, and the parties the receipts need (no CPR, no text). The record is kept
:data:`KEPT` (three months: :func:`remove_old_records`, run by the letter retention); a
receipt that comes later passes unconverted.

* A FHIR organisation's Acknowledgement finds its record by the MessageHeader.id it answers
  (:func:`record_for_message`) and becomes one XCTL per OIOXML letter.
* An XDIS91 for a FHIR organisation whose XBIN01 has not come is kept held with its record
  (the objects it awaits): its XBIN01 finds it (:func:`letter_awaiting`) and completes it
  in its own intake transaction (:func:`claim_letter`), or, when the two were committed at
  once, in the pairing after their commits
  (:func:`~coordinator.mailbox.submission.pair_held`); after :data:`BINARY_WAIT` the
  sweep releases it without the data (:func:`release_unclaimed`) and a later XBIN01 passes
  (:func:`release_binary`). The XBIN01 a letter carries is marked so on its row
  (``paired_with``: :func:`pair_binary`, :func:`carry_binary`), is never released on its
  own, and takes its letter's status (:func:`follow_letters`), so it leaves the hub with it.
* An OIOXML organisation's XCTL for a FHIR sender's letter finds its record by the letter
  it answers (:func:`record_for_receipt`); the receipts are gathered on the record
  (:func:`gather_receipt`, in the intake's transaction, the record's row locked) and, once
  one has come for each OIOXML letter, become one Acknowledgement for the FHIR sender.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.database.committer import Batch, Op
from coordinator.database.keys import new_key
from coordinator.database.reader import Reader
from coordinator.database.statements import ForEngine, Query, Write
from coordinator.mailbox.status import MessageStatus, sources_of
from coordinator.tables import (
    MESSAGE,
    MESSAGE_CONVERSION,
    ORGANISATION,
    MessageFormat,
    new_message_row,
)
from messages.errors import MessageError
from messages.fhir.build import build_fhir
from messages.fhir.convert.receipts import acknowledgement_from_receipts
from messages.fhir.convert.record import record_from_facts
from messages.identifiers import derived_message_id
from messages.medcom.model import MessageType
from messages.medcom.receipts import read_receipt
from messages.xmlsafe import parse_xml

log = logging.getLogger(__name__)

__all__ = [
    "FHIR_JSON",
    "KEPT",
    "Awaiting",
    "Carried",
    "Claim",
    "Partner",
    "carry_binary",
    "claim_letter",
    "follow_letters",
    "gather_receipt",
    "held_binaries",
    "keep_records",
    "letter_awaiting",
    "pair_binary",
    "partners",
    "record_for_message",
    "record_for_receipt",
    "release_binary",
    "release_unclaimed",
    "remove_old_records",
]

KEPT = timedelta(days=92)
"""How long a conversion record is kept (C11: three months); later receipts pass
unconverted."""
FHIR_JSON = "application/fhir+json"
OIOXML = "application/xml"

ACCEPTED = MessageStatus.ACCEPTED.value
C = MESSAGE_CONVERSION.c
M = MESSAGE.c
ORG = ORGANISATION.c


@dataclass(frozen=True, slots=True)
class Partner:
    """What the hub's conversion needs of a registered organisation."""

    gln: str
    format: MessageFormat
    sor: str | None
    name: str


def _partners(conn: Connection, glns: list[str]) -> dict[str, Partner]:
    rows = conn.execute(
        select(ORG.gln, ORG.format, ORG.sor, ORG.name).where(ORG.gln.in_(glns))
    ).all()
    return {r.gln: Partner(r.gln, MessageFormat(r.format), r.sor, r.name) for r in rows}


async def partners(*, reader: Reader, glns: list[str]) -> dict[str, Partner]:
    """The registered organisations among ``glns``."""
    return await reader(_partners, sorted(set(glns)))


def _held(conn: Connection, sender: str, receiver: str) -> list[Any]:
    return list(
        conn.execute(
            select(M.id, M.body)
            .where(
                M.sender_gln == sender,
                M.receiver_gln == receiver,
                M.type == MessageType.XBIN01.value,
                M.in_inbox.is_(False),
                M.status == ACCEPTED,
                M.paired_with.is_(None),
            )
            .order_by(M.received_at.desc(), M.id)
        ).all()
    )


async def held_binaries(*, reader: Reader, sender: str, receiver: str) -> list[Any]:
    """The XBIN01 ``sender`` sent to the FHIR organisation ``receiver`` that wait for their
    XDIS91 (held, no letter carries them; newest first; ``id`` and ``body``): all of them,
    at most an hour's (the sweep releases them then), so no other letter hides one."""
    return await reader(_held, sender, receiver)


def _by_message(conn: Connection, fhir_gln: str, message_id: str, since: datetime) -> Any:
    return conn.execute(
        select(C.id, C.facts).where(
            C.fhir_gln == fhir_gln, C.fhir_message_id == message_id, C.created_at >= since
        )
    ).first()


async def record_for_message(
    *, reader: Reader, fhir_gln: str, message_id: str, now: datetime
) -> Any:
    """The record (``id``, ``facts``) of the FHIR message ``message_id`` that the hub made
    for ``fhir_gln`` within :data:`KEPT`, else None."""
    return await reader(_by_message, fhir_gln, message_id, now - KEPT)


def _record_by(column: Any) -> Query:
    return Query(
        select(C.id).where(
            C.fhir_gln == bindparam("fhir"),
            C.oioxml_gln == bindparam("oioxml"),
            column == bindparam("letter"),
            C.created_at >= bindparam("since"),
        )
    )


# by the XDIS91's or the XBIN01's letter identifier: two index probes (an OR of the two
# would read every record of the FHIR organisation's three months)
_RECORD_BY_LETTER = (
    (_record_by(C.letter_id), "letter"),
    (_record_by(C.binary_letter_id), "binary"),
)


def _by_letter(
    conn: Connection, fhir_gln: str, oioxml_gln: str, letters: tuple[str, ...], since: datetime
) -> tuple[uuid.UUID, str] | None:
    for letter in letters:
        for query, slot in _RECORD_BY_LETTER:
            params = {"fhir": fhir_gln, "oioxml": oioxml_gln, "letter": letter, "since": since}
            row = query.first(conn, params)
            if row is not None:
                return row.id, slot
    return None


async def record_for_receipt(
    *,
    reader: Reader,
    fhir_gln: str,
    oioxml_gln: str,
    letters: tuple[str, ...],
    now: datetime,
) -> tuple[uuid.UUID, str] | None:
    """The record of the FHIR sender ``fhir_gln``'s letter that an XCTL from ``oioxml_gln``
    answers (its letter identifiers ``letters``), and which of its letters the receipt
    answers (``letter`` or ``binary``); None past :data:`KEPT` or for no converted letter."""
    found: tuple[uuid.UUID, str] | None = await reader(
        _by_letter, fhir_gln, oioxml_gln, letters, now - KEPT
    )
    return found


@dataclass(frozen=True, slots=True)
class Awaiting:
    """A letter from an OIOXML organisation converted for a FHIR one without the data of
    attachments whose XBIN01 had not come: its conversion record and its XDIS91's row."""

    record_id: uuid.UUID
    message_id: uuid.UUID | None  # None: the XDIS91 is gone (the retention removed it)
    held: bool  # the XDIS91 waits for its XBIN01 (not in the receiver's inbox yet)
    original: bytes | None  # the XDIS91 as its sender sent it
    fhir_bundle_id: str | None
    fhir_message_id: str | None


def _awaiting(
    conn: Connection, fhir_gln: str, oioxml_gln: str, objects: list[str], since: datetime
) -> list[Any]:
    letter = (
        (M.sender_gln == C.oioxml_gln)
        & (M.receiver_gln == C.fhir_gln)
        & (M.envelope_id == C.letter_envelope_id)
        & (M.letter_id == C.letter_id)
    )
    return list(
        conn.execute(
            select(
                C.id,
                C.facts,
                M.id.label("message_id"),
                M.status,
                M.in_inbox,
                M.original,
                M.fhir_bundle_id,
                M.fhir_message_id,
            )
            .select_from(MESSAGE_CONVERSION.outerjoin(MESSAGE, letter))
            .where(
                C.fhir_gln == fhir_gln,
                C.oioxml_gln == oioxml_gln,
                C.binary_letter_id.is_(None),
                C.created_at >= since,
                # the records that name one of the objects (read exactly below): no other
                # letter between the two halves hides the one that awaits them
                or_(*(C.facts.contains(json.dumps(key), autoescape=True) for key in objects)),
            )
            .order_by(C.created_at.desc(), C.id)
        ).all()
    )


def _held_letter(row: Any) -> bool:
    return row.message_id is not None and not row.in_inbox and row.status == ACCEPTED


async def letter_awaiting(
    *, reader: Reader, fhir_gln: str, oioxml_gln: str, objects: set[str], now: datetime
) -> Awaiting | None:
    """The letter from ``oioxml_gln`` converted for ``fhir_gln`` without the attachments
    ``objects`` (object identifiers without hyphens, lower case), newest first: held, their
    XBIN01 comes in time; released, it comes late. None: no letter waits for them."""
    if not objects:
        return None
    for row in await reader(_awaiting, fhir_gln, oioxml_gln, sorted(objects), now - KEPT):
        try:
            awaiting = set(json.loads(row.facts).get("awaiting") or ())
        except (ValueError, AttributeError):
            continue
        if awaiting & objects:
            return Awaiting(
                record_id=row.id,
                message_id=row.message_id,
                held=_held_letter(row),
                original=bytes(row.original) if row.original is not None else None,
                fhir_bundle_id=row.fhir_bundle_id,
                fhir_message_id=row.fhir_message_id,
            )
    return None


@dataclass(frozen=True, slots=True)
class Claim:
    """A held XDIS91 (``letter``) made whole by the XBIN01 that came for it: its new body
    (the CareCommunication with the attachment's data) and its conversion record's new
    columns."""

    letter: uuid.UUID
    record_id: uuid.UUID
    body: bytes
    record: dict[str, Any]


_RECORD_LOCKED = ForEngine(
    lambda kind: kind.lock(
        select(C.binary_envelope_id, C.binary_letter_id).where(C.id == bindparam("record"))
    )
)
_HELD_BINARY = ForEngine(
    lambda kind: kind.lock(
        select(M.id).where(
            M.id == bindparam("binary"),
            M.in_inbox.is_(False),
            M.status == ACCEPTED,
            M.paired_with.is_(None),
        )
    )
)


def claim_letter(
    conn: Connection, batch: Batch, claim: Claim, binary_id: uuid.UUID, at: datetime
) -> bool:
    """Pair a held XDIS91 with its XBIN01 (``binary_id``, stored held), in the transaction
    that stores the XBIN01 or in a pairing after the commit of either
    (:func:`~coordinator.mailbox.submission.pair_held`): the letter takes the converted body
    and goes into the FHIR receiver's inbox, the record knows both letters, and the XBIN01
    stays out of the inbox (inside the letter). Whether this paired them.

    Serialised per letter: the conversion record's row is locked first (PostgreSQL; on
    SQLite the committer holds the write lock), so of two transactions that pair the same
    letter (its XBIN01's intake, and the pairings after an XDIS91 and its XBIN01 committed
    at once, maybe in two hub processes) the second sees what the first did:

    * the record holds this XBIN01 already: nothing to do (paired by the first);
    * the XBIN01 is no longer held (the sweep let it go as it is): nothing to do;
    * the letter is no longer held (the sweep released it without the data), or the record
      holds another XBIN01: this XBIN01 goes into the inbox as it is (C10: late).

    A release is ``at`` the XBIN01's arrival (the pair's, after the commit)."""
    record = conn.execute(_RECORD_LOCKED.of(conn), {"record": claim.record_id}).first()
    mine = (claim.record["binary_envelope_id"], claim.record["binary_letter_id"])
    if record is not None and (record.binary_envelope_id, record.binary_letter_id) == mine:
        return False
    if conn.execute(_HELD_BINARY.of(conn), {"binary": binary_id}).first() is None:
        return False
    taken = None
    if record is not None and record.binary_letter_id is None:
        taken = conn.execute(
            update(MESSAGE)
            .where(M.id == claim.letter, M.in_inbox.is_(False), M.status == ACCEPTED)
            .values(
                body=claim.body,
                size=len(claim.body),
                in_inbox=True,
                released_at=at,
                updated_at=batch.now,
            )
            .returning(M.receiver_gln)
        ).first()
    if taken is None:
        release_binary(conn, batch, binary_id, at)
        return False
    columns = ("binary_envelope_id", "binary_letter_id", "facts")
    conn.execute(
        update(MESSAGE_CONVERSION)
        .where(C.id == claim.record_id)
        .values(**{k: claim.record[k] for k in columns})
    )
    pair_binary(conn, batch, binary_id, claim.letter)
    batch.wake.add(taken.receiver_gln)
    return True


@dataclass(frozen=True, slots=True)
class Carried:
    """The held XBIN01 (``binary``) whose data an XDIS91 carries (its XBIN01 came first),
    and what that XDIS91 is if the sweep released the XBIN01 before the XDIS91's commit:
    its CareCommunication without the data (``bare``, the same ids) and its conversion
    record's row for that (``record``: awaiting the attachments, as a letter released
    without them)."""

    binary: uuid.UUID
    bare: bytes
    record: dict[str, Any]


def carry_binary(
    conn: Connection, batch: Batch, carried: Carried, letter: uuid.UUID, record: dict[str, Any]
) -> dict[str, Any]:
    """In the transaction that stores the XDIS91 ``letter`` (its conversion record's row
    ``record``): pair the held XBIN01 it carries (:func:`pair_binary`), or, if the sweep
    released that XBIN01 meanwhile, store the letter without its data, so the data is
    delivered once. The conversion record's row to keep."""
    if pair_binary(conn, batch, carried.binary, letter):
        return record
    conn.execute(
        update(MESSAGE).where(M.id == letter).values(body=carried.bare, size=len(carried.bare))
    )
    return carried.record


def pair_binary(conn: Connection, batch: Batch, binary_id: uuid.UUID, letter: uuid.UUID) -> bool:
    """Mark the held XBIN01 ``binary_id`` as carried by the letter ``letter`` (its data in
    the CareCommunication), in the transaction that stores or completes the letter: from
    then on it is never released on its own (:func:`release_unclaimed`) and its status
    follows the letter's (:func:`follow_letters`). Whether it was still held and unpaired:
    the UPDATE locks its row, so of this and the sweep's release exactly one happens."""
    paired = conn.execute(
        update(MESSAGE)
        .where(
            M.id == binary_id,
            M.in_inbox.is_(False),
            M.status == ACCEPTED,
            M.paired_with.is_(None),
        )
        .values(paired_with=letter, updated_at=batch.now)
    )
    return paired.rowcount == 1


def follow_letters(
    conn: Connection, batch: Batch, letters: list[uuid.UUID], new: MessageStatus
) -> list[uuid.UUID]:
    """The XBIN01 that ``letters`` carry take the letters' new status (fetched,
    acknowledged), where the state machine allows it, in the transaction that changes the
    letters: they leave the hub with their letter (the letter retention). The XBIN01 whose
    status changed."""
    if not letters:
        return []
    changed = conn.execute(
        update(MESSAGE)
        .where(
            M.paired_with.in_(letters),
            M.status.in_(sorted(s.value for s in sources_of(new))),
        )
        .values(status=new.value, in_inbox=False, leased_until=None, updated_at=batch.now)
        .returning(M.id)
    ).all()
    for row in changed:
        batch.event(row.id, new)
    return [row.id for row in changed]


def release_binary(conn: Connection, batch: Batch, binary_id: uuid.UUID, at: datetime) -> None:
    """A held XBIN01 no held letter can take (its letter went without it, or it does not
    carry all the letter's attachments) goes into its receiver's inbox as it is (C10)."""
    released = conn.execute(
        update(MESSAGE)
        .where(M.id == binary_id, M.in_inbox.is_(False), M.status == ACCEPTED)
        .values(in_inbox=True, released_at=at, updated_at=batch.now)
        .returning(M.receiver_gln)
    ).first()
    if released is not None:
        batch.wake.add(released.receiver_gln)


def keep_records(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert conversion records (in the intake's transaction)."""
    if rows:
        conn.execute(MESSAGE_CONVERSION.insert(), rows)


_RECORD_FOR_RECEIPT = ForEngine(
    lambda kind: Query(
        kind.lock(
            select(
                C.oioxml_gln, C.fhir_gln, C.facts, C.letter_receipt, C.binary_receipt, C.answered
            ).where(C.id == bindparam("record"))
        )
    )
)
_GATHERED = Write(
    update(MESSAGE_CONVERSION)
    .where(C.id == bindparam("b_record"))
    .values(
        letter_receipt=bindparam("b_letter"),
        binary_receipt=bindparam("b_binary"),
        answered=bindparam("b_answered"),
    )
)
_NEW_MESSAGE = Write(insert(MESSAGE), list(MESSAGE.c.keys()))


def gather_receipt(
    conn: Connection,
    batch: Batch,
    conversion_id: uuid.UUID,
    slot: str,
    receipt: bytes,
    receipt_id: uuid.UUID,
) -> uuid.UUID | None:
    """Gather an XCTL on its record (in the intake's transaction, the record's row locked);
    once each OIOXML letter has one, put the Acknowledgement for them in the FHIR sender's
    inbox (once per record). The XCTL itself is not delivered: the intake stores it as taken
    by the hub for its receiver (``acknowledged``), so the letter retention removes it in
    time. A receipt is kept on the record only while the other one is awaited. The new
    message's id, or None."""
    row = _RECORD_FOR_RECEIPT.of(conn).first(conn, {"record": conversion_id})
    if row is None or row.answered:
        return None
    letter = receipt if slot == "letter" else row.letter_receipt
    binary = receipt if slot == "binary" else row.binary_receipt
    try:
        record = record_from_facts(json.loads(row.facts))
        receipts = [read_receipt(parse_xml(b)) for b in (letter, binary) if b is not None]
        ack = acknowledgement_from_receipts(receipts, record, now=batch.now)
    except (MessageError, ValueError) as exc:
        log.warning("receipts for conversion %s not converted: %s", conversion_id, exc.__class__)
        ack = None
    answered = ack is not None
    _GATHERED.many(
        conn,
        [
            {
                "b_record": conversion_id,
                "b_letter": None if answered else letter,
                "b_binary": None if answered else binary,
                "b_answered": answered,
            }
        ],
    )
    if ack is None:
        return None
    message_id = new_key()
    _NEW_MESSAGE.many(
        conn,
        [
            new_message_row(
                id=message_id,
                type=(MessageType.XCTL03 if ack.positive else MessageType.XCTL02).value,
                sender_gln=row.oioxml_gln,
                receiver_gln=row.fhir_gln,
                envelope_id=derived_message_id(ack.bundle_id, "envelope"),
                letter_id=derived_message_id(ack.header_id, "letter"),
                body=build_fhir(ack),
                received_at=batch.now,
                body_type=FHIR_JSON,
                fhir_bundle_id=ack.bundle_id,
                fhir_message_id=ack.header_id,
            )
        ],
    )
    batch.event(message_id, MessageStatus.ACCEPTED, batch.now)
    batch.wake.add(row.fhir_gln)
    return message_id


BINARY_WAIT = timedelta(minutes=60)
"""How long a held letter waits for its other half (MedCom's 60 minutes, C10): an XDIS91
for its XBIN01, an XBIN01 for its XDIS91."""


def release_unclaimed(now: datetime | None = None) -> Op[int]:
    """A committer op (run by the expiry sweep): the letters held for a FHIR receiver whose
    other half did not come within :data:`BINARY_WAIT` go into their receiver's inbox: an
    XDIS91 as it was converted, without the attachments' data (its late XBIN01 will pass as
    it is), an XBIN01 that no converted letter took as it is (never one a letter carries:
    ``paired_with``); how many. An XDIS91 whose receiver an operator switched to OIOXML
    while it waited goes as its sender sent it (``original``): in the receiver's format now.
    """

    async def op(conn: AsyncConnection, batch: Batch) -> int:
        due = (
            M.in_inbox.is_(False),
            M.status == ACCEPTED,
            M.received_at < (now or batch.now) - BINARY_WAIT,
        )
        reads_oioxml = (
            select(ORG.gln)
            .where(ORG.gln == M.receiver_gln, ORG.format == MessageFormat.OIOXML.value)
            .exists()
        )
        await conn.execute(
            update(MESSAGE)
            .where(M.type == MessageType.XDIS91.value, M.original.is_not(None), reads_oioxml, *due)
            .values(
                body=M.original,
                size=func.length(M.original),
                body_type=OIOXML,
                original=None,
                fhir_bundle_id=None,
                fhir_message_id=None,
            )
        )
        result = await conn.execute(
            update(MESSAGE)
            .where(
                or_(
                    M.type == MessageType.XDIS91.value,
                    and_(M.type == MessageType.XBIN01.value, M.paired_with.is_(None)),
                ),
                *due,
            )
            .values(in_inbox=True, released_at=now or batch.now, updated_at=batch.now)
            .returning(M.receiver_gln)
        )
        receivers = [row.receiver_gln for row in result.all()]
        batch.wake.update(receivers)
        return len(receivers)

    return op


def remove_old_records(now: datetime | None = None) -> Op[int]:
    """A committer op: delete the conversion records older than :data:`KEPT` at ``now``
    (default: the commit's time); how many. Run by the letter retention."""

    async def op(conn: AsyncConnection, batch: Batch) -> int:
        cutoff = (now or batch.now) - KEPT
        result = await conn.execute(delete(MESSAGE_CONVERSION).where(C.created_at < cutoff))
        return int(result.rowcount or 0)

    return op
