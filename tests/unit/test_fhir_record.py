"""What the hub keeps of a conversion (identifiers and parties, no CPR, no text) answers the
receipts' questions as the whole conversion does; identifiers derived from a FHIR message's
are stable and fit OIOXML."""

from __future__ import annotations

import json
import re

from messages.fhir.answer import acknowledgement_for
from messages.fhir.convert.letter import oioxml_from_care_communication
from messages.fhir.convert.receipts import (
    acknowledgement_from_receipts,
    receipts_from_acknowledgement,
)
from messages.fhir.convert.record import ConversionRecord, record_facts, record_from_facts
from messages.identifiers import derived_message_id
from messages.medcom.model import Receipt
from messages.medcom.receipts import receipt_for
from tests.fhir_samples import NOW, counting_ids, sample_care_communication


def _record() -> ConversionRecord:
    message = sample_care_communication()
    letter, binary = oioxml_from_care_communication(message, now=NOW, new_id=counting_ids())
    return ConversionRecord(message=message, letter=letter, binary=binary)


def _answers(receipt: Receipt) -> tuple[object, ...]:
    """What a receipt says, without its own (new) identifiers."""
    return (
        receipt.type,
        receipt.sender_ean,
        receipt.receiver_ean,
        receipt.original_envelope_identifier,
        receipt.original_letters,
    )


def test_the_kept_facts_hold_no_cpr_and_no_text() -> None:
    record = _record()
    kept = json.dumps(record_facts(record))
    for cpr in record.message.patient.cprs:
        assert cpr not in kept
    assert record.message.texts[0].text[:20] not in kept


def test_receipts_from_the_kept_facts_are_those_of_the_conversion() -> None:
    record = _record()
    kept = record_from_facts(json.loads(json.dumps(record_facts(record))))
    ack = acknowledgement_for(record.message, now=NOW, new_id=counting_ids())
    whole = receipts_from_acknowledgement(ack, record, now=NOW)
    again = receipts_from_acknowledgement(ack, kept, now=NOW)
    assert [_answers(r) for r in whole] == [_answers(r) for r in again]

    assert record.binary is not None
    xctl = [receipt_for(record.letter), receipt_for(record.binary)]
    assert acknowledgement_from_receipts(xctl, kept, now=NOW) is not None
    assert acknowledgement_from_receipts(xctl[:1], kept, now=NOW) is None  # one missing


def test_derived_identifiers_are_stable_and_fit_oioxml() -> None:
    one = derived_message_id("3611f793-8aae-46fe-bb11-4be58ef93d1f", "letter")
    assert one == derived_message_id("3611f793-8aae-46fe-bb11-4be58ef93d1f", "letter")
    assert one != derived_message_id("3611f793-8aae-46fe-bb11-4be58ef93d1f", "envelope")
    assert re.fullmatch(r"[0-9A-Z]{14}", one)
