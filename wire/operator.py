"""What the operator monitor reads (``/v1/operator/...``): counts, times, states and
metadata, never a body or a CPR number."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from wire.directory import LettersConsumedBy, MessageFormat, Sector
from wire.mailbox import MessageStatus, StatusEvent


class AuditAction(StrEnum):
    REDELIVER = "redeliver"
    STATUS_REPORT = "status-report"
    DISABLE_TOKEN = "disable-token"  # noqa: S105 - an action's name, not a secret
    ENABLE_TOKEN = "enable-token"  # noqa: S105 - an action's name, not a secret
    ADD_ORGANISATION = "add-organisation"
    ADD_USER = "add-user"
    ROTATE_TOKEN = "rotate-token"  # noqa: S105 - an action's name, not a secret
    LETTERS_CONSUMED_BY = "letters-consumed-by"  # who takes an organisation's letters in
    REVOKE_CERTIFICATE = "revoke-certificate"
    READ_ACCESS_LOG = "read-access-log"  # a child's access log, with a stated reason
    SET_FORMAT = "set-format"  # the letter format an organisation receives


SERIAL_PATTERN = "^[0-9a-f]{1,64}$"
"""A certificate serial number as the hub keeps it: hexadecimal, lower case, no leading
zeros."""


class Probe(BaseModel):
    """A liveness or readiness probe's answer: ok, or ready."""

    status: str


class HubProcess(BaseModel):
    """A samspil serve process on this database whose heartbeat was seen in the last 30
    seconds (it refreshes seen_at every 10 seconds)."""

    host: str
    pid: int
    version: str
    started_at: datetime
    seen_at: datetime


class RateKind(StrEnum):
    """What the index counts per organisation per day."""

    NEW_CHILDREN = "new-children"  # cases for children the organisation had no case for
    ATTESTED_CONSENTS = "attested-consents"  # consents a caseworker attested (not verified)


class IndexRate(BaseModel):
    """One organisation's count today (a UTC day) of one kind, beside its usual day: the
    stolen-token signal. A token that registers children it has no business with, or attests
    consents to open others' entries, shows as a day far above the organisation's usual."""

    organisation: str
    name: str
    kind: RateKind
    today: int
    usual: float = Field(description="The mean per day over the 14 days before today.")
    flagged: bool = Field(
        description="Today is above SAMSPIL_RATE_ALERT_MULTIPLE times the usual day and at "
        "least SAMSPIL_RATE_ALERT_MINIMUM: look at the organisation now (its token may be "
        "disabled from the operator monitor)."
    )


LAST_POLL = (
    "When the organisation's system (its system token) last polled its inbox; a person "
    "reading the inbox in an app does not count, so a stopped adapter shows as silent. "
    "Null: never."
)


class MailboxCount(BaseModel):
    gln: str
    inbox_depth: int
    last_poll: datetime | None = Field(description=LAST_POLL)


class Summary(BaseModel):
    """Counts for operators, never content."""

    region: str = Field(
        description="The region this hub serves (SAMSPIL_REGION_NAME): the monitor's title."
    )
    by_status: dict[str, int]
    organisations: list[MailboxCount]
    overdue_receipts: int
    expired: int
    errors: dict[str, int]
    processes: list[HubProcess] = Field(
        description="The hub processes sharing this database, oldest start first."
    )
    stale_processes: int = Field(
        description="Processes whose heartbeat stopped without a graceful stop (not seen for "
        "30 seconds; forgotten after an hour): alert on > 0."
    )
    index_rates: list[IndexRate] = Field(
        description="Per organisation with any in the last 15 days: new children registered "
        "and attested consents recorded today against its usual day, flagged where today is "
        "far above it. Sorted by organisation, then kind."
    )


class Throughput(BaseModel):
    """Messages accepted per minute by type, oldest minute first."""

    until: datetime
    minutes: int
    by_type: dict[str, list[int]]
    total: list[int]


class DatabaseHealth(BaseModel):
    ok: bool
    latency_ms: float | None


