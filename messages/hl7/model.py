"""The domain objects Samspil reads from and writes to HL7 v2.5 messages.

Three kinds of message carry a child's case across sectors:

* ``REF^I12`` — a GP refers a child to a municipal or psychiatric service: :class:`Referral`.
* ``SIU^S12``/``S13``/``S14``/``S15`` — an appointment is booked, moved, changed or
  cancelled: :class:`Appointment`.
* ``ADT^A04``/``A03`` — an outpatient care episode starts or ends: :class:`CareEpisodeEvent`.

Every receiver answers with an ``ACK`` whose ``MSA-1`` is an :class:`AckCode`.

Times: every datetime here is timezone-aware. HL7 timestamps that carry an offset
(``20240312101500+0100``) keep it; timestamps without one are Danish wall-clock time and are
read as ``Europe/Copenhagen`` (:data:`COPENHAGEN`). Builders write the offset out, always.

The child's CPR number is a :class:`messages.identifiers.Cpr`, whose ``repr`` masks the
serial part, so a domain object can be printed in a traceback without leaking a whole CPR.
Which HL7 field carries which attribute is written beside each attribute and in
:mod:`messages.hl7.mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from messages.identifiers import Cpr
from messages.timezone import COPENHAGEN

__all__ = [
    "COPENHAGEN",
    "AckCode",
    "Appointment",
    "AppointmentEvent",
    "AppointmentStatus",
    "CareEpisodeEvent",
    "EpisodeEventKind",
    "Organisation",
    "PersonName",
    "Practitioner",
    "Referral",
    "ReferralPriority",
    "ReferringGp",
    "Routing",
]


class AckCode(StrEnum):
    """``MSA-1``, HL7 table 0008 (original acknowledgement mode)."""

    ACCEPT = "AA"
    """Accepted and processed."""
    ERROR = "AE"
    """Content error: the sender must correct the message, not resend it unchanged."""
    REJECT = "AR"
    """Rejected (unsupported type/version, or a temporary fault): a retry may succeed."""


class ReferralPriority(StrEnum):
    """``RF1-2`` referral priority, HL7 table 0280."""

    STAT = "S"
    URGENT = "A"
    """HL7 "ASAP"."""
    ROUTINE = "R"


class AppointmentEvent(StrEnum):
    """What happened to an appointment: the SIU trigger event (``MSH-9.2``)."""

    NEW = "S12"
    RESCHEDULED = "S13"
    MODIFIED = "S14"
    CANCELLED = "S15"


class AppointmentStatus(StrEnum):
    """``SCH-25`` filler status code, HL7 table 0278 (the two values Samspil uses)."""

    BOOKED = "Booked"
    CANCELLED = "Cancelled"


class EpisodeEventKind(StrEnum):
    """The ADT trigger event (``MSH-9.2``) of a care episode event."""

    START = "A04"
    """Register an outpatient: the episode starts."""
    END = "A03"
    """Discharge / end visit: the episode ends."""


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (use messages.hl7.model.COPENHAGEN)")


@dataclass(frozen=True, slots=True)
class PersonName:
    """A person's name as HL7 ``XPN``/``XCN`` carries it: family name and given name(s)."""

    family: str
    given: str = ""

    def __str__(self) -> str:
        return f"{self.given} {self.family}".strip()


@dataclass(frozen=True, slots=True)
class Organisation:
    """A receiving organisation: its GLN/EAN location number and its name."""

    gln: str
    name: str


@dataclass(frozen=True, slots=True)
class ReferringGp:
    """The referring general practitioner.

    ``provider_number`` is the GP's ydernummer; ``gln`` the practice's location number.
    Both travel in ``PRD-7`` (``PLN``), told apart by ``PLN.2`` = ``YDER`` / ``GLN``.
    """

    name: PersonName
    provider_number: str
    gln: str | None = None


@dataclass(frozen=True, slots=True)
class Practitioner:
    """Who the child meets at an appointment: a name and a free-text role ("psykolog")."""

    name: PersonName
    role: str


