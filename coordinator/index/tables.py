"""The shared index's tables: who is involved with a child, never why.

SQLModel families (``XBase``, ``X(table=True)``) as in :mod:`coordinator.tables`, with the
request bodies being the wire contract's models (:mod:`wire.entries`, :mod:`wire.index`); the
schema is owned by migration ``0002``. Every table carries the child's CPR (10 digits, no
dash) under an index, because every read starts from one child:

* ``index_child`` — one row per child the index knows, with the birth date read from the CPR
  (the retention job deletes everything about a child from the day they turn 23);
* ``index_case`` — one per organisation and local case reference: kind, status, dates and
  whom to call. Never a diagnosis, a reason or a note;
* ``index_appointment`` — one per organisation and local appointment reference;
* ``index_consent`` — modelled on Digitalt Samtykke: who gave it, which sectors may share
  among themselves, in what form, valid from/until, revoked at;
* ``index_coordinator`` — the child's tovholder (at most one);
* ``index_access_log`` and ``index_disclosure`` — every read that disclosed another
  organisation's data (an overview, a consent list, the access log; and every operator's
  read of the access log): who looked, when, what kind of read, and whose data they saw
  (one disclosure row per owner, so owners can list the views of their data quickly);
* ``index_change`` — the change log the partner-events feed follows
  (:mod:`coordinator.index.changes`): one numbered row per partner-visible change of a case,
  an appointment or the coordinator, written in the transaction of the change itself.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import cast

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from coordinator.sqltypes import UtcDateTime, utcnow
from wire.entries import REF_LENGTH as REF_LENGTH
from wire.entries import AppointmentStatus as AppointmentStatus
from wire.entries import CaseKind as CaseKind
from wire.entries import CaseStatus as CaseStatus
from wire.entries import Contact as Contact
from wire.index import ConsentForm as ConsentForm
from wire.index import ConsentIn, CoordinatorIn
from wire.index import ConsentRelation as ConsentRelation
from wire.index import ConsentVerification as ConsentVerification
from wire.index import NotificationKind as NotificationKind
from wire.index import ViewKind as ViewKind

CPR_LENGTH = 10
IDEMPOTENCY_KEY_LENGTH = 128

# the consent and coordinator bodies are the wire contract's models (the entries' bodies are
# wire.entries.CaseEntry and AppointmentEntry)
ConsentCreate = ConsentIn
CoordinatorCreate = CoordinatorIn


# --- children ------------------------------------------------------------------------------


class Child(SQLModel, table=True):
    """A child the index knows; the birth date drives the age rule's retention."""

    __tablename__ = "index_child"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cpr: str = Field(max_length=CPR_LENGTH, unique=True)
    born_on: date = Field(index=True)


# --- cases ---------------------------------------------------------------------------------


class CaseBase(SQLModel):
    kind: CaseKind = Field(sa_type=String(32))
    status: CaseStatus = Field(sa_type=String(16))
    opened_on: date
    closed_on: date | None = None
    title: str | None = Field(default=None, max_length=200)


