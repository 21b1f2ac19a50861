"""Taking messages in: duplicates, resends, receipts linked to their letters.

:func:`accept_many` is the committer's bulk write: all messages of a group are checked
against the store with one query and inserted with one statement; the receipts among them
are linked to their letters with one query and two statements. MedCom's rules:

* the same sender, envelope identifier and letter identifier again is a **duplicate**: it is
  answered with the first one's id and never delivered twice (a unique constraint backs this
  up across hub processes: ``INSERT ... ON CONFLICT DO NOTHING``), also after the letter
  retention removed the first one (:mod:`coordinator.mailbox.retention` keeps its
  identifiers in ``message_removed``);
* the same letter with a new envelope identifier is a **resend**: accepted and flagged, at
  most :data:`MAX_RESENDS` times (MedCom's rule; removed sends count); one more is refused
  with 409 ``resend-limit``;
* a receipt (XCTL02/XCTL03) is linked to the letter it answers, whose status becomes
  ``rejected`` or ``receipted``;
* a second positive receipt (a new envelope) for a letter already ``receipted`` is refused
  with 409 ``already-receipted`` and not stored: one receipt per letter, the first stays
  (an adapter and the system behind it may both receipt the same letter). A receipt for a
  letter the retention removed links to nothing: it is stored and delivered to its
  receiver, whose system matches it by the letter's identifiers.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.engine import Connection

from coordinator.database.committer import Batch
from coordinator.database.keys import new_key
from coordinator.database.statements import InsertIgnore, Lookup, Write
from coordinator.errors import AlreadyReceipted, Conflict, ResendLimit
from coordinator.mailbox.conversion import (
    Carried,
    Claim,
    carry_binary,
    claim_letter,
    gather_receipt,
    keep_records,
)
from coordinator.mailbox.status import MessageStatus, sources_of
from coordinator.tables import MESSAGE, REMOVED_MESSAGE, MessageFormat, new_message_row
from messages.medcom.model import MessageType
from messages.medcom.routing import NO_LETTER_FACTS, LetterFacts, Routing

log = logging.getLogger(__name__)

MAX_RESENDS = 3
"""MedCom: a letter may be sent again (same letter identifier, new envelope) at most 3 times."""

c = MESSAGE.c


@dataclass(frozen=True, slots=True)
class Form:
    """How a message travels between formats (:mod:`coordinator.mailbox.submission`): what
    its sender sent, what ``body`` is, and what the hub does with it."""

    sent_as: MessageFormat = MessageFormat.OIOXML
    body_type: str = "application/xml"  # the media type of the body the receiver fetches
    original: bytes | None = None  # the sender's bytes, when the hub converted them
    fhir_bundle_id: str | None = None
    fhir_message_id: str | None = None
    held: bool = False  # not for the receiver's inbox (folded into another, or converted)
    conversion: dict[str, Any] | None = None  # a conversion record to keep with it
    gather: tuple[uuid.UUID, str] | None = None  # an XCTL for a record: its id and slot
    claim: Claim | None = None  # an XBIN01 that completes a held XDIS91 (stored held)
    carries: Carried | None = None  # an XDIS91 with the data of a held XBIN01 (sent first)


OIOXML_FORM = Form()


@dataclass(frozen=True, slots=True)
class Incoming:
    """A validated message on its way into the store."""

    routing: Routing
    body: bytes
    received_at: datetime
    letter: LetterFacts = NO_LETTER_FACTS  # an XDIS91's child, subject and the letter it answers
    form: Form = OIOXML_FORM
    companion: Incoming | None = None  # stored with it: the XBIN01 of a converted letter


@dataclass(frozen=True, slots=True)
class Accepted:
    """What the sender is told."""

    id: uuid.UUID
    status: MessageStatus
    duplicate: bool
    resend: bool


def _row(incoming: Incoming, message_id: uuid.UUID, resend_of: uuid.UUID | None) -> dict[str, Any]:
    r = incoming.routing
    return new_message_row(
        id=message_id,
        type=r.type.value,
        sender_gln=r.sender_gln,
        receiver_gln=r.receiver_gln,
        envelope_id=r.envelope_identifier,
        letter_id=r.letter_identifier,
        body=incoming.body,
        received_at=incoming.received_at,
        episode_id=r.episode_of_care_identifier,
        ack_requested=r.ack_requested and not r.type.is_receipt,
        resend_of=resend_of,
        patient_cpr=incoming.letter.patient_cpr,
        subject=incoming.letter.subject,
        in_reply_to=incoming.letter.in_reply_to,
        sent_as=incoming.form.sent_as.value,
        body_type=incoming.form.body_type,
        original=incoming.form.original,
        fhir_bundle_id=incoming.form.fhir_bundle_id,
        fhir_message_id=incoming.form.fhir_message_id,
        in_inbox=not incoming.form.held,
        # an XCTL the hub takes for a FHIR receiver (gathered into an Acknowledgement)
        status=(
            MessageStatus.ACKNOWLEDGED
            if incoming.form.gather is not None
            else MessageStatus.ACCEPTED
        ),
    )


_KNOWN = Lookup(
    # two keys, not a row value: SQLite probes the (sender_gln, letter_id) index per letter
    # and PostgreSQL uses it for two INs (extra rows found are harmless). No ORDER BY:
    # sorting by received_at makes SQLite walk the sender's whole outbox index instead
    # (24 ms at 20,000 messages, against 0.1 ms), so the rows are sorted here
    select(c.id, c.sender_gln, c.envelope_id, c.letter_id, c.status, c.received_at),
    [c.sender_gln, c.letter_id],
)
_REMOVED = REMOVED_MESSAGE.c
_KNOWN_REMOVED = Lookup(  # the letters the retention removed: their identifiers stay
    select(
        _REMOVED.id,
        _REMOVED.sender_gln,
        _REMOVED.envelope_id,
        _REMOVED.letter_id,
        _REMOVED.status,
        _REMOVED.received_at,
    ),
    [_REMOVED.sender_gln, _REMOVED.letter_id],
)
_INSERT = InsertIgnore(MESSAGE, ["sender_gln", "envelope_id", "letter_id"])
_WINNER = select(c.id, c.status).where(
    and_(
        c.sender_gln == bindparam("sender"),
        c.envelope_id == bindparam("envelope"),
        c.letter_id == bindparam("letter"),
    )
)


def accept_many(conn: Connection, batch: Batch, items: list[Any]) -> list[Any]:
    """Store the group's new messages; per item an :class:`Accepted` or a
    :class:`ResendLimit` (the committer raises it for that request alone), in order. An
    item's companion (the XBIN01 a FHIR letter became beside its XDIS91) is stored with it
    in this transaction; the item's answer is its own."""
    given: list[Incoming] = items
    incoming: list[Incoming] = [*given]
    incoming.extend(i.companion for i in given if i.companion is not None)
    return _accept(conn, batch, incoming)[: len(given)]