class Health(BaseModel):
    """Database, disk, submit latency and error rate of the hub process that answered."""

    database: DatabaseHealth
    disk_used_percent: float | None
    uptime_seconds: float
    submit_p99_ms: float | None
    responses: int
    server_errors: int
    error_rate_percent: float


class OrganisationState(BaseModel):
    gln: str
    name: str
    sector: Sector
    inbox_depth: int
    oldest_waiting: datetime | None
    last_poll: datetime | None = Field(description=LAST_POLL)
    token_disabled: bool
    letters_consumed_by: LettersConsumedBy = Field(
        description="Who takes the organisation's letters out of its inbox: its system "
        "(adapter) or its people (the caseworker app)."
    )
    format: MessageFormat = Field(
        description="The letter format the organisation receives (the hub converts every "
        "letter and receipt to it): oioxml or fhir. An operator changes it with "
        "PUT /v1/operator/organisations/{gln}/format."
    )


class LettersConsumerIn(BaseModel):
    """The body of POST /v1/operator/organisations/{gln}/letters-consumed-by."""

    model_config = ConfigDict(extra="forbid")

    letters_consumed_by: LettersConsumedBy


class LettersConsumer(BaseModel):
    """Who takes the organisation's letters in now, and whether this call changed it."""

    organisation: str
    letters_consumed_by: LettersConsumedBy
    changed: bool


class OperatorOrganisations(BaseModel):
    organisations: list[OrganisationState]


class MessageMeta(BaseModel):
    """A message's metadata: never its body or the child's CPR."""

    id: uuid.UUID
    type: str
    sender: str
    receiver: str
    envelope_id: str
    letter_id: str
    episode_id: str | None
    ack_requested: bool
    status: MessageStatus
    in_inbox: bool
    resend: bool
    resend_of: uuid.UUID | None
    original_id: uuid.UUID | None
    receipt_id: uuid.UUID | None
    overdue: bool
    size: int
    received_at: datetime
    updated_at: datetime


class Queue(BaseModel):
    organisation: str
    messages: list[MessageMeta]


class Trail(MessageMeta):
    """A message's metadata and every status event with its time."""

    events: list[StatusEvent]


class Redelivered(BaseModel):
    id: uuid.UUID
    status: MessageStatus
    redelivery_of: uuid.UUID


class Reported(BaseModel):
    id: uuid.UUID
    status: MessageStatus
    report_for: uuid.UUID


class TokenState(BaseModel):
    organisation: str
    token_disabled: bool
    changed: int


class FormatIn(BaseModel):
    """An organisation's letter format, as an operator sets it."""

    model_config = ConfigDict(extra="forbid")

    format: MessageFormat


class FormatState(BaseModel):
    organisation: str
    format: MessageFormat
    changed: bool


class AuditEntry(BaseModel):
    id: uuid.UUID
    at: datetime
    action: AuditAction
    target: str
    result: str | None
    actor: str
    actor_organisation: str


class Audit(BaseModel):
    """The operators' actions, newest first."""

    entries: list[AuditEntry]


class CertificateRevocationIn(BaseModel):
    """A client certificate to revoke, by the serial number its CA gave it."""

    model_config = ConfigDict(extra="forbid")

    serial: str = Field(
        min_length=1,
        max_length=200,
        description="Hexadecimal, as 'openssl x509 -noout -serial' prints it; 0x, colons and "
        "upper case are taken.",
    )
    reason: str | None = Field(
        default=None, max_length=500, description="Why, for the operators (one line)."
    )


class RevokedCertificate(BaseModel):
    """A client certificate the hub refuses (401 certificate-revoked) whatever its
    organisation's credential says."""

    serial: str = Field(pattern=SERIAL_PATTERN)
    organisation: str
    revoked_at: datetime
    revoked_by: str
    reason: str | None


class RevokedCertificates(BaseModel):
    """An organisation's revoked client certificates, newest first."""

    organisation: str
    certificates: list[RevokedCertificate]
