"""Taking messages in: duplicates, resends, receipts linked to their letters.

:func:`accept_many` is the committer's bulk write: all messages of a group are checked
against the store with one query and inserted with one statement. MedCom's rules:

* the same sender, envelope identifier and letter identifier again is a **duplicate**: it is
  answered with the first one's id and never delivered twice (a unique constraint backs this
  up across hub processes: ``INSERT ... ON CONFLICT DO NOTHING``);
* the same letter with a new envelope identifier is a **resend**: accepted and flagged;
* a receipt (XCTL02/XCTL03) is linked to the letter it answers, whose status becomes
  ``rejected`` or ``receipted``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.committer import Batch
from coordinator.status import MessageStatus, sources_of
from coordinator.tables import MESSAGE
from messages.medcom.model import MessageType
from messages.medcom.routing import Routing

log = logging.getLogger(__name__)

RECEIPT_TYPES = (MessageType.XCTL01.value, MessageType.XCTL02.value, MessageType.XCTL03.value)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A validated message on its way into the store."""

    routing: Routing
    body: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Accepted:
    """What the sender is told."""

    id: uuid.UUID
    status: MessageStatus
    duplicate: bool
    resend: bool


def _row(incoming: Incoming, message_id: uuid.UUID, resend_of: uuid.UUID | None) -> dict[str, Any]:
    r = incoming.routing
    return {
        "id": message_id,
        "type": r.type.value,
        "sender_gln": r.sender_gln,
        "receiver_gln": r.receiver_gln,
        "envelope_id": r.envelope_identifier,
        "letter_id": r.letter_identifier,
        "episode_id": r.episode_of_care_identifier,
        "ack_requested": r.ack_requested and not r.type.is_receipt,
        "is_resend": resend_of is not None,
        "resend_of": resend_of,
        "original_id": None,
        "status": MessageStatus.ACCEPTED.value,
        "in_inbox": True,
        "body": incoming.body,
        "size": len(incoming.body),
        "received_at": incoming.received_at,
        "updated_at": incoming.received_at,
        "receipt_id": None,
        "overdue": False,
    }


def _insert(conn: AsyncConnection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(MESSAGE)
        .on_conflict_do_nothing(index_elements=["sender_gln", "envelope_id", "letter_id"])
        .returning(MESSAGE.c.id)
    )