def _accept(conn: Connection, batch: Batch, incoming: list[Incoming]) -> list[Any]:
    letters = {(i.routing.sender_gln, i.routing.letter_identifier) for i in incoming}
    # the stored messages first, then the removed ones: the retention moves a message from
    # one to the other in one transaction, so a row it moves meanwhile is seen in one of them
    known = [*_KNOWN.rows(conn, letters), *_KNOWN_REMOVED.rows(conn, letters)]
    found = sorted(known, key=lambda row: row.received_at)
    exact: dict[tuple[str, str, str], tuple[uuid.UUID, MessageStatus]] = {}
    first_of_letter: dict[tuple[str, str], uuid.UUID] = {}
    sent: Counter[tuple[str, str]] = Counter()  # envelopes per letter (first send + resends)
    for row in found:
        exact[(row.sender_gln, row.envelope_id, row.letter_id)] = (
            row.id,
            MessageStatus(row.status),
        )
        first_of_letter.setdefault((row.sender_gln, row.letter_id), row.id)
        sent[(row.sender_gln, row.letter_id)] += 1

    results: list[Accepted | Conflict | None] = []
    refused: dict[uuid.UUID, AlreadyReceipted] = {}
    rows: list[dict[str, Any]] = []
    fresh: dict[uuid.UUID, int] = {}  # new id -> position in results
    made_here: set[tuple[str, str, str]] = set()
    for position, item in enumerate(incoming):
        r = item.routing
        key = (r.sender_gln, r.envelope_identifier, r.letter_identifier)
        letter = (r.sender_gln, r.letter_identifier)
        if key in made_here:  # repeated within this group: answered at the end
            results.append(None)
            continue
        if key in exact:
            known_id, status = exact[key]
            results.append(Accepted(known_id, status, duplicate=True, resend=False))
            continue
        if sent[letter] > MAX_RESENDS:
            results.append(
                ResendLimit(
                    f"letter {r.letter_identifier} was already sent {sent[letter]} times "
                    f"(once and resent {sent[letter] - 1} times); MedCom allows at most "
                    f"{MAX_RESENDS} resends: send a new letter with a new identifier"
                )
            )
            continue
        message_id = new_key()
        resend_of = first_of_letter.get(letter)
        rows.append(_row(item, message_id, resend_of))
        exact[key] = (message_id, MessageStatus.ACCEPTED)
        made_here.add(key)
        sent[letter] += 1
        first_of_letter.setdefault(letter, message_id)
        fresh[message_id] = position
        results.append(None)

    if rows:
        # where no message has their sender, envelope and letter
        inserted = _INSERT.inserted(conn, rows)
        receipts: list[tuple[uuid.UUID, Routing]] = []
        records: list[dict[str, Any]] = []
        gathered: list[tuple[tuple[uuid.UUID, str], bytes, uuid.UUID]] = []
        claims: list[tuple[Claim, uuid.UUID, datetime]] = []
        for new in rows:
            if new["id"] not in inserted:  # another hub process stored the same message first
                winner = conn.execute(
                    _WINNER,
                    {
                        "sender": new["sender_gln"],
                        "envelope": new["envelope_id"],
                        "letter": new["letter_id"],
                    },
                ).one()
                results[fresh[new["id"]]] = Accepted(
                    winner.id, MessageStatus(winner.status), duplicate=True, resend=False
                )
                key = (new["sender_gln"], new["envelope_id"], new["letter_id"])
                exact[key] = (winner.id, MessageStatus(winner.status))
                continue
            results[fresh[new["id"]]] = Accepted(
                new["id"], MessageStatus.ACCEPTED, duplicate=False, resend=new["is_resend"]
            )
            batch.event(new["id"], MessageStatus.ACCEPTED, new["received_at"])
            batch.wake.add(new["receiver_gln"])
            item = incoming[fresh[new["id"]]]
            routing = item.routing
            if routing.type.is_receipt:
                receipts.append((new["id"], routing))
            conversion = item.form.conversion
            if item.form.carries is not None and conversion is not None:
                conversion = carry_binary(conn, batch, item.form.carries, new["id"], conversion)
            if conversion is not None:
                records.append({"id": new_key(), "created_at": batch.now, **conversion})
            if item.form.gather is not None:
                batch.event(new["id"], MessageStatus.ACKNOWLEDGED, batch.now)
                gathered.append((item.form.gather, item.body, new["id"]))
            if item.form.claim is not None:
                claims.append((item.form.claim, new["id"], new["received_at"]))
        keep_records(conn, records)
        # a held XDIS91 made whole by its XBIN01; records locked in one order (no deadlock)
        for claim, binary_id, at in sorted(claims, key=lambda c: c[0].record_id):
            claim_letter(conn, batch, claim, binary_id, at)
        if receipts:
            refused = _refuse_second_receipts(conn, batch, link_receipts(conn, batch, receipts))
            for receipt_id, refusal in refused.items():
                results[fresh[receipt_id]] = refusal
        # the XCTL for a FHIR sender's converted letter, once it is stored and linked; the
        # records locked in one order, as above
        for (conversion_id, slot), body, receipt_id in sorted(gathered, key=lambda g: g[0][0]):
            if receipt_id not in refused:
                gather_receipt(conn, batch, conversion_id, slot, body, receipt_id)
    # an item that repeated an earlier item of this group got that item's (final) answer
    final: list[Any] = []
    for position, item in enumerate(incoming):
        accepted = results[position]
        if accepted is None:
            r = item.routing
            known_id, status = exact[(r.sender_gln, r.envelope_identifier, r.letter_identifier)]
            accepted = refused.get(known_id) or Accepted(
                known_id, status, duplicate=True, resend=False
            )
        final.append(accepted)
    return final


