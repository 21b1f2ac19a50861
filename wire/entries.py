"""The index entries a sector system reports: the bodies of ``PUT /v1/cases/{ref}`` and
``PUT /v1/appointments/{ref}``, and the rules between their fields.

The hub takes these bodies and the municipal adapter judges its case system's events with the
very same models and rules before it answers the case system, so an event the adapter accepts
is one the hub will take (an event the hub would refuse is refused at once, on its own line,
with the hub's code). ``extra="forbid"``: a field the index does not hold is refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from messages.errors import SamspilError

__all__ = [
    "REF_LENGTH",
    "REF_PATTERN",
    "AppointmentEntry",
    "AppointmentStatus",
    "CaseEntry",
    "CaseKind",
    "CaseStatus",
    "Contact",
    "EntryRefused",
    "Person",
    "check_appointment",
    "check_case",
    "entry_problems",
]

REF_LENGTH = 64
#: A sector system's own reference for a case or an appointment (the ``{ref}`` of the path).
REF_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{REF_LENGTH - 1}}}")
STRICT = ConfigDict(extra="forbid")


class CaseKind(StrEnum):
    PPR_ASSESSMENT = "ppr-assessment"
    PPR_COUNSELLING = "ppr-counselling"
    FAMILY_SUPPORT = "family-support"
    FAMILY_INVESTIGATION = "family-investigation"
    PSYCHIATRIC_ASSESSMENT = "psychiatric-assessment"
    PSYCHIATRIC_TREATMENT = "psychiatric-treatment"
    GP_FOLLOW_UP = "gp-follow-up"


class CaseStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no-show"


class EntryRefused(SamspilError):
    """An entry whose fields contradict each other; ``code`` is the hub's problem code
    (``closed-without-date``, ``active-with-closed-date``, ``invalid-period``, ``naive-time``)."""

    code = "invalid-entry"


class Contact(BaseModel):
    """Whom to call: a person, their role, a phone number and a secure e-mail address."""

    model_config = STRICT

    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)


class Person(BaseModel):
    """With whom the appointment is."""

    model_config = STRICT

    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=100)


class CaseEntry(BaseModel):
    """The body of ``PUT /v1/cases/{ref}``."""

    model_config = STRICT

    child_cpr: str
    kind: CaseKind
    status: CaseStatus
    opened_on: date
    closed_on: date | None = None
    title: str | None = Field(default=None, max_length=200)
    contact: Contact


class AppointmentEntry(BaseModel):
    """The body of ``PUT /v1/appointments/{ref}``."""

    model_config = STRICT

    child_cpr: str
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    location: str | None = Field(default=None, max_length=200)
    case_ref: str | None = Field(default=None, min_length=1, max_length=REF_LENGTH)
    with_: Person = Field(alias="with")


def check_case(case: CaseEntry) -> None:
    """The rules between a case's fields. Raises :class:`EntryRefused`."""
    if case.status is CaseStatus.CLOSED and case.closed_on is None:
        raise EntryRefused("a closed case needs closed_on", code="closed-without-date")
    if case.status is CaseStatus.ACTIVE and case.closed_on is not None:
        raise EntryRefused("an active case has no closed_on", code="active-with-closed-date")
    if case.closed_on is not None and case.closed_on < case.opened_on:
        raise EntryRefused("closed_on is before opened_on", code="invalid-period")


def check_appointment(appointment: AppointmentEntry) -> None:
    """The rules between an appointment's fields. Raises :class:`EntryRefused`."""
    for name, value in (("starts_at", appointment.starts_at), ("ends_at", appointment.ends_at)):
        if value.tzinfo is None:
            raise EntryRefused(f"{name} needs a time zone (e.g. ...Z or +01:00)", code="naive-time")
    if appointment.ends_at <= appointment.starts_at:
        raise EntryRefused("ends_at must be after starts_at", code="invalid-period")
    if appointment.case_ref is not None and not REF_PATTERN.fullmatch(appointment.case_ref):
        raise EntryRefused("case_ref is not a valid reference", code="invalid-ref")


def entry_problems(error: ValidationError) -> str:
    """What is wrong with a body, by field and rule only: pydantic's input values could hold
    a CPR number, so they are never part of the sentence."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False, include_context=False)
    )