async def accept_many(conn: AsyncConnection, batch: Batch, items: list[Any]) -> list[Any]:
    """Store the group's new messages; one :class:`Accepted` per item, in order."""
    incoming: list[Incoming] = items
    letters = {(i.routing.sender_gln, i.routing.letter_identifier) for i in incoming}
    c = MESSAGE.c
    found = await conn.execute(
        select(c.id, c.sender_gln, c.envelope_id, c.letter_id, c.status, c.received_at)
        # two INs, not a row-value IN: SQLite uses the (sender_gln, letter_id) index for
        # these and scans the table for the other; extra rows found are harmless
        .where(
            c.sender_gln.in_({sender for sender, _ in letters}),
            c.letter_id.in_({letter for _, letter in letters}),
        )
        .order_by(c.received_at)
    )
    exact: dict[tuple[str, str, str], tuple[uuid.UUID, MessageStatus]] = {}
    first_of_letter: dict[tuple[str, str], uuid.UUID] = {}
    for row in found:
        exact[(row.sender_gln, row.envelope_id, row.letter_id)] = (
            row.id,
            MessageStatus(row.status),
        )
        first_of_letter.setdefault((row.sender_gln, row.letter_id), row.id)

    results: list[Accepted | None] = []
    rows: list[dict[str, Any]] = []
    fresh: dict[uuid.UUID, int] = {}  # new id -> position in results
    made_here: set[tuple[str, str, str]] = set()
    for position, item in enumerate(incoming):
        r = item.routing
        key = (r.sender_gln, r.envelope_identifier, r.letter_identifier)
        if key in made_here:  # repeated within this group: answered at the end
            results.append(None)
            continue
        if key in exact:
            known_id, status = exact[key]
            results.append(Accepted(known_id, status, duplicate=True, resend=False))
            continue
        message_id = uuid.uuid4()
        resend_of = first_of_letter.get((r.sender_gln, r.letter_identifier))
        rows.append(_row(item, message_id, resend_of))
        exact[key] = (message_id, MessageStatus.ACCEPTED)
        made_here.add(key)
        first_of_letter.setdefault((r.sender_gln, r.letter_identifier), message_id)
        fresh[message_id] = position
        results.append(None)

    if rows:
        inserted = {got.id for got in await conn.execute(_insert(conn), rows)}
        lost = [new for new in rows if new["id"] not in inserted]
        for new in rows:
            if new["id"] in inserted:
                position = fresh[new["id"]]
                results[position] = Accepted(
                    new["id"], MessageStatus.ACCEPTED, duplicate=False, resend=new["is_resend"]
                )
                batch.event(new["id"], MessageStatus.ACCEPTED, new["received_at"])
                batch.wake.add(new["receiver_gln"])
        for new in lost:  # another hub process stored the same message first
            winner = (
                await conn.execute(
                    select(c.id, c.status).where(
                        and_(
                            c.sender_gln == new["sender_gln"],
                            c.envelope_id == new["envelope_id"],
                            c.letter_id == new["letter_id"],
                        )
                    )
                )
            ).one()
            results[fresh[new["id"]]] = Accepted(
                winner.id, MessageStatus(winner.status), duplicate=True, resend=False
            )
            key = (new["sender_gln"], new["envelope_id"], new["letter_id"])
            exact[key] = (winner.id, MessageStatus(winner.status))
        for position, item in enumerate(incoming):
            accepted = results[position]
            if accepted is not None and not accepted.duplicate and item.routing.type.is_receipt:
                await link_receipt(conn, batch, receipt_id=accepted.id, routing=item.routing)
    # an item that repeated an earlier item of this group got that item's (final) answer
    final: list[Any] = []
    for position, item in enumerate(incoming):
        accepted = results[position]
        if accepted is None:
            r = item.routing
            known_id, status = exact[(r.sender_gln, r.envelope_identifier, r.letter_identifier)]
            accepted = Accepted(known_id, status, duplicate=True, resend=False)
        final.append(accepted)
    return final


async def link_receipt(
    conn: AsyncConnection, batch: Batch, *, receipt_id: uuid.UUID, routing: Routing
) -> int:
    """Mark the letter(s) a receipt answers; how many changed status."""
    original = routing.original
    if original is None or routing.type is MessageType.XCTL01:
        return 0
    if original.sender_gln != routing.receiver_gln:
        log.warning("receipt %s names an original sender other than its receiver", receipt_id)
        return 0
    new = MessageStatus.RECEIPTED if routing.type is MessageType.XCTL03 else MessageStatus.REJECTED
    c = MESSAGE.c
    letters = (
        await conn.execute(
            select(c.id, c.status, c.envelope_id).where(
                c.sender_gln == original.sender_gln,
                c.receiver_gln == routing.sender_gln,
                c.letter_id.in_(list(original.letter_identifiers)),
                c.type.not_in(RECEIPT_TYPES),
            )
        )
    ).all()
    if not letters:
        log.info("receipt %s answers no letter in the store", receipt_id)
        return 0
    primary = next(
        (row for row in letters if row.envelope_id == original.envelope_identifier), letters[0]
    )
    await conn.execute(update(MESSAGE).where(c.id == receipt_id).values(original_id=primary.id))
    changed = 0
    allowed = [s.value for s in sources_of(new)]
    for row in letters:
        if MessageStatus(row.status) not in sources_of(new):
            continue
        result = await conn.execute(
            update(MESSAGE)
            .where(c.id == row.id, c.status.in_(allowed))  # no lost update across processes
            .values(
                status=new.value,
                receipt_id=receipt_id,
                in_inbox=False,
                overdue=False,
                updated_at=batch.now,
            )
        )
        if result.rowcount == 1:
            batch.event(row.id, new)
            changed += 1
    return changed