def _refuse_second_receipts(
    conn: Connection, batch: Batch, receipts: set[uuid.UUID]
) -> dict[uuid.UUID, AlreadyReceipted]:
    """Take back the positive receipts stored in this transaction for letters that already
    had one; the refusal each sender gets."""
    if not receipts:
        return {}
    conn.execute(delete(MESSAGE).where(c.id.in_(receipts)))
    batch.events[:] = [e for e in batch.events if e["message_id"] not in receipts]
    return {
        receipt_id: AlreadyReceipted(
            "the letter this XCTL03 answers already has a positive receipt; one receipt per "
            "letter, the first stays"
        )
        for receipt_id in receipts
    }


_LETTERS = Lookup(  # PostgreSQL: rows locked in one order by every process, no deadlock
    select(c.id, c.status, c.envelope_id, c.sender_gln, c.receiver_gln, c.letter_id).where(
        *(c.type != kind for kind in MessageType.codes(receipts=True))  # no list to expand
    ),
    [c.sender_gln, c.letter_id],
    lock_order=c.id,
)
_LINK = Write(
    update(MESSAGE)
    .where(c.id == bindparam("b_receipt"))
    .values(original_id=bindparam("b_original"))
)
_ANSWER = Write(
    update(MESSAGE)
    .where(c.id == bindparam("b_letter"))
    .values(
        status=bindparam("b_status"),
        receipt_id=bindparam("b_receipt"),
        in_inbox=False,
        overdue=False,
        updated_at=bindparam("b_now"),
    )
)


