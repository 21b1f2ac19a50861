"""The shared index: who is involved with a child, never why (``/v1/children/{cpr}/...``,
``/v1/access-notifications``, and the answers to ``/v1/cases`` and ``/v1/appointments``, whose
bodies are in :mod:`wire.entries`).

An entry's local reference (``ref``, ``case_ref``) and a case's title reach only the
organisation that owns the entry; other organisations' entries are shown only where consent
covers both sectors, and every such disclosure is logged.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from wire.directory import Sector
from wire.entries import (
    STRICT,
    AppointmentStatus,
    CaseKind,
    CaseStatus,
    Contact,
    EntryRefused,
    Person,
)

GLN_PATTERN = r"^[0-9]{13}$"
MAX_NAMED_ORGANISATIONS = 100  # 13 digits and a comma each: the column holds 1,400

MAX_CONSENT_DOCUMENT_LENGTH = 16_384
"""The longest signed consent document the hub takes (a compact JWS naming at most 100
organisations is well under it)."""


class ConsentRelation(StrEnum):
    CUSTODIAL_PARENT = "custodial-parent"
    SELF = "self"
    GUARDIAN = "guardian"


class ConsentForm(StrEnum):
    WRITTEN = "written"
    ORAL = "oral"
    DIGITAL = "digital"


class ConsentVerification(StrEnum):
    """How the hub knows a consent was given: ``verified``, a document signed by the consent
    service (Digitalt Samtykke's stand-in); ``attested``, recorded by a caseworker from a
    written or oral statement."""

    VERIFIED = "verified"
    ATTESTED = "attested"


class NotificationKind(StrEnum):
    """What a data owner is told besides the views of its data."""

    CONSENT_OPENED = "consent-opened"  # an attested consent opened its data the first time
    NEW_PARTNER = "new-partner"  # another organisation's first active case for the child
    CONSENT_DISPUTED = "consent-disputed"  # an owner disputed a consent this one recorded


class ViewKind(StrEnum):
    """Which read disclosed the data: a child's overview, its consent list (consents other
    organisations recorded) or its access log."""

    OVERVIEW = "overview"
    CONSENTS = "consents"
    ACCESS_LOG = "access-log"
    PARTNER_EVENTS = "partner-events"
    """A page of the partner-events feed (``GET /v1/partner-events``): one entry per child
    and page, naming the organisations whose events it delivered."""


# --- requests ------------------------------------------------------------------------------


class ConsentIn(BaseModel):
    """The body of POST /v1/children/{cpr}/consents (valid_from defaults to now). The
    consent covers the organisations of its ``sectors`` and the ``organisations`` it names
    (GLNs of registered organisations): at least one of the two (see
    :func:`check_consent`)."""

    model_config = STRICT

    given_by_name: str = Field(min_length=1, max_length=200)
    relation: ConsentRelation
    form: ConsentForm
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    sectors: list[Sector] = Field(default_factory=list, max_length=4)
    organisations: list[Annotated[str, Field(pattern=GLN_PATTERN)]] = Field(
        default_factory=list,
        max_length=MAX_NAMED_ORGANISATIONS,
        description="GLNs of registered organisations the consent covers besides its sectors "
        "(a family that consents to one municipality's family department has not consented "
        "to another's).",
    )


def check_consent(consent: ConsentIn) -> None:
    """The rules between a consent's fields. Raises :class:`~wire.entries.EntryRefused`."""
    if not consent.sectors and not consent.organisations:
        raise EntryRefused(
            "a consent names at least one sector or one organisation (its GLN) it covers",
            code="consent-covers-nothing",
        )


class ConsentDisputeIn(BaseModel):
    """The body of POST /v1/children/{cpr}/consents/{id}/dispute: why the data owner
    disputes the consent (told to the organisation that recorded it)."""

    model_config = STRICT

    reason: str = Field(min_length=1, max_length=1000, pattern=r"\S")


class VerifiedConsentIn(BaseModel):
    """The other body of POST /v1/children/{cpr}/consents: a consent document signed by the
    consent service (a compact JWS whose claims are wire.consent_document's). The hub checks
    its signature against the service's published keys and takes who consented, their
    relation, the sectors, the named organisations and the period from the document itself."""

    model_config = STRICT

    document: str = Field(
        min_length=1,
        max_length=MAX_CONSENT_DOCUMENT_LENGTH,
        description="The signed consent document: a compact JWS (ES256), as the consent "
        "service issued it.",
    )


class CoordinatorIn(BaseModel):
    """The body of PUT /v1/children/{cpr}/coordinator: the organisation's GLN and whom to
    call there."""

    model_config = STRICT

    organisation: str = Field(min_length=13, max_length=13)
    contact: Contact


