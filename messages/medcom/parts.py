"""Building and reading the parts letters share: envelope, letter head, sender/receiver,
patient, attachment description.

:func:`write_letter_start` and :func:`read_letter_start` write and read how an XDIS91 and an
XBIN01 both begin: the envelope, then in the letter's body element the ``Letter`` head and
the ``Sender`` and ``Receiver``."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from lxml import etree

from messages.medcom.model import (
    VERSION_CODES,
    AckCode,
    Address,
    BinaryLetter,
    BinaryObject,
    BinaryReference,
    Correspondence,
    Envelope,
    MessageType,
    Party,
    Patient,
)
from messages.medcom.xmlcodec import Builder, Reader

__all__ = [
    "LetterStart",
    "read_envelope",
    "read_letter_start",
    "read_party",
    "read_patient",
    "write_binary_description",
    "write_envelope",
    "write_letter_start",
    "write_party",
    "write_patient",
]


def write_envelope(b: Builder, root: etree._Element, envelope: Envelope) -> None:
    holder = b.el(root, "Envelope")
    b.moment(holder, "Sent", envelope.sent)
    b.el(holder, "Identifier", envelope.identifier)
    b.el(holder, "AcknowledgementCode", envelope.ack_code.value)


def read_envelope(r: Reader) -> Envelope:
    env = r.child("Envelope")
    return Envelope(
        identifier=env.text("Identifier"),
        sent=env.moment("Sent"),
        ack_code=AckCode(env.text("AcknowledgementCode")),
    )


def write_letter_start(
    b: Builder,
    letter: Correspondence | BinaryLetter,
    body_name: str,
    *,
    message_type: MessageType,
    status: str,
) -> tuple[etree._Element, etree._Element, etree._Element]:
    """An ``Emessage`` with ``letter``'s envelope and its body element ``body_name`` holding
    the ``Letter`` head (identifier, version, type, status), ``Sender`` and ``Receiver``:
    the root, the body and the head, for the caller to add what its type has beyond these."""
    root = b.root("Emessage")
    write_envelope(b, root, letter.envelope)
    body = b.el(root, body_name)
    head = b.el(body, "Letter")
    b.el(head, "Identifier", letter.letter_identifier)
    b.el(head, "VersionCode", VERSION_CODES[message_type])
    b.el(head, "StatisticalCode", letter.statistical_code)
    b.moment(head, "Authorisation", letter.authorised)
    b.el(head, "TypeCode", message_type.value)
    b.el(head, "StatusCode", status)
    write_party(b, body, "Sender", letter.sender)
    write_party(b, body, "Receiver", letter.receiver)
    return root, body, head


class LetterStart(TypedDict):
    """A letter's start as :func:`read_letter_start` reads it (its model's fields)."""

    envelope: Envelope
    letter_identifier: str
    authorised: datetime
    statistical_code: str
    sender: Party
    receiver: Party


def read_letter_start(r: Reader, body: Reader) -> LetterStart:
    """The start :func:`write_letter_start` writes, from the ``Emessage`` and its body."""
    head = body.child("Letter")
    return LetterStart(
        envelope=read_envelope(r),
        letter_identifier=head.text("Identifier"),
        authorised=head.moment("Authorisation"),
        statistical_code=head.text("StatisticalCode"),
        sender=read_party(body.child("Sender")),
        receiver=read_party(body.child("Receiver")),
    )


def write_binary_description(
    b: Builder, holder: etree._Element, binary: BinaryObject | BinaryReference
) -> None:
    """What an attachment is, as both ``BinaryObject`` and ``Reference/BIN`` describe it."""
    b.el(holder, "ObjectIdentifier", binary.object_identifier)
    b.el(holder, "ObjectCode", binary.object_code)
    b.el(holder, "ObjectExtensionCode", binary.extension_code)
    b.el(holder, "OriginalObjectSize", str(binary.original_size))


def _write_address(b: Builder, parent: etree._Element, address: Address) -> None:
    b.opt(parent, "StreetName", address.street)
    b.opt(parent, "SuburbName", address.suburb)
    b.opt(parent, "DistrictName", address.district)
    b.opt(parent, "PostCodeIdentifier", address.post_code)


def _read_address(r: Reader) -> Address:
    return Address(
        street=r.opt("StreetName"),
        suburb=r.opt("SuburbName"),
        district=r.opt("DistrictName"),
        post_code=r.opt("PostCodeIdentifier"),
    )


def write_party(b: Builder, parent: etree._Element, name: str, party: Party) -> None:
    """``Sender`` or ``Receiver`` with every element the party has."""
    holder = b.el(parent, name)
    b.el(holder, "EANIdentifier", party.ean)
    b.el(holder, "Identifier", party.identifier)
    b.el(holder, "IdentifierCode", party.identifier_code)
    b.opt(holder, "OrganisationName", party.organisation_name)
    b.opt(holder, "DepartmentName", party.department_name)
    b.opt(holder, "UnitName", party.unit_name)
    _write_address(b, holder, party.address)
    b.opt(holder, "TelephoneSubscriberIdentifier", party.telephone)
    b.opt(holder, "MedicalSpecialityCode", party.medical_speciality)


def read_party(r: Reader) -> Party:
    return Party(
        ean=r.text("EANIdentifier"),
        identifier=r.text("Identifier"),
        identifier_code=r.text("IdentifierCode"),
        organisation_name=r.opt("OrganisationName"),
        department_name=r.opt("DepartmentName"),
        unit_name=r.opt("UnitName"),
        address=_read_address(r),
        telephone=r.opt("TelephoneSubscriberIdentifier"),
        medical_speciality=r.opt("MedicalSpecialityCode"),
    )


def write_patient(b: Builder, parent: etree._Element, patient: Patient, *, full: bool) -> None:
    """``Patient``; ``full`` writes address, occupancy and episode status (XDIS91), else
    only the identifier and names (XBIN01)."""
    holder = b.el(parent, "Patient")
    if patient.cpr is not None:
        b.el(holder, "CivilRegistrationNumber", patient.cpr)
    else:
        b.el(holder, "AlternativeIdentifier", patient.alternative_identifier or "")
    b.el(holder, "PersonSurnameName", patient.surname)
    b.opt(holder, "PersonGivenName", patient.given_name)
    if full:
        _write_address(b, holder, patient.address)
        b.opt(holder, "OccupancyText", patient.occupancy)
        b.el(holder, "EpisodeOfCareStatusCode", patient.episode_of_care_status)


def read_patient(r: Reader) -> Patient:
    return Patient(
        cpr=r.opt("CivilRegistrationNumber"),
        alternative_identifier=r.opt("AlternativeIdentifier"),
        surname=r.text("PersonSurnameName"),
        given_name=r.opt("PersonGivenName"),
        address=_read_address(r),
        occupancy=r.opt("OccupancyText"),
        episode_of_care_status=r.opt("EpisodeOfCareStatusCode") or "inaktiv",
    )