@dataclass(frozen=True, slots=True)
class Routing:
    """The four ``MSH`` addressing fields: ``MSH-3``..``MSH-6`` (``HD.1`` of each)."""

    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str

    def reply(self) -> Routing:
        """The routing of an answer: sender and receiver swapped."""
        return Routing(
            self.receiving_application,
            self.receiving_facility,
            self.sending_application,
            self.sending_facility,
        )


@dataclass(frozen=True, slots=True)
class Referral:
    """A GP's referral of a child (``REF^I12``).

    * ``referral_id`` — ``RF1-6.1`` originating referral identifier.
    * ``child_cpr``, ``child_name`` — ``PID-3`` (identifier type ``NNDNK``), ``PID-5``.
    * ``referring_gp`` — the ``PRD`` with role ``RP`` (referring provider).
    * ``receiver`` — the ``PRD`` with role ``RT`` (referred-to provider): GLN in ``PRD-7``,
      name in ``PRD-4.9`` (location description).
    * ``reason`` — ``RF1-10.2``, free text of the reason category. It is carried to the
      receiver but kept out of the shared case index: it may hold health information.
    * ``priority`` — ``RF1-2.1``.
    * ``requests_case`` — whether the GP asks the receiver to open a case. Carried in
      ``RF1-4`` referral disposition (HL7 table 0282): ``AM`` ("assume management") for yes,
      ``WR`` ("send written report") for no.
    * ``referred_at`` — ``RF1-7`` effective date.
    """

    referral_id: str
    child_cpr: Cpr
    child_name: PersonName
    referring_gp: ReferringGp
    receiver: Organisation
    reason: str
    priority: ReferralPriority
    requests_case: bool
    referred_at: datetime

    def __post_init__(self) -> None:
        _require_aware("referred_at", self.referred_at)


@dataclass(frozen=True, slots=True)
class Appointment:
    """An appointment for a child (``SIU^S12``..``S15``, message structure ``SIU_S12``).

    * ``appointment_id`` — ``SCH-2.1`` filler appointment id (the booking system's id).
    * ``event`` — the trigger event; ``status`` — ``SCH-25.1``. A cancellation (``S15``) is
      always ``CANCELLED``.
    * ``child_cpr``, ``child_name`` — ``PID-3``, ``PID-5``.
    * ``start``, ``end`` — ``TQ1-7``/``TQ1-8`` (also written to ``SCH-11.4``/``.5`` for
      older receivers, and read from there when there is no ``TQ1``).
    * ``location`` — ``AIL-3.9`` location description.
    * ``with_whom`` — ``AIP-3`` name, ``AIP-4.2`` role.
    * ``case_ref`` — ``PV1-19.1`` visit number, when the appointment belongs to a case.
    """

    appointment_id: str
    event: AppointmentEvent
    status: AppointmentStatus
    child_cpr: Cpr
    child_name: PersonName
    start: datetime
    end: datetime
    location: str
    with_whom: Practitioner
    case_ref: str | None = None

    def __post_init__(self) -> None:
        _require_aware("start", self.start)
        _require_aware("end", self.end)
        if self.end < self.start:
            raise ValueError("an appointment cannot end before it starts")
        if self.event is AppointmentEvent.CANCELLED and self.status is not (
            AppointmentStatus.CANCELLED
        ):
            raise ValueError("a cancellation (S15) has status CANCELLED")


@dataclass(frozen=True, slots=True)
class CareEpisodeEvent:
    """An outpatient care episode starting (``ADT^A04``) or ending (``ADT^A03``).

    * ``case_ref`` — ``PV1-19.1`` visit number (``PID-18.1`` account number when PV1-19 is
      empty in a received message).
    * ``child_cpr``, ``child_name`` — ``PID-3``, ``PID-5``.
    * ``occurred_at`` — ``EVN-6`` event occurred (``EVN-2`` recorded time when EVN-6 is
      empty in a received message).
    """

    kind: EpisodeEventKind
    case_ref: str
    child_cpr: Cpr
    child_name: PersonName
    occurred_at: datetime

    def __post_init__(self) -> None:
        _require_aware("occurred_at", self.occurred_at)