# --- answers -------------------------------------------------------------------------------


class Partner(BaseModel):
    """Another organisation involved with the child: its GLN, name and sector."""

    organisation: str
    name: str
    sector: Sector


class Upserted(BaseModel):
    """A case or appointment stored (created, or updated or unchanged)."""

    ref: str
    status: str
    created: bool
    told: list[Partner] = Field(
        default_factory=list,
        description="A case's answer only: when it is the caller's first active case for the "
        "child, the organisations with an active case for the child, each now told that the caller "
        "joined (with this case's contact; never its kind, title or reference). Mutual: the "
        "caller learns of them here, they learn of the caller in GET /v1/access-notifications. "
        "Empty on a second case, an update, or when nobody else has an active case; nobody is "
        "told twice that the same organisation joined the same child.",
    )


class OverviewCase(BaseModel):
    """A case in an overview; ref and title only on the caller's own cases."""

    organisation: str
    organisation_name: str
    sector: Sector
    kind: CaseKind
    status: CaseStatus
    opened_on: date
    closed_on: date | None
    contact: Contact
    ref: str | None = None
    title: str | None = None


class OverviewAppointment(BaseModel):
    """An appointment in an overview; ref and case_ref only on the caller's own."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    organisation: str
    organisation_name: str
    sector: Sector
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    location: str | None
    with_: Person = Field(alias="with")
    ref: str | None = None
    case_ref: str | None = None


class Entries(BaseModel):
    cases: list[OverviewCase]
    appointments: list[OverviewAppointment]


class NamedCoordinator(BaseModel):
    """The child's coordinator (tovholder): the organisation and whom to call there."""

    organisation: str
    organisation_name: str
    sector: Sector
    contact: Contact


class OpeningConsent(BaseModel):
    """A consent in force that opens other organisations' entries to the caller: whose word
    it is, how the hub knows it, until when, and the sectors whose entries it opens (no names:
    the consent list has those)."""

    relation: ConsentRelation
    verification: ConsentVerification
    valid_until: datetime | None
    sectors: list[Sector] = Field(description="The sectors whose entries it opens to the caller.")
    recorded_by_you: bool


class ConsentState(BaseModel):
    state: Literal["complete", "partial", "missing"]
    age: int
    rule: str
    sectors: dict[str, str] = Field(
        description="Per sector: shared, no-consent, own-consent-needed, "
        "parent-consent-needed or verified-consent-needed; every sector is listed whether or "
        "not anyone of it is involved, judged for an organisation of it that no consent names "
        "and that disputes nothing (an organisation a consent names is judged on its own)."
    )
    detail: str | None = Field(
        default=None, description="Why entries are withheld; only when some are."
    )
    opened_by: list[OpeningConsent] = Field(
        default_factory=list,
        description="Who consented: the consents in force that open other organisations' "
        "entries to the caller, each with the sectors it opens.",
    )
    would_open: dict[ConsentRelation, dict[Sector, str]] = Field(
        default_factory=dict,
        description="What an attested consent the caller records now, naming every sector, "
        "would open per sector (shared, or why not, as in sectors), by the relation of whoever "
        "gives it; only the relations whose consent may be recorded at the child's age.",
    )


class HintAppointment(BaseModel):
    organisation: str
    sector: Sector
    starts_at: datetime


class Hint(BaseModel):
    """Booked appointments of two sectors within 48 hours of each other."""

    code: Literal["appointments-within-48h"]
    detail: str
    sectors: list[Sector]
    appointments: list[HintAppointment]


class Overview(BaseModel):
    """The caller's overview of a child."""

    own: Entries
    others: Entries
    coordinator: NamedCoordinator | None
    consent: ConsentState
    hints: list[Hint]
    disclosed: list[str] = Field(
        description="The other organisations whose entries this answer disclosed (each "
        "disclosure is in the access log)."
    )


class ConsentRecorded(BaseModel):
    id: uuid.UUID
    recorded_at: datetime
    created: bool


class ConsentRevoked(BaseModel):
    id: uuid.UUID
    revoked_at: datetime


class ConsentDisputed(BaseModel):
    """A dispute recorded (created), or the caller's earlier dispute of the consent."""

    consent_id: uuid.UUID
    disputed_at: datetime
    created: bool


class ConsentDispute(BaseModel):
    """A data owner's dispute of a consent: from then on the consent does not open that
    owner's data."""

    organisation: str
    organisation_name: str
    person: str
    reason: str
    at: datetime


