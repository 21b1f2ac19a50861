"""What a conversion keeps: the FHIR message and the OIOXML letters it was converted from
or into, so that receipts can be converted later (C11: kept three months).

A hub keeps a record as its :func:`record_facts` (identifiers and parties only: no CPR, no
text) and rebuilds it with :func:`record_from_facts` when a receipt comes; the rebuilt
record answers every question :mod:`messages.fhir.convert.receipts` asks of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from messages.errors import ConversionError
from messages.fhir.model import CareCommunication, Organization, Patient
from messages.medcom.model import BinaryLetter, Correspondence, Envelope, Party
from messages.medcom.model import Patient as OioPatient

__all__ = ["ConversionRecord", "record_facts", "record_from_facts"]


@dataclass(frozen=True, slots=True)
class ConversionRecord:
    """One letter's conversion: ``message`` on the FHIR side; ``letter`` (XDIS91) and
    ``binary`` (its XBIN01, when it had attachments) on the OIOXML side."""

    message: CareCommunication
    letter: Correspondence
    binary: BinaryLetter | None = None


def _org(org: Organization) -> dict[str, str | None]:
    return {"id": org.id, "sor": org.sor, "gln": org.gln}


def _oio(letter: Correspondence | BinaryLetter) -> dict[str, str]:
    return {
        "envelope": letter.envelope.identifier,
        "letter": letter.letter_identifier,
        "sent": letter.envelope.sent.isoformat(),
        "sender": letter.sender.ean,
        "receiver": letter.receiver.ean,
    }


def record_facts(record: ConversionRecord) -> dict[str, Any]:
    """The record's identifiers and parties, as JSON-able values (no CPR, no text)."""
    m = record.message
    return {
        "message": {
            "bundle_id": m.bundle_id,
            "header_id": m.header_id,
            "timestamp": m.timestamp.isoformat() if m.timestamp else None,
            "sender": _org(m.sender),
            "receiver": _org(m.receiver),
        },
        "letter": _oio(record.letter),
        "binary": _oio(record.binary) if record.binary is not None else None,
    }


def _organization(facts: Any) -> Organization:
    return Organization(id=str(facts["id"]), sor=facts.get("sor"), gln=facts.get("gln"))


def _party(ean: str) -> Party:
    return Party(ean=ean, identifier=ean, identifier_code="lokationsnummer")


def _envelope(facts: Any) -> tuple[Envelope, datetime]:
    sent = datetime.fromisoformat(facts["sent"])
    return Envelope(identifier=facts["envelope"], sent=sent), sent


def record_from_facts(facts: Any) -> ConversionRecord:
    """The record :func:`record_facts` described, with placeholders where the receipts
    read nothing."""
    try:
        m = facts["message"]
        stamp = datetime.fromisoformat(m["timestamp"]) if m.get("timestamp") else None
        message = CareCommunication(
            bundle_id=str(m["bundle_id"]),
            timestamp=stamp or datetime.now(UTC),
            header_id=str(m["header_id"]),
            communication_id="",
            identifier="",
            status=None,
            category=None,
            topic=None,
            priority=None,
            texts=(),
            attachments=(),
            patient=Patient(id=""),
            sender=_organization(m["sender"]),
            receiver=_organization(m["receiver"]),
            source_endpoint=None,
            destination_endpoint=None,
            destination_use=None,
            event=None,
            definition=None,
        )
        l_facts = facts["letter"]
        envelope, sent = _envelope(l_facts)
        letter = Correspondence(
            envelope=envelope,
            letter_identifier=l_facts["letter"],
            authorised=sent,
            sender=_party(l_facts["sender"]),
            receiver=_party(l_facts["receiver"]),
            patient=OioPatient(surname="Ukendt"),
        )
        binary = None
        if (b_facts := facts.get("binary")) is not None:
            envelope, sent = _envelope(b_facts)
            binary = BinaryLetter(
                envelope=envelope,
                letter_identifier=b_facts["letter"],
                authorised=sent,
                sender=_party(b_facts["sender"]),
                receiver=_party(b_facts["receiver"]),
                objects=(),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConversionError(
            "the conversion record is damaged", code="conversion-record-damaged"
        ) from exc
    return ConversionRecord(message=message, letter=letter, binary=binary)
