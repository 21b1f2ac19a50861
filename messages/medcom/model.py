"""Typed models of the MedCom OIOXML messages Samspil carries.

* :class:`Correspondence` — XDIS91 korrespondancemeddelelse (namespace 2006/07/01).
* :class:`Receipt` — XCTL03 positive, XCTL02 negative, XCTL01 network negative (2005/08/07).
* :class:`BinaryLetter` — XBIN01 binary attachments accompanying an XDIS91 (2012/03/28).

Times are timezone-aware; MedCom holds them as Danish local time to the minute. Field names
are English; the MedCom element each one maps to is in the comment beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from messages.errors import RefuseCode
from messages.medcom.text import FormattedText

__all__ = [
    "AckCode",
    "Address",
    "BinaryLetter",
    "BinaryObject",
    "BinaryReference",
    "Correspondence",
    "Envelope",
    "LetterStatus",
    "MessageType",
    "OriginalLetter",
    "Party",
    "Patient",
    "Priority",
    "Receipt",
    "Reference",
]


class MessageType(StrEnum):
    """The MedCom letter types Samspil carries (the ``StatisticalCode`` / ``TypeCode``)."""

    XDIS91 = "XDIS91"
    XCTL01 = "XCTL01"
    XCTL02 = "XCTL02"
    XCTL03 = "XCTL03"
    XBIN01 = "XBIN01"

    @property
    def is_receipt(self) -> bool:
        return self in (MessageType.XCTL01, MessageType.XCTL02, MessageType.XCTL03)

    @property
    def is_letter(self) -> bool:
        """A letter (XDIS91, XBIN01): acknowledged by its receiver, answered by a receipt."""
        return not self.is_receipt

    @classmethod
    def codes(cls, *, receipts: bool) -> tuple[str, ...]:
        """The codes of the receipt types (``receipts=True``) or of the letter types, in the
        order declared: for a query's ``IN``."""
        return tuple(t.value for t in cls if t.is_receipt is receipts)


VERSION_CODES: dict[MessageType, str] = {
    MessageType.XDIS91: "XD9134L",
    MessageType.XCTL01: "XC0130Q",
    MessageType.XCTL02: "XC0230Q",
    MessageType.XCTL03: "XC0330Q",
    MessageType.XBIN01: "XB0131X",
}


class AckCode(StrEnum):
    """``AcknowledgementCode``: does the sender ask for a positive receipt?"""

    POSITIVE = "pluspositivkvitt"
    NONE = "minuspositivkvitt"


class LetterStatus(StrEnum):
    """``StatusCode`` of a letter."""

    NEW = "nytbrev"
    CORRECTED = "rettetbrev"


class Priority(StrEnum):
    ROUTINE = "rutine"
    HIGH = "høj_prioritet"


@dataclass(frozen=True, slots=True)
class Envelope:
    identifier: str  # Identifier, 1-14 characters
    sent: datetime  # Sent/Date + Sent/Time
    ack_code: AckCode = AckCode.NONE  # AcknowledgementCode

    @property
    def wants_positive_receipt(self) -> bool:
        return self.ack_code is AckCode.POSITIVE


@dataclass(frozen=True, slots=True)
class Address:
    street: str | None = None  # StreetName
    suburb: str | None = None  # SuburbName
    district: str | None = None  # DistrictName
    post_code: str | None = None  # PostCodeIdentifier


@dataclass(frozen=True, slots=True)
class Party:
    """A letter's ``Sender`` or ``Receiver``.

    ``telephone`` and ``medical_speciality`` exist on senders only; a receiver's
    ``organisation_name`` is optional, a sender's is required.
    """

    ean: str  # EANIdentifier (GLN / location number)
    identifier: str  # Identifier (local id, e.g. ydernummer or SOR code)
    identifier_code: str  # IdentifierCode, e.g. lokationsnummer, ydernummer, sorkode
    organisation_name: str | None = None  # OrganisationName
    department_name: str | None = None  # DepartmentName
    unit_name: str | None = None  # UnitName
    address: Address = field(default_factory=Address)
    telephone: str | None = None  # TelephoneSubscriberIdentifier
    medical_speciality: str | None = None  # MedicalSpecialityCode


