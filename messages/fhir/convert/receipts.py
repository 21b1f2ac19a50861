"""Receipts (C11): one Acknowledgement ⇄ two XCTL (one for the XDIS91, one for its XBIN01).

* Acknowledgement → XCTL: ``ok`` → an XCTL03 per letter; any other code → an XCTL02 per
  letter, each with the error text and MedCom's fixed sentence.
* XCTL → Acknowledgement: both XCTL03 → ``ok``; any XCTL02 → ``fatal-error`` (the refusal
  is the receiver's judgement of the content: resending it unchanged will not help); one
  of the two missing → nothing yet (``None``). XCTL01 is not mapped.

Which letters a receipt answers is known from the :class:`ConversionRecord` kept when the
letter was converted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from messages.errors import ConversionError, RefuseCode
from messages.fhir.answer import acknowledgement_for
from messages.fhir.convert.record import ConversionRecord
from messages.fhir.model import (
    AckCode,
    Acknowledgement,
)
from messages.identifiers import new_message_id
from messages.medcom.model import (
    VERSION_CODES,
    BinaryLetter,
    Correspondence,
    Envelope,
    MessageType,
    OriginalLetter,
    Receipt,
)
from messages.medcom.model import (
    AckCode as EnvelopeAck,
)
from messages.medcom.text import from_plain, to_plain
from messages.medcom.xmlcodec import local_minute

__all__ = [
    "CONVERSION_FAILED_SENTENCE",
    "acknowledgement_from_receipts",
    "receipts_from_acknowledgement",
]

CONVERSION_FAILED_SENTENCE = (
    "Konverteringen ml. XML/EDI og FHIR kunne ikke udføres korrekt pga. tekniske el. "
    "indholdsmæssige forhold i meddelelsen."
)


def _originals(record: ConversionRecord) -> list[Correspondence | BinaryLetter]:
    return [record.letter, *([record.binary] if record.binary is not None else [])]


def receipts_from_acknowledgement(
    ack: Acknowledgement, record: ConversionRecord, *, now: datetime
) -> tuple[Receipt, ...]:
    """C11: the XCTL receipts (one per OIOXML letter of the conversion) for ``ack``."""
    if ack.response_identifier != record.message.header_id:
        raise ConversionError(
            "the Acknowledgement answers another message than this conversion's",
            code="conversion-not-this-message",
        )
    positive = ack.code == AckCode.OK
    kind = MessageType.XCTL03 if positive else MessageType.XCTL02
    text = None
    if not positive:
        lead = f"{ack.details}\n" if ack.details else ""
        text = from_plain(f"{lead}{CONVERSION_FAILED_SENTENCE}")
    moment = local_minute(now)
    return tuple(
        Receipt(
            type=kind,
            statistical_code=kind.value,
            envelope=Envelope(identifier=new_message_id(), sent=moment, ack_code=EnvelopeAck.NONE),
            letter_identifier=new_message_id(),
            sender_ean=original.receiver.ean,
            receiver_ean=original.sender.ean,
            original_envelope_identifier=original.envelope.identifier,
            original_sender_ean=original.sender.ean,
            original_receiver_ean=original.receiver.ean,
            original_letters=(
                OriginalLetter(
                    identifier=original.letter_identifier,
                    version_code=VERSION_CODES[original.type],
                    refuse_code=None if positive else RefuseCode.NOT_SPECIFIED,
                    refuse_text=text,
                ),
            ),
        )
        for original in _originals(record)
    )


def _refusal_text(receipt: Receipt, letter: OriginalLetter) -> str | None:
    text = letter.refuse_text or receipt.refuse_text
    if text is not None:
        return to_plain(text)
    code = letter.refuse_code or receipt.refuse_code
    return code.value if code is not None else None


def acknowledgement_from_receipts(
    receipts: Sequence[Receipt],
    record: ConversionRecord,
    *,
    now: datetime,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Acknowledgement | None:
    """C11: the Acknowledgement for the conversion's FHIR message once a receipt for each
    of its OIOXML letters is at hand (``None`` while one is missing)."""
    wanted = {(o.envelope.identifier, o.letter_identifier): o.type for o in _originals(record)}
    found: dict[tuple[str, str], tuple[Receipt, OriginalLetter]] = {}
    for receipt in receipts:
        if receipt.type is MessageType.XCTL01:
            continue
        for letter in receipt.original_letters:
            key = (receipt.original_envelope_identifier, letter.identifier)
            if key in wanted:
                found[key] = (receipt, letter)
    if set(found) != set(wanted):
        return None
    refusals = [
        text
        for receipt, letter in found.values()
        if receipt.type is MessageType.XCTL02 and (text := _refusal_text(receipt, letter))
    ]
    negative = any(r.type is MessageType.XCTL02 for r, _ in found.values())
    return acknowledgement_for(
        record.message,
        now=now,
        code=AckCode.FATAL_ERROR if negative else AckCode.OK,
        details="\n".join(dict.fromkeys(refusals)) or None,
        new_id=new_id,
        sent_at=record.message.timestamp,
    )
