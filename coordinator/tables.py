"""The hub's tables, as SQLModel families (``XBase``, ``XCreate``, ``X(table=True)``, and
``XPublic`` where a row is handed back in Python). What travels over HTTP is in :mod:`wire`.

The schema itself is owned by the Alembic migrations in ``coordinator/migrations``; these
classes describe it for queries and for the check that migrations and models agree. The hot
path uses the Core tables (``ORGANISATION``, ``CREDENTIAL``, ``MESSAGE``, ``MESSAGE_EVENT``,
``REMOVED_MESSAGE``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, Index, LargeBinary, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from coordinator.mailbox.status import MessageStatus
from coordinator.sqltypes import UtcDateTime, utcnow
from wire.directory import LettersConsumedBy as LettersConsumedBy
from wire.directory import MessageFormat as MessageFormat
from wire.directory import Role as Role
from wire.directory import Sector as Sector

# --- organisations -----------------------------------------------------------------------


class OrganisationBase(SQLModel):
    gln: str = Field(max_length=13, unique=True, index=True)
    name: str = Field(max_length=200)
    sector: Sector = Field(sa_type=String(16))
    sor: str | None = Field(default=None, max_length=16)
    municipality: str | None = Field(default=None, max_length=3)
    # the letter format its system speaks: the hub converts every letter and receipt to it
    format: MessageFormat = Field(
        default=MessageFormat.OIOXML,
        sa_column=Column(String(8), nullable=False, server_default=MessageFormat.OIOXML.value),
    )
    # who takes its letters out of its inbox: its system (adapter) or its people (the app)
    letters_consumed_by: LettersConsumedBy = Field(
        default=LettersConsumedBy.SYSTEM,
        sa_type=String(8),
        sa_column_kwargs={"server_default": LettersConsumedBy.SYSTEM.value},
    )


class OrganisationCreate(OrganisationBase):
    pass


class Organisation(OrganisationBase, table=True):
    __tablename__ = "organisation"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_poll_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class OrganisationPublic(OrganisationBase):
    id: uuid.UUID
    created_at: datetime


# --- credentials ---------------------------------------------------------------------------


class CredentialBase(SQLModel):
    org_gln: str = Field(max_length=13, foreign_key="organisation.gln", index=True)
    name: str = Field(max_length=200)
    role: Role = Field(sa_type=String(16))


class CredentialCreate(CredentialBase):
    pass


class Credential(CredentialBase, table=True):
    """A bearer token, stored only as the SHA-256 of a 256-bit random secret."""

    __tablename__ = "credential"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # None: never


class RevokedCertificate(SQLModel, table=True):
    """A client certificate revoked on its own (its serial number, as issued by the hub's
    client CA), so a lost certificate is stopped without disabling its organisation."""

    __tablename__ = "revoked_certificate"
    serial: str = Field(primary_key=True, max_length=64)  # hexadecimal, lower case
    org_gln: str = Field(max_length=13, foreign_key="organisation.gln", index=True)
    revoked_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_by: str = Field(max_length=200)
    reason: str | None = Field(default=None, max_length=500)


# --- messages ------------------------------------------------------------------------------


class MessageBase(SQLModel):
    type: str = Field(max_length=8)
    sender_gln: str = Field(max_length=20)
    receiver_gln: str = Field(max_length=20)
    envelope_id: str = Field(max_length=14)
    letter_id: str = Field(max_length=14)
    episode_id: str | None = Field(default=None, max_length=35)
    ack_requested: bool = False


class MessageCreate(MessageBase):
    body: bytes


class Message(MessageBase, table=True):
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("sender_gln", "envelope_id", "letter_id", name="uq_message_identity"),
        Index("ix_message_inbox", "receiver_gln", "in_inbox", "received_at"),
        Index("ix_message_outbox", "sender_gln", "received_at"),
        Index("ix_message_letter", "sender_gln", "letter_id"),
        Index("ix_message_sweep", "in_inbox", "received_at"),
        Index("ix_message_paired", "paired_with"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    is_resend: bool = False
    resend_of: uuid.UUID | None = None
    original_id: uuid.UUID | None = None  # for a receipt: the letter it answers
    status: MessageStatus = Field(default=MessageStatus.ACCEPTED, sa_type=String(16))
    in_inbox: bool = True  # until the receiver acknowledges it, or it expires
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    receipt_id: uuid.UUID | None = None  # the receipt (XCTL01/02/03) that answered it
    overdue: bool = False  # a requested positive receipt did not come in time
    # handed to one of several consumers of the receiver: hidden from the others until then
    leased_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # an XDIS91's child (a real CPR only): the inbox offers a receiver with no active case
    # for the child to register one. Never shown in an inbox entry, never logged
    patient_cpr: str | None = Field(default=None, max_length=10)
    subject: str | None = Field(default=None, max_length=70)  # an XDIS91's Subject
    # the letter identifier a Samspil reply answers (its urn:samspil:letter:<id> reference)
    in_reply_to: str | None = Field(default=None, max_length=14)
    # formats: what the sender sent (``original`` holds its bytes when the hub converted
    # them) and what ``body`` is (its media type), so the sender's tracking and the
    # receiver's fetch are both exact
    # (server defaults: a row written by an older hub, or by a migration test, is OIOXML)
    sent_as: MessageFormat = Field(
        default=MessageFormat.OIOXML,
        sa_column=Column(String(8), nullable=False, server_default=MessageFormat.OIOXML.value),
    )
    body_type: str = Field(
        default="application/xml",
        sa_column=Column(String(32), nullable=False, server_default="application/xml"),
    )
    original: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    fhir_bundle_id: str | None = Field(default=None, max_length=64)  # Bundle.id
    fhir_message_id: str | None = Field(default=None, max_length=64)  # MessageHeader.id
    # a letter held for its other half (C10's 60 minutes): when it went into the inbox; its
    # time to be fetched (``message_ttl``) counts from then
    released_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # an XBIN01 a FHIR receiver's letter carries (its data inside the CareCommunication):
    # that XDIS91's id. It is never released on its own, and its status follows the letter's
    paired_with: uuid.UUID | None = None


class RemovedMessage(SQLModel, table=True):
    """What stays of a message the letter retention removed (:mod:`coordinator.mailbox.retention`):
    its identifiers, its two parties, its last status and when. No body, no CPR, no subject,
    no status history. Enough to answer the same message sent again as a duplicate (never
    delivered twice), to count it in MedCom's resend limit, and to tell its sender and
    receiver that it is gone (410 ``letter-removed``) rather than that it never existed."""

    __tablename__ = "message_removed"
    __table_args__ = (
        # the identity rule's key, letter first: it also serves the lookup by sender and letter
        UniqueConstraint(
            "sender_gln", "letter_id", "envelope_id", name="uq_message_removed_identity"
        ),
    )
    id: uuid.UUID = Field(primary_key=True)  # the removed message's id
    type: str = Field(max_length=8)
    sender_gln: str = Field(max_length=20)
    receiver_gln: str = Field(max_length=20)
    envelope_id: str = Field(max_length=14)
    letter_id: str = Field(max_length=14)
    status: MessageStatus = Field(sa_type=String(16))  # its status when it was removed
    received_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)  # its last status change
    removed_at: datetime = Field(sa_type=UtcDateTime)


class MessageConversion(SQLModel, table=True):
    """One letter converted between OIOXML and FHIR (the conversion record of MedCom's
    rule C11), kept :data:`coordinator.mailbox.conversion.KEPT` (three months) so receipts
    can be converted back: which FHIR message (``fhir_message_id``, its MessageHeader.id)
    became or came from which OIOXML letters (the XDIS91 and its XBIN01), between which two
    organisations. ``facts`` holds no CPR and no text: only the parties and identifiers
    the receipts need (:func:`messages.fhir.convert.record.record_facts`). The XCTL receipts
    of a FHIR sender's letter are gathered here until both have come."""

    __tablename__ = "message_conversion"
    __table_args__ = (
        Index("ix_message_conversion_fhir", "fhir_gln", "fhir_message_id"),
        Index("ix_message_conversion_letter", "fhir_gln", "letter_id"),
        Index("ix_message_conversion_binary", "fhir_gln", "binary_letter_id"),
        Index("ix_message_conversion_created", "created_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    fhir_gln: str = Field(max_length=20)  # the organisation on the FHIR side
    oioxml_gln: str = Field(max_length=20)
    fhir_message_id: str = Field(max_length=64)
    letter_envelope_id: str = Field(max_length=14)
    letter_id: str = Field(max_length=14)
    binary_envelope_id: str | None = Field(default=None, max_length=14)
    binary_letter_id: str | None = Field(default=None, max_length=14)
    facts: str = Field(sa_column=Column(Text, nullable=False))
    letter_receipt: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    binary_receipt: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    answered: bool = False  # the receipts were converted (once)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MessageEvent(SQLModel, table=True):
    __tablename__ = "message_event"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    message_id: uuid.UUID = Field(foreign_key="message.id", index=True)
    status: MessageStatus = Field(sa_type=String(16))
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# --- hub processes ---------------------------------------------------------------------------


class HubProcess(SQLModel, table=True):
    """A running ``samspil serve`` process: inserted at start-up, ``seen_at`` refreshed by
    its heartbeat (:mod:`coordinator.operations.heartbeat`), deleted on a graceful stop. A row that
    is
    no longer refreshed is a process that stopped without saying so."""

    __tablename__ = "hub_process"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)  # new per start
    host: str = Field(max_length=255)
    pid: int
    version: str = Field(max_length=32)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


ORGANISATION = cast(Table, Organisation.__table__)  # type: ignore[attr-defined]
CREDENTIAL = cast(Table, Credential.__table__)  # type: ignore[attr-defined]
MESSAGE = cast(Table, Message.__table__)  # type: ignore[attr-defined]
MESSAGE_EVENT = cast(Table, MessageEvent.__table__)  # type: ignore[attr-defined]
REMOVED_MESSAGE = cast(Table, RemovedMessage.__table__)  # type: ignore[attr-defined]
REVOKED_CERTIFICATE = cast(Table, RevokedCertificate.__table__)  # type: ignore[attr-defined]
HUB_PROCESS = cast(Table, HubProcess.__table__)  # type: ignore[attr-defined]
MESSAGE_CONVERSION = cast(Table, MessageConversion.__table__)  # type: ignore[attr-defined]
METADATA = SQLModel.metadata


def new_message_row(
    *,
    id: uuid.UUID,
    type: str,
    sender_gln: str,
    receiver_gln: str,
    envelope_id: str,
    letter_id: str,
    body: bytes,
    received_at: datetime,
    episode_id: str | None = None,
    ack_requested: bool = False,
    resend_of: uuid.UUID | None = None,
    original_id: uuid.UUID | None = None,
    patient_cpr: str | None = None,
    subject: str | None = None,
    in_reply_to: str | None = None,
    sent_as: str = MessageFormat.OIOXML.value,
    body_type: str = "application/xml",
    original: bytes | None = None,
    fhir_bundle_id: str | None = None,
    fhir_message_id: str | None = None,
    in_inbox: bool = True,
    status: MessageStatus = MessageStatus.ACCEPTED,
) -> dict[str, Any]:
    """Every column of a message just put in its receiver's inbox (``accepted``; an XCTL the
    hub takes for a FHIR receiver is stored ``acknowledged``): the one place a ``MESSAGE``
    row is made, for a sent message, the hub's XCTL01 and a re-delivery."""
    return {
        "id": id,
        "type": type,
        "sender_gln": sender_gln,
        "receiver_gln": receiver_gln,
        "envelope_id": envelope_id,
        "letter_id": letter_id,
        "episode_id": episode_id,
        "ack_requested": ack_requested,
        "is_resend": resend_of is not None,
        "resend_of": resend_of,
        "original_id": original_id,
        "status": status.value,
        "in_inbox": in_inbox,
        "body": body,
        "size": len(body),
        "received_at": received_at,
        "updated_at": received_at,
        "receipt_id": None,
        "overdue": False,
        "leased_until": None,
        "patient_cpr": patient_cpr,
        "subject": subject,
        "in_reply_to": in_reply_to,
        "sent_as": sent_as,
        "body_type": body_type,
        "original": original,
        "fhir_bundle_id": fhir_bundle_id,
        "fhir_message_id": fhir_message_id,
        "released_at": None,
        "paired_with": None,
    }