class ConsentEntry(BaseModel):
    """A consent in the caller's list: one it recorded, or one naming its sector or the
    organisation itself."""

    id: uuid.UUID
    given_by_name: str | None = Field(
        description="Who gave the consent; null on a consent another organisation recorded "
        "that is not in force (revoked, expired or not yet valid)."
    )
    relation: ConsentRelation
    sectors: list[Sector]
    organisations: list[str] = Field(
        description="Organisations (GLNs) the consent names besides its sectors, sorted."
    )
    verification: ConsentVerification = Field(
        description="verified: a document signed by the consent service, checked by the hub; "
        "attested: recorded by a caseworker from a written or oral statement."
    )
    form: ConsentForm
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    recorded_at: datetime
    recorded_by_you: bool
    recorded_by_org: str | None = Field(
        description="The organisation (GLN) that recorded the consent; null where the list "
        "shows no names (as given_by_name)."
    )
    recorded_by: str | None = Field(
        description="The person who recorded it; null where the list shows no names."
    )
    active: bool
    opens: dict[Sector, str] = Field(
        description="Per sector the consent names, what it alone opens for this child now: "
        "shared (that sector's entries are shown to the other organisations it covers), or why "
        "not (no-consent when it is not in force, own-consent-needed, parent-consent-needed, "
        "verified-consent-needed), judged by the child's age and the hub's policy as the "
        "overview judges, for an organisation of the sector that disputes nothing."
    )
    disputes: list[ConsentDispute] = Field(
        default_factory=list,
        description="Disputes by data owners, shown to the disputer, the recorder and those "
        "the disputer's own entries would be shown to.",
    )


class Consents(BaseModel):
    """The child's consents the caller may see, newest first: those it recorded, and those
    naming its sector or the organisation itself."""

    consents: list[ConsentEntry]


class CoordinatorNamed(BaseModel):
    """The coordinator now named."""

    organisation: str
    contact: Contact


class Disclosed(BaseModel):
    organisation: str
    name: str


class AccessLogEntry(BaseModel):
    at: datetime
    kind: ViewKind
    operator: bool = Field(description="Read by the hub's operator (always logged).")
    organisation: str = Field(
        description="Who looked: the caller, an operator, or an "
        "organisation that read the caller's data."
    )
    organisation_name: str
    person: str
    on_behalf_of: bool
    disclosed: list[Disclosed] = Field(
        description="Whose data the view showed: for an organisation, only itself and those "
        "whose data an active consent opens to it now (others are left out, uncounted)."
    )
    reason: str | None = Field(
        description="The operator's stated reason for an operator's read; shown only in the "
        "full log an operator reads (null in an organisation's log and on other views)."
    )


class AccessLog(BaseModel):
    """Who looked at the child's entries, newest first. An organisation sees its own views,
    the views of its data and the operators' reads, naming no organisation that consent does
    not open to it; an operator sees everything."""

    entries: list[AccessLogEntry]


class AccessViewer(BaseModel):
    organisation: str
    name: str
    sector: Sector
    person: str
    on_behalf_of: bool
    operator: bool


class AccessNotification(BaseModel):
    """A view by another organisation (or an operator) that disclosed the caller's entries."""

    at: datetime
    child_cpr: str
    kind: Literal[
        ViewKind.OVERVIEW, ViewKind.CONSENTS, ViewKind.ACCESS_LOG, ViewKind.PARTNER_EVENTS
    ]
    viewer: AccessViewer


class OwnerNotification(BaseModel):
    """Something the caller is told about a child it has a case for, besides the views of its
    entries: another organisation joined the child (``new-partner``, with whom to call
    there), an attested consent opened the caller's entries (``consent-opened``), a consent
    the caller recorded was disputed (``consent-disputed``)."""

    at: datetime
    child_cpr: str
    kind: Literal[
        NotificationKind.NEW_PARTNER,
        NotificationKind.CONSENT_OPENED,
        NotificationKind.CONSENT_DISPUTED,
    ]
    about: Partner = Field(
        description="The other organisation: the newcomer, the consent's recorder, or the "
        "organisation that disputed the consent."
    )
    consent_id: uuid.UUID | None = Field(
        default=None, description="The consent it concerns (consent-opened, consent-disputed)."
    )
    contact: Contact | None = Field(
        default=None, description="Whom to call at the other organisation, where known."
    )
    detail: str | None = Field(default=None, description="A sentence more, where there is one.")


Notification = Annotated[AccessNotification | OwnerNotification, Field(discriminator="kind")]


class AccessNotifications(BaseModel):
    """What the caller's organisation is told, newest first: views by other organisations
    that disclosed its entries (kind overview, consents or access-log, with the viewer), and
    its notifications (kind new-partner, consent-opened or consent-disputed, with the other
    organisation)."""

    notifications: list[Notification]
