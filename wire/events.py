"""Partner events (``GET /v1/partner-events``): what changed at the other organisations
involved with the caller's own children, as a feed with a cursor.

An event is a change of another organisation's entry about a child the caller has an active
case for — a case opened or closed, an appointment booked, moved or cancelled, a coordinator
named — shown only where consent opens that organisation's entries to the caller, judged
per owner on every read as the overview judges. It never shows more than the overview would
show of the entry (no reference, no title, no reason); a closed case shows only its kind and
when it opened.

``id`` is the hub's number for the change: the same event always has the same id, so a
receiver recognises one it has seen. ``cursor`` is the next call's ``since``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from wire.directory import Sector
from wire.entries import AppointmentStatus, CaseKind, CaseStatus, Contact, Person

__all__ = [
    "EventAppointment",
    "EventCase",
    "PartnerEvent",
    "PartnerEventType",
    "PartnerEvents",
]


class PartnerEventType(StrEnum):
    CASE_OPENED = "case-opened"
    CASE_CLOSED = "case-closed"
    APPOINTMENT_BOOKED = "appointment-booked"
    APPOINTMENT_MOVED = "appointment-moved"
    APPOINTMENT_CANCELLED = "appointment-cancelled"
    COORDINATOR_NAMED = "coordinator-named"


class EventCase(BaseModel):
    """The case as the overview shows another organisation's case (no reference, no title);
    a closed case without its contact."""

    kind: CaseKind
    status: CaseStatus
    opened_on: date
    contact: Contact | None = None


class EventAppointment(BaseModel):
    """The appointment as the overview shows another organisation's appointment."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    location: str | None = None
    with_: Person = Field(alias="with")


class PartnerEvent(BaseModel):
    """One change at another organisation about one of the caller's children."""

    id: str = Field(
        description="The hub's id of the event (its number in the change log): the same "
        "event always has the same id; a receiver recognises a duplicate by it."
    )
    type: PartnerEventType
    at: datetime = Field(description="When the hub recorded the change.")
    child_cpr: str
    organisation: str = Field(description="The organisation whose entry changed (its GLN).")
    organisation_name: str
    sector: Sector
    entry: str | None = Field(
        default=None,
        description="An opaque id of the case or appointment, the same in every event about "
        "it (a move or a cancellation names the booking it changes).",
    )
    case: EventCase | None = None
    appointment: EventAppointment | None = None
    coordinator: Contact | None = Field(
        default=None, description="Whom to call at the coordinator's organisation."
    )


class PartnerEvents(BaseModel):
    """A page of the feed, oldest first."""

    events: list[PartnerEvent]
    cursor: str = Field(
        description="The next call's `since`: store it once the events are safely handed "
        "over. Opaque (digits); it moves past changes the caller may not see, telling nothing "
        "of them."
    )
    more: bool = Field(description="More changes wait after this page: call again at once.")