def link_receipts(
    conn: Connection, batch: Batch, receipts: list[tuple[uuid.UUID, Routing]]
) -> set[uuid.UUID]:
    """Link new receipts to the letters they answer and mark those letters ``receipted`` or
    ``rejected``: one query and two statements for all of them. The positive receipts that
    answer letters already ``receipted`` are left unlinked and returned: the caller refuses
    them.

    The letters are read with their rows locked (PostgreSQL ``FOR UPDATE``; on SQLite the
    committer holds the write lock), so the status read is the one the update replaces.
    """
    wanted: list[tuple[uuid.UUID, Routing, MessageStatus]] = []
    for receipt_id, routing in receipts:
        original = routing.original
        if original is None or routing.type is MessageType.XCTL01:
            continue
        if original.sender_gln != routing.receiver_gln:
            log.warning("receipt %s names an original sender other than its receiver", receipt_id)
            continue
        new = (
            MessageStatus.RECEIPTED
            if routing.type is MessageType.XCTL03
            else MessageStatus.REJECTED
        )
        wanted.append((receipt_id, routing, new))
    if not wanted:
        return set()
    pairs = {
        (r.receiver_gln, x)
        for _, r, _ in wanted
        if r.original
        for x in r.original.letter_identifiers
    }
    found = sorted(_LETTERS.rows(conn, pairs), key=lambda row: row.id)
    status = {row.id: MessageStatus(row.status) for row in found}
    links: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    second: set[uuid.UUID] = set()
    for receipt_id, routing, new in wanted:
        original = routing.original
        assert original is not None
        letters = [
            row
            for row in found
            if row.sender_gln == original.sender_gln
            and row.receiver_gln == routing.sender_gln
            and row.letter_id in original.letter_identifiers
        ]
        if not letters:
            log.info("receipt %s answers no letter in the store", receipt_id)
            continue
        now_of = [status[row.id] for row in letters]
        if (
            new is MessageStatus.RECEIPTED
            and MessageStatus.RECEIPTED in now_of
            and not sources_of(new).intersection(now_of)
        ):  # receipted already, and no copy (a resend, a re-delivery) waits for one
            log.info("receipt %s refused: its letter already has a positive receipt", receipt_id)
            second.add(receipt_id)
            continue
        primary = next(
            (row for row in letters if row.envelope_id == original.envelope_identifier),
            letters[0],
        )
        links.append({"b_receipt": receipt_id, "b_original": primary.id})
        for row in letters:
            if status[row.id] not in sources_of(new):
                continue
            status[row.id] = new
            answers.append(
                {
                    "b_letter": row.id,
                    "b_status": new.value,
                    "b_receipt": receipt_id,
                    "b_now": batch.now,
                }
            )
            batch.event(row.id, new)
    if links:
        _LINK.many(conn, links)
    if answers:
        _ANSWER.many(conn, answers)
    return second
