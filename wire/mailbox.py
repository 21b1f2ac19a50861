"""The mailboxes: what ``POST /v1/messages``, ``GET /v1/inbox``, ``/v1/outbox`` and a
message's ``/ack`` and ``/status`` answer.

Never a child's CPR number or a letter's body: the letter itself is fetched as XML.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from messages.medcom.model import MessageType
from wire.directory import LettersConsumedBy, MessageFormat


class MessageStatus(StrEnum):
    """Where a message is on its way::

    accepted ──► downloaded ──► acknowledged ──► receipted | rejected
        │  └──────────┴──────────────┘ (a receipt may come before the ack)
        └──► expired  (from accepted or downloaded: not acknowledged in time)
    """

    ACCEPTED = "accepted"
    DOWNLOADED = "downloaded"
    ACKNOWLEDGED = "acknowledged"
    RECEIPTED = "receipted"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        return not TRANSITIONS[self]

    def can_become(self, new: MessageStatus) -> bool:
        return new in TRANSITIONS[self]


_S = MessageStatus
#: Which status may follow which (the hub refuses every other change).
TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    _S.ACCEPTED: frozenset({_S.DOWNLOADED, _S.ACKNOWLEDGED, _S.RECEIPTED, _S.REJECTED, _S.EXPIRED}),
    _S.DOWNLOADED: frozenset({_S.ACKNOWLEDGED, _S.RECEIPTED, _S.REJECTED, _S.EXPIRED}),
    _S.ACKNOWLEDGED: frozenset({_S.RECEIPTED, _S.REJECTED}),
    _S.RECEIPTED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}


class Accepted(BaseModel):
    """A submitted letter, durably committed; duplicate and resend are sent only when true."""

    id: uuid.UUID
    status: MessageStatus
    duplicate: bool = False
    resend: bool = False


class InboxEntry(BaseModel):
    """One letter waiting for the caller: never the child's CPR, only whether to offer
    registering a case."""

    id: uuid.UUID
    type: MessageType
    sender: str
    received_at: datetime
    size: int
    status: MessageStatus
    letter_id: str = Field(description="The letter's identifier (Letter/Identifier).")
    episode_id: str | None = Field(
        description="Letter/EpisodeOfCareIdentifier: the thread it belongs to."
    )
    subject: str | None = Field(
        description="An XDIS91's AdditionalInformation/Subject, if it has one."
    )
    in_reply_to: str | None = Field(
        description="The letter identifier this letter answers: a Samspil reply's Reference "
        "URL urn:samspil:letter:<id>; null for a first letter and for receipts."
    )
    format: MessageFormat = Field(
        default=MessageFormat.OIOXML,
        description="The format GET /v1/messages/{id} answers: oioxml (application/xml) or "
        "fhir (application/fhir+json or +xml). The hub converted the letter into your "
        "organisation's format; its type is the OIOXML type it is (a CareCommunication is an "
        "XDIS91, an Acknowledgement an XCTL03 or XCTL02).",
    )
    suggested_case: bool = Field(
        description="An XDIS91 about a child for whom your organisation has no active case: "
        "you may register one (PUT /v1/cases/{ref}); never forced. False for receipts. The "
        "child's CPR is in the letter, not here."
    )


class Inbox(BaseModel):
    messages: list[InboxEntry]


class OutboxEntry(BaseModel):
    """One letter the caller sent, and how far it got."""

    id: uuid.UUID
    type: MessageType
    receiver: str
    envelope_id: str
    letter_id: str
    status: MessageStatus
    received_at: datetime
    updated_at: datetime
    size: int
    resend: bool
    overdue: bool
    receipt_id: uuid.UUID | None
    subject: str | None = Field(
        default=None, description="An XDIS91's AdditionalInformation/Subject, as sent."
    )


class Outbox(BaseModel):
    messages: list[OutboxEntry]


class StatusChange(BaseModel):
    id: uuid.UUID
    status: MessageStatus


class StatusEvent(BaseModel):
    status: MessageStatus
    at: datetime


class Status(BaseModel):
    """A message's status and history (sender or receiver only)."""

    id: uuid.UUID
    type: MessageType
    status: MessageStatus
    events: list[StatusEvent]
    receipt_id: uuid.UUID | None
    resend: bool
    overdue: bool
    letter_id: str = Field(
        default="",
        description="The OIOXML Letter/Identifier (made by the hub for a letter sent as FHIR).",
    )
    fhir_bundle_id: str | None = Field(
        default=None,
        description="The FHIR Bundle.id: the sender's, or the one the hub made converting.",
    )
    fhir_message_id: str | None = Field(
        default=None,
        description="The FHIR MessageHeader.id: what an Acknowledgement answers.",
    )
    sent_as: MessageFormat = Field(
        default=MessageFormat.OIOXML, description="The format the sender sent."
    )
    delivered_as: MessageFormat = Field(
        default=MessageFormat.OIOXML, description="The format the receiver fetches."
    )


# --- the archive: POST /v1/letters/search ---------------------------------------------------


class Direction(StrEnum):
    INCOMING = "incoming"  # the caller's organisation received it
    SENT = "sent"  # the caller's organisation sent it


class ArchiveSearch(BaseModel):
    """The body of ``POST /v1/letters/search``: which of the organisation's letters to list.
    A body, not a query string, so the child's CPR number is never in a URL or a log."""

    model_config = ConfigDict(extra="forbid")

    child: str | None = Field(
        default=None,
        min_length=10,
        max_length=11,
        description="The child's CPR number (DDMMYYSSSS or DDMMYY-SSSS): letters about "
        "this child only. Removed letters (their CPR is gone) never match.",
    )
    senders: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Letters from these organisations (GLNs) only.",
    )
    subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=70,
        description="Letters whose subject holds this text (case-insensitive). Removed "
        "letters (their subject is gone) never match.",
    )
    direction: Direction | None = Field(
        default=None, description="Incoming or sent letters only; both when left out."
    )
    before: str | None = Field(
        default=None,
        max_length=120,
        description="The previous page's next: the letters after it, newest first.",
    )
    limit: int = Field(default=50, ge=1, le=200)


class ArchiveEntry(BaseModel):
    """One of the organisation's letters, incoming or sent, as kept now: never the child's
    CPR or the body (``GET /v1/messages/{id}`` fetches a kept letter; a removed one answers
    410 ``letter-removed``)."""

    id: uuid.UUID
    type: MessageType
    direction: Direction
    sender: str
    receiver: str
    letter_id: str
    episode_id: str | None
    subject: str | None = Field(description="Null for a removed letter: only its ids stay.")
    in_reply_to: str | None
    status: MessageStatus
    in_inbox: bool = Field(description="Not yet taken in by its receiver.")
    overdue: bool
    receipt_id: uuid.UUID | None
    received_at: datetime
    updated_at: datetime
    removed_at: datetime | None = Field(
        description="When the letter retention removed the letter's body, child and "
        "subject (null while it is kept)."
    )


class Archive(BaseModel):
    """A page of the organisation's letters, newest first, and who takes its letters in."""

    letters_consumed_by: LettersConsumedBy
    letters: list[ArchiveEntry]
    next: str | None = Field(description="Send as before for the next page; null at the end.")