@dataclass(frozen=True, slots=True)
class Patient:
    """The child (or other patient) a letter is about. Exactly one of ``cpr`` and
    ``alternative_identifier`` is set."""

    surname: str  # PersonSurnameName
    cpr: str | None = None  # CivilRegistrationNumber
    alternative_identifier: str | None = None  # AlternativeIdentifier (10 characters)
    given_name: str | None = None  # PersonGivenName
    address: Address = field(default_factory=Address)
    occupancy: str | None = None  # OccupancyText
    episode_of_care_status: str = "inaktiv"  # EpisodeOfCareStatusCode

    def __repr__(self) -> str:  # keep CPR numbers out of reprs, tracebacks and logs
        return f"Patient(surname={self.surname!r}, cpr={'***' if self.cpr else None})"


@dataclass(frozen=True, slots=True)
class BinaryReference:
    """``Reference/BIN``: an attachment sent as an XBIN01 beside the letter."""

    object_identifier: str  # ObjectIdentifier
    object_code: str  # ObjectCode, e.g. billede, tekstfil
    extension_code: str  # ObjectExtensionCode, e.g. pdf
    original_size: int  # OriginalObjectSize


@dataclass(frozen=True, slots=True)
class Reference:
    """``Reference``: a description and exactly one of a URL, SUP or an attachment."""

    description: str  # RefDescription
    url: str | None = None  # URL
    sup: bool = False  # SUP
    binary: BinaryReference | None = None  # BIN


@dataclass(frozen=True, slots=True)
class Correspondence:
    """An XDIS91 korrespondancemeddelelse."""

    envelope: Envelope
    letter_identifier: str  # Letter/Identifier, 1-14 characters
    authorised: datetime  # Letter/Authorisation
    sender: Party
    receiver: Party
    patient: Patient
    status: LetterStatus = LetterStatus.NEW  # Letter/StatusCode
    episode_of_care_identifier: str | None = None  # Letter/EpisodeOfCareIdentifier
    statistical_code: str = "XDIS91"  # Letter/StatisticalCode
    priority: Priority | None = None  # AdditionalInformation/Priority
    subject: str | None = None  # AdditionalInformation/Subject, 1-70 characters
    additional_information: bool = False  # an empty AdditionalInformation is present
    clinical_information: tuple[FormattedText, ...] = ()  # ClinicalInformation/Text01, 0-10
    references: tuple[Reference, ...] = ()  # Reference, 0-10

    type = MessageType.XDIS91


@dataclass(frozen=True, slots=True)
class OriginalLetter:
    """``OriginalLetter`` in a receipt."""

    identifier: str  # OriginalLetterIdentifier
    version_code: str  # OriginalVersionCode
    refuse_code: RefuseCode | None = None  # RefuseCode (negative receipts only)
    refuse_text: FormattedText | None = None  # RefuseText


@dataclass(frozen=True, slots=True)
class Receipt:
    """An XCTL03 positive, XCTL02 negative or XCTL01 network-negative receipt."""

    type: MessageType  # XCTL01, XCTL02 or XCTL03
    envelope: Envelope
    letter_identifier: str  # Letter/Identifier
    sender_ean: str  # Sender/EANIdentifier (who sends the receipt)
    receiver_ean: str  # Receiver/EANIdentifier (the original sender)
    original_envelope_identifier: str  # OriginalEmessage/OriginalEnvelopeIdentifier
    original_sender_ean: str  # OriginalEmessage/OriginalSender/EANIdentifier
    original_receiver_ean: str  # OriginalEmessage/OriginalReceiver/EANIdentifier
    original_letters: tuple[OriginalLetter, ...] = ()  # 0-99
    refuse_code: RefuseCode | None = None  # OriginalEmessage/RefuseCode (negative only)
    refuse_text: FormattedText | None = None  # OriginalEmessage/RefuseText
    statistical_code: str | None = None  # Letter/StatisticalCode (defaults to the type)

    @property
    def positive(self) -> bool:
        return self.type is MessageType.XCTL03


@dataclass(frozen=True, slots=True)
class BinaryObject:
    object_identifier: str  # ObjectIdentifier
    object_code: str  # ObjectCode
    extension_code: str  # ObjectExtensionCode
    original_size: int  # OriginalObjectSize
    base64: str  # Object_Base64Encoded, kept exactly as carried


@dataclass(frozen=True, slots=True)
class BinaryLetter:
    """An XBIN01 binary letter. Either ``patient`` is set, or ``system_information``
    (with optional ``contents``) for letters not about a person."""

    envelope: Envelope
    letter_identifier: str
    authorised: datetime
    sender: Party
    receiver: Party
    objects: tuple[BinaryObject, ...]  # BinaryObject, 1-10
    patient: Patient | None = None  # CPR/alternative id, surname, given name only
    system_information: bool = False  # SystemInformation
    contents: str | None = None  # Contents
    statistical_code: str = "XBIN01"

    type = MessageType.XBIN01