class Case(CaseBase, table=True):
    __tablename__ = "index_case"
    __table_args__ = (
        UniqueConstraint("org_gln", "ref", name="uq_index_case_ref"),
        Index("ix_index_case_cpr", "cpr", "status"),
        Index("ix_index_case_retention", "status", "closed_on"),
        # per organisation per day: new children registered (the stolen-token signal)
        Index("ix_index_case_org_created", "org_gln", "created_at"),
        # an organisation's own active cases by child, newest update (GET /v1/children)
        Index("ix_index_case_org_active", "org_gln", "status", "cpr", "updated_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_gln: str = Field(max_length=13, foreign_key="organisation.gln")
    ref: str = Field(max_length=REF_LENGTH)
    cpr: str = Field(max_length=CPR_LENGTH)
    contact_name: str = Field(max_length=200)
    contact_role: str = Field(max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# --- appointments --------------------------------------------------------------------------


class AppointmentBase(SQLModel):
    starts_at: datetime = Field(sa_type=UtcDateTime)
    ends_at: datetime = Field(sa_type=UtcDateTime)
    status: AppointmentStatus = Field(sa_type=String(16))
    location: str | None = Field(default=None, max_length=200)


class Appointment(AppointmentBase, table=True):
    __tablename__ = "index_appointment"
    __table_args__ = (
        UniqueConstraint("org_gln", "ref", name="uq_index_appointment_ref"),
        Index("ix_index_appointment_cpr", "cpr", "starts_at"),
        Index("ix_index_appointment_ends", "ends_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_gln: str = Field(max_length=13, foreign_key="organisation.gln")
    ref: str = Field(max_length=REF_LENGTH)
    cpr: str = Field(max_length=CPR_LENGTH)
    case_ref: str | None = Field(default=None, max_length=REF_LENGTH)
    with_name: str = Field(max_length=200)
    with_role: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# --- consents ------------------------------------------------------------------------------


class ConsentBase(SQLModel):
    given_by_name: str = Field(min_length=1, max_length=200)
    relation: ConsentRelation = Field(sa_type=String(24))
    form: ConsentForm = Field(sa_type=String(16))
    valid_from: datetime = Field(sa_type=UtcDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Consent(ConsentBase, table=True):
    __tablename__ = "index_consent"
    __table_args__ = (
        # a recording organisation's Idempotency-Key names one consent: a retried POST whose
        # answer was lost finds the consent it made instead of recording it twice
        UniqueConstraint("recorded_by_org", "idempotency_key", name="uq_index_consent_key"),
        # per organisation per day: attested consents recorded (the stolen-token signal)
        Index("ix_index_consent_recorder", "recorded_by_org", "recorded_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    idempotency_key: str | None = Field(default=None, max_length=IDEMPOTENCY_KEY_LENGTH)
    cpr: str = Field(max_length=CPR_LENGTH, index=True)
    sectors: str = Field(max_length=64)  # sorted, comma-separated sector names
    recorded_by_org: str = Field(max_length=13)
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_by_org: str | None = Field(default=None, max_length=13)
    # "verified": a signed document from the consent service (its id in ``document_id``, the
    # JWS itself kept in ``document``); "attested": recorded by a caseworker from a written or
    # oral statement (see ConsentVerification)
    verification: str = Field(
        default="attested", max_length=16, sa_column_kwargs={"server_default": "attested"}
    )
    document_id: str | None = Field(default=None, max_length=64, unique=True)
    document: str | None = Field(default=None, sa_type=Text)
    # named organisations (sorted, comma-separated GLNs) the consent covers besides its sectors
    organisations: str = Field(default="", max_length=1400, sa_column_kwargs={"server_default": ""})


class ConsentDispute(SQLModel, table=True):
    """A data owner's dispute of an attested consent: from the next call the consent no longer
    opens the disputing organisation's data."""

    __tablename__ = "index_consent_dispute"
    __table_args__ = (UniqueConstraint("consent_id", "org_gln", name="uq_index_consent_dispute"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    consent_id: uuid.UUID = Field(foreign_key="index_consent.id", index=True)
    cpr: str = Field(max_length=CPR_LENGTH, index=True)
    org_gln: str = Field(max_length=13)
    person: str = Field(max_length=200)
    reason: str = Field(max_length=1000)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# --- the coordinator (tovholder) -----------------------------------------------------------


class Coordinator(SQLModel, table=True):
    __tablename__ = "index_coordinator"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cpr: str = Field(max_length=CPR_LENGTH, unique=True)
    org_gln: str = Field(max_length=13, foreign_key="organisation.gln")
    contact_name: str = Field(max_length=200)
    contact_role: str = Field(max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    named_by_org: str = Field(max_length=13)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# --- the access log ------------------------------------------------------------------------


class AccessLogEntry(SQLModel, table=True):
    """One read that disclosed other organisations' data about a child (an overview, a
    consent list or the access log), or an operator's read of the access log."""

    __tablename__ = "index_access_log"
    __table_args__ = (Index("ix_index_access_log_cpr", "cpr", "at"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cpr: str = Field(max_length=CPR_LENGTH)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    viewer_org: str = Field(max_length=13)
    viewer_person: str = Field(max_length=200)
    viewer_credential: uuid.UUID
    on_behalf_of: bool = False  # the person was named by a system token's X-On-Behalf-Of
    # which read disclosed: "overview", "consents" or "access-log" (see ViewKind)
    kind: str = Field(
        default="overview", max_length=16, sa_column_kwargs={"server_default": "overview"}
    )
    # an operator's stated reason for reading a child's access log (a family's request
    # reference, say); shown in the family's view
    reason: str | None = Field(default=None, max_length=500)


class AccessDisclosure(SQLModel, table=True):
    """Whose entries one logged view disclosed: one row per owning organisation."""

    __tablename__ = "index_disclosure"
    __table_args__ = (Index("ix_index_disclosure_owner", "owner_org", "at"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    access_id: uuid.UUID = Field(foreign_key="index_access_log.id", index=True)
    owner_org: str = Field(max_length=13)
    cpr: str = Field(max_length=CPR_LENGTH)
    at: datetime = Field(sa_type=UtcDateTime)


# --- notifications to data owners ---------------------------------------------------------


class Notification(SQLModel, table=True):
    """Something a data owner is told about a child it has an active case for, beside the
    views of its data: an attested consent that opened its data for the first time
    (``consent-opened``, naming the consent), a new partner's first active case for the child
    (``new-partner``, with the newcomer's contact: presence only), a dispute of a consent the
    owner recorded (``consent-disputed``). See NotificationKind."""

    __tablename__ = "index_notification"
    __table_args__ = (
        Index("ix_index_notification_owner", "owner_org", "at"),
        # an attested consent opens an owner's data "for the first time" once; each disputing
        # organisation tells a consent's recorder once
        UniqueConstraint(
            "owner_org", "kind", "consent_id", "about_org", name="uq_index_notification_once"
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_org: str = Field(max_length=13)
    cpr: str = Field(max_length=CPR_LENGTH, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    kind: str = Field(max_length=24)
    about_org: str = Field(max_length=13)  # the newcomer, the consent's recorder, the disputer
    consent_id: uuid.UUID | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    contact_role: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    detail: str | None = Field(default=None, max_length=1000)


# --- the change log (the partner-events feed) ----------------------------------------------


class IndexChange(SQLModel, table=True):
    """One change of an entry that partners may be told of (a case opened or closed, an
    appointment booked, moved or cancelled, a coordinator named), numbered in commit order:
    ``seq`` is the feed's cursor and the event's id. ``shown`` holds, as JSON, what the event
    shows of the entry at the time (never more than an overview shows of it)."""

    __tablename__ = "index_change"
    __table_args__ = (
        Index("ix_index_change_cpr", "cpr", "seq"),
        Index("ix_index_change_at", "at"),
        {"sqlite_autoincrement": True},  # numbers are never reused, even after deletions
    )
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    cpr: str = Field(max_length=CPR_LENGTH)
    at: datetime = Field(sa_type=UtcDateTime)
    owner_org: str = Field(max_length=13)
    kind: str = Field(max_length=24)  # a wire.events.PartnerEventType value
    entry_id: uuid.UUID | None = None  # the case's or appointment's id (opaque to partners)
    shown: str = Field(sa_type=Text)


CHILD = cast(Table, Child.__table__)  # type: ignore[attr-defined]
CASE = cast(Table, Case.__table__)  # type: ignore[attr-defined]
APPOINTMENT = cast(Table, Appointment.__table__)  # type: ignore[attr-defined]
CONSENT = cast(Table, Consent.__table__)  # type: ignore[attr-defined]
COORDINATOR = cast(Table, Coordinator.__table__)  # type: ignore[attr-defined]
DISPUTE = cast(Table, ConsentDispute.__table__)  # type: ignore[attr-defined]
NOTIFICATION = cast(Table, Notification.__table__)  # type: ignore[attr-defined]
ACCESS_LOG = cast(Table, AccessLogEntry.__table__)  # type: ignore[attr-defined]
DISCLOSURE = cast(Table, AccessDisclosure.__table__)  # type: ignore[attr-defined]
CHANGE = cast(Table, IndexChange.__table__)  # type: ignore[attr-defined]
