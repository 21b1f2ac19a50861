"""The shared index's persistence: upserts, the overview's reads, consents and the coordinator
(the access log's reads and writes, and owners' notifications, are in
:mod:`coordinator.index.access_log`).

Writes are ops for the :class:`~coordinator.database.committer.Committer` (one writer per process).
The
overview reads on the read path (:class:`~coordinator.database.reader.Reader`, no writer held) and
writes nothing: its access-log entry is a separate committer write, made by
:func:`coordinator.index.disclosure.disclose_overview`, which answers only once that entry has been
committed. The consent list reads on the engine; its entry is made the same way
(:func:`coordinator.index.disclosure.disclose_consents`). Those reads are private here
(``_overview``, ``_consents_of``): the routes reach them only through
:mod:`coordinator.index.disclosure`. SQLAlchemy errors become
:class:`~coordinator.errors.StoreError` here or in the committer; no CPR number is ever put in
an error or a log line.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    Table,
    Uuid,
    bindparam,
    cast,
    insert,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.database.backend import kind_of
from coordinator.database.committer import Batch
from coordinator.database.engine import guarded
from coordinator.database.reader import Reader
from coordinator.database.statements import InsertIgnore, Query
from coordinator.errors import (
    Conflict,
    InvalidEntry,
    NoActiveCase,
    NotFound,
)
from coordinator.index.changes import (
    appointment_change,
    case_change,
    coordinator_change,
    lock_changes,
    write_changes,
    write_changes_async,
)
from coordinator.index.consent import (
    ConsentFacts,
    ConsentPolicy,
    Listed,
    Missing,
    Party,
    age_on,
    is_active,
    judge,
    listing,
    opened_to,
    opens,
    organisations_open_to,
    sector_verdicts,
    would_open,
)
from coordinator.index.consent_rows import CONSENTS_OF, DISPUTES_OF, consent_facts, facts_of
from coordinator.index.notifications import CaseWrite, Involved, tell_partners
from coordinator.index.tables import (
    APPOINTMENT,
    CASE,
    CHILD,
    CONSENT,
    COORDINATOR,
    DISPUTE,
    NOTIFICATION,
    ConsentCreate,
    ConsentForm,
    ConsentRelation,
    CoordinatorCreate,
    NotificationKind,
)
from coordinator.sqltypes import UtcDateTime, utcnow
from coordinator.tables import ORGANISATION, Sector
from messages.identifiers import Cpr
from wire.consent_document import ConsentDocument
from wire.entries import AppointmentEntry, CaseEntry, CaseStatus
from wire.index import ConsentVerification

G = ORGANISATION.c  # organisations, by GLN
C = CASE.c
A = APPOINTMENT.c
K = CONSENT.c
KD = DISPUTE.c
N = NOTIFICATION.c


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks: the organisation, its sector is read from the store, and the person."""

    org_gln: str
    person: str
    credential_id: uuid.UUID
    on_behalf_of: bool


async def _has_active_case(conn: AsyncConnection, org_gln: str, cpr: str) -> bool:
    found = await conn.scalar(
        select(C.id)
        .where(C.cpr == cpr, C.org_gln == org_gln, C.status == CaseStatus.ACTIVE.value)
        .limit(1)
    )
    return found is not None


async def _require_active_case(conn: AsyncConnection, org_gln: str, cpr: str) -> None:
    if not await _has_active_case(conn, org_gln, cpr):
        raise NoActiveCase()


async def _sector_of(conn: AsyncConnection, gln: str) -> Sector:
    sector = await conn.scalar(select(G.sector).where(G.gln == gln))
    if sector is None:
        raise NotFound("your organisation is not registered")
    return Sector(sector)


# --- upserts (a bulk write: a group's upserts together, on the committer's hot path) ------


@dataclass(frozen=True, slots=True)
class Upsert:
    """One organisation's own entry ``ref`` in ``table``, for :func:`upsert_entries`."""

    table: Table
    org_gln: str
    ref: str
    cpr: Cpr
    values: dict[str, Any]
    what: str  # "case" or "appointment", for the conflict's sentence
    case_ref: str | None = None  # an appointment's case, which must be the caller's, same child
    at: datetime | None = None  # the hub's clock when it came (None: the commit's time)


@dataclass(frozen=True, slots=True)
class Stored:
    """What :func:`upsert_entries` did with one entry: created it (or updated it), and, for a
    case that is its organisation's first active case for the child, the organisations told
    (:func:`coordinator.index.notifications.tell_partners`)."""

    created: bool
    told: tuple[Involved, ...] = ()


def put_case(
    *, org_gln: str, ref: str, cpr: Cpr, case: CaseEntry, at: datetime | None = None
) -> Upsert:
    """Create or update the caller's own case ``ref`` at ``at`` (``Committer.bulk(
    upsert_entries, _)``: a :class:`Stored`)."""
    values = {
        "cpr": cpr.digits,
        "kind": case.kind.value,
        "status": case.status.value,
        "opened_on": case.opened_on,
        "closed_on": case.closed_on,
        "title": case.title,
        "contact_name": case.contact.name,
        "contact_role": case.contact.role,
        "contact_phone": case.contact.phone,
        "contact_email": case.contact.email,
    }
    return Upsert(CASE, org_gln, ref, cpr, values, "case", at=at)


def put_appointment(
    *,
    org_gln: str,
    ref: str,
    cpr: Cpr,
    appointment: AppointmentEntry,
    at: datetime | None = None,
) -> Upsert:
    """Create or update the caller's own appointment ``ref`` at ``at`` (``Committer.bulk(
    upsert_entries, _)``: a :class:`Stored`)."""
    values = {
        "cpr": cpr.digits,
        "case_ref": appointment.case_ref,
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "status": appointment.status.value,
        "location": appointment.location,
        "with_name": appointment.with_.name,
        "with_role": appointment.with_.role,
    }
    return Upsert(
        APPOINTMENT, org_gln, ref, cpr, values, "appointment", appointment.case_ref, at=at
    )


def _existing(table: Table, *extra: Any) -> Any:
    # two INs, not a row-value IN: both databases use the (org_gln, ref) unique index
    columns = (table.c.id, table.c.org_gln, table.c.ref, table.c.cpr, table.c.status, *extra)
    return select(*columns).where(
        table.c.org_gln.in_(bindparam("orgs", expanding=True)),
        table.c.ref.in_(bindparam("refs", expanding=True)),
    )


def _update(table: Table) -> Any:
    return update(table).where(table.c.id == bindparam("_id"))


_EXISTING = {
    CASE.name: _existing(CASE),
    APPOINTMENT.name: _existing(APPOINTMENT, A.starts_at, A.ends_at),
}
_UPDATE = {CASE.name: _update(CASE), APPOINTMENT.name: _update(APPOINTMENT)}
_INSERT = {CASE.name: insert(CASE), APPOINTMENT.name: insert(APPOINTMENT)}
CHILDREN = InsertIgnore(CHILD, ["cpr"])
"""Remember children (``id``, ``cpr``, ``born_on``) the index does not know yet: the
retention job finds a child's entries and access log by that row."""


def _known(
    conn: Connection, table: Table, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[uuid.UUID, str, str, Any]]:
    """The stored entries of ``table`` among ``keys`` (org, ref): id, CPR and status of each,
    and an appointment's start and end (for the change log: moved or not)."""
    if not keys:
        return {}
    rows = conn.execute(
        _EXISTING[table.name],
        {"orgs": sorted({k[0] for k in keys}), "refs": sorted({k[1] for k in keys})},
    )
    return {
        (r.org_gln, r.ref): (r.id, r.cpr, r.status, _times(r))
        for r in rows
        if (r.org_gln, r.ref) in keys
    }


def _times(row: Any) -> tuple[datetime, datetime] | None:
    starts = getattr(row, "starts_at", None)
    return None if starts is None else (starts, row.ends_at)


def upsert_entries(conn: Connection, batch: Batch, items: list[Upsert]) -> list[Any]:
    """Bulk write: a group's upserts, as if one after the other in order (a later one sees an
    earlier one of the same group); a :class:`Stored` each, or the item's error. A statement
    or two per table, not per item: one read of the entries the group names, then its
    inserts and its updates (in that order, so an entry created and updated in one group
    ends as the update left it).

    A case that is its organisation's first active case for the child tells the other
    organisations with an active case for the child, in the same transaction
    (:func:`coordinator.index.notifications.tell_partners`). A case opened or closed, an
    appointment booked, moved or cancelled is written to the change log in the same
    transaction too (:mod:`coordinator.index.changes`: the partner-events feed).

    A reference names one entry about one child for good: the same reference for another
    child is a conflict, never a move. A refused item writes nothing and fails only its own
    request.
    """
    wanted: dict[str, set[tuple[str, str]]] = {CASE.name: set(), APPOINTMENT.name: set()}
    for item in items:
        wanted[item.table.name].add((item.org_gln, item.ref))
        if item.case_ref is not None:
            wanted[CASE.name].add((item.org_gln, item.case_ref))
    known = {name: _known(conn, table, wanted[name]) for name, table in _TABLES.items()}
    inserts: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
    updates: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
    children: dict[str, dict[str, Any]] = {}
    results: list[Any] = []
    cases: list[tuple[int, CaseWrite]] = []  # (position in results, the case write)
    changes: list[dict[str, Any]] = []  # the change log's rows, in the group's order
    for item in items:
        name, key = item.table.name, (item.org_gln, item.ref)
        at = item.at or batch.now
        if item.case_ref is not None:
            case = known[CASE.name].get((item.org_gln, item.case_ref))
            if case is None or case[1] != item.cpr.digits:
                results.append(
                    InvalidEntry(
                        "case_ref names none of your organisation's cases for this child",
                        code="unknown-case-ref",
                    )
                )
                continue
        existing = known[name].get(key)
        status = item.values["status"]
        if existing is None:
            entry_id = uuid.uuid4()
            inserts[name].append(
                {
                    "id": entry_id,
                    "org_gln": item.org_gln,
                    "ref": item.ref,
                    "created_at": at,
                    "updated_at": at,
                    **item.values,
                }
            )
            known[name][key] = (entry_id, item.cpr.digits, status, _new_times(item))
            results.append(Stored(created=True))
        elif existing[1] != item.cpr.digits:
            results.append(
                Conflict(
                    f"this {item.what} reference belongs to another child; an entry cannot "
                    "change child",
                    code="ref-belongs-to-another-child",
                )
            )
            continue
        else:
            updates[name].append({"_id": existing[0], "updated_at": at, **item.values})
            known[name][key] = (existing[0], existing[1], status, _new_times(item))
            results.append(Stored(created=False))
        change = _change(item, known[name][key][0], existing, at)
        if change is not None:
            changes.append(change)
        if item.table is CASE:
            was = existing[2] if existing is not None else None
            cases.append((len(results) - 1, _case_write(item, at, was_active=was == _ACTIVE)))
        children[item.cpr.digits] = {
            "id": uuid.uuid4(),
            "cpr": item.cpr.digits,
            "born_on": item.cpr.birth_date,
        }
    if changes:  # before the children's row locks: every writer takes the two in one order
        lock_changes(conn)
    if children:  # in one order (by CPR), as the children's rows are locked below
        CHILDREN.many(conn, [children[cpr] for cpr in sorted(children)])
    if cases:  # before the case writes: it reads who had an active case before the group
        told = tell_partners(conn, [write for _, write in cases])
        for (position, _), partners in zip(cases, told, strict=True):
            if partners:
                results[position] = Stored(results[position].created, partners)
    for name in _TABLES:  # cases first: an appointment may name a case of the same group
        if inserts[name]:
            conn.execute(_INSERT[name], inserts[name])
        if updates[name]:
            conn.execute(_UPDATE[name], updates[name])
    write_changes(conn, changes)
    return results


def _new_times(item: Upsert) -> tuple[datetime, datetime] | None:
    if item.table is not APPOINTMENT:
        return None
    return (item.values["starts_at"], item.values["ends_at"])


def _change(
    item: Upsert, entry_id: uuid.UUID, existing: tuple[Any, ...] | None, at: datetime
) -> dict[str, Any] | None:
    """The change-log row of one upsert (None: nothing partners are told of)."""
    if item.table is CASE:
        return case_change(
            org_gln=item.org_gln,
            cpr=item.cpr.digits,
            entry_id=entry_id,
            was=existing[2] if existing is not None else None,
            values=item.values,
            at=at,
        )
    was = None
    if existing is not None and existing[3] is not None:
        was = (existing[2], *existing[3])
    return appointment_change(
        org_gln=item.org_gln,
        cpr=item.cpr.digits,
        entry_id=entry_id,
        was=was,
        values=item.values,
        at=at,
    )


_TABLES = {CASE.name: CASE, APPOINTMENT.name: APPOINTMENT}
_ACTIVE = CaseStatus.ACTIVE.value


def _case_write(item: Upsert, at: datetime, *, was_active: bool) -> CaseWrite:
    values = item.values
    return CaseWrite(
        org_gln=item.org_gln,
        ref=item.ref,
        cpr=item.cpr.digits,
        was_active=was_active,
        active=values["status"] == _ACTIVE,
        at=at,
        contact_name=values["contact_name"],
        contact_role=values["contact_role"],
        contact_phone=values["contact_phone"],
        contact_email=values["contact_email"],
    )


# --- consents and the coordinator (ops) ----------------------------------------------------


async def _require_registered(conn: AsyncConnection, glns: list[str]) -> None:
    """Every GLN of ``glns`` names a registered organisation (else 422 unknown-organisation)."""
    if not glns:
        return
    known = set((await conn.execute(select(G.gln).where(G.gln.in_(glns)))).scalars())
    unknown = [gln for gln in glns if gln not in known]
    if unknown:
        raise InvalidEntry(
            f"the consent names organisations not registered at the hub: {', '.join(unknown)}; "
            "name registered organisations by their GLN (GET /v1/organisations)",
            code="unknown-organisation",
        )


async def _recorded_under(
    conn: AsyncConnection, viewer: Viewer, cpr: Cpr, idempotency_key: str | None
) -> uuid.UUID | None:
    """The consent the caller's organisation recorded under ``idempotency_key`` for this
    child, if any; the same key for another child is a conflict, not a silent match."""
    if idempotency_key is None:
        return None
    earlier = (
        await conn.execute(
            select(CONSENT.c.id, CONSENT.c.cpr).where(
                CONSENT.c.recorded_by_org == viewer.org_gln,
                CONSENT.c.idempotency_key == idempotency_key,
            )
        )
    ).first()
    if earlier is None:
        return None
    if earlier.cpr != cpr.digits:
        raise Conflict(
            "this Idempotency-Key already recorded a consent for another child; "
            "use a new key for a new consent",
            code="idempotency-key-reused",
        )
    found: uuid.UUID = earlier.id
    return found


def add_consent(
    *,
    viewer: Viewer,
    cpr: Cpr,
    consent: ConsentCreate,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> Any:
    """Op: record a consent at ``at`` (the hub's clock; None: the commit's time; the caller
    must have an active case): ``(id, created)``.

    With an ``idempotency_key`` the organisation's earlier consent under that key is the
    answer (``created`` false) — a retry whose first answer was lost records nothing twice.
    The same key for another child is a conflict, not a silent match.
    """

    organisations = sorted(set(consent.organisations))

    async def op(conn: AsyncConnection, batch: Batch) -> tuple[uuid.UUID, bool]:
        await _require_active_case(conn, viewer.org_gln, cpr.digits)
        await _require_registered(conn, organisations)
        earlier = await _recorded_under(conn, viewer, cpr, idempotency_key)
        if earlier is not None:
            return earlier, False
        consent_id = uuid.uuid4()
        await conn.execute(
            insert(CONSENT).values(
                id=consent_id,
                cpr=cpr.digits,
                given_by_name=consent.given_by_name,
                relation=consent.relation.value,
                form=consent.form.value,
                valid_from=consent.valid_from,
                valid_until=consent.valid_until,
                sectors=",".join(sorted({s.value for s in consent.sectors})),
                organisations=",".join(organisations),
                verification=ConsentVerification.ATTESTED.value,
                recorded_by_org=viewer.org_gln,
                recorded_by=viewer.person,
                recorded_at=at or batch.now,
                revoked_at=None,
                revoked_by_org=None,
                idempotency_key=idempotency_key,
            )
        )
        return consent_id, True

    return op


def add_verified_consent(
    *,
    viewer: Viewer,
    cpr: Cpr,
    claims: ConsentDocument,
    document: str,
    idempotency_key: str | None = None,
) -> Any:
    """Op: record a consent from a verified signed document (``claims``, checked by
    :mod:`coordinator.index.verified_consent`; the caller must have an active case):
    ``(id, created)``. Who consented, their relation, the sectors, the named organisations
    and the period are the document's; the document itself is kept.

    A document is recorded once: its id again is 409 ``consent-document-reused`` — unless
    it is the same organisation's retry under the same ``Idempotency-Key``, which answers
    with the consent that key first recorded (``created`` false), as for any consent.
    """

    async def op(conn: AsyncConnection, batch: Batch) -> tuple[uuid.UUID, bool]:
        await _require_active_case(conn, viewer.org_gln, cpr.digits)
        earlier = await _recorded_under(conn, viewer, cpr, idempotency_key)
        if earlier is not None:
            return earlier, False
        consent_id = uuid.uuid4()
        inserted = await conn.execute(
            kind_of(conn)
            .insert(CONSENT)
            .values(
                id=consent_id,
                cpr=cpr.digits,
                given_by_name=claims.given_by_name,
                relation=claims.relation.value,
                form=ConsentForm.DIGITAL.value,
                valid_from=claims.valid_from,
                valid_until=claims.valid_until,
                sectors=",".join(sorted({s.value for s in claims.sectors})),
                organisations=",".join(sorted(set(claims.organisations))),
                verification=ConsentVerification.VERIFIED.value,
                document_id=claims.document_id,
                document=document,
                recorded_by_org=viewer.org_gln,
                recorded_by=viewer.person,
                recorded_at=batch.now,
                revoked_at=None,
                revoked_by_org=None,
                idempotency_key=idempotency_key,
            )
            # one statement, so two hub processes recording the same document at once
            # cannot both succeed; no row back means the id was taken
            .on_conflict_do_nothing(index_elements=["document_id"])
            .returning(K.id)
        )
        if inserted.first() is None:
            raise Conflict(
                "this signed consent has been recorded before (its document id is taken); a "
                "consent is recorded once - list the child's consents to find it",
                code="consent-document-reused",
            )
        return consent_id, True

    return op


def revoke_consent(*, viewer: Viewer, cpr: Cpr, consent_id: uuid.UUID) -> Any:
    """Op: revoke a consent now (idempotent: a revoked consent keeps its first revocation)."""

    async def op(conn: AsyncConnection, batch: Batch) -> datetime:
        await _require_active_case(conn, viewer.org_gln, cpr.digits)
        row = (
            await conn.execute(select(K.revoked_at).where(K.id == consent_id, K.cpr == cpr.digits))
        ).first()
        if row is None:
            raise NotFound("no such consent for this child")
        if row.revoked_at is not None:
            revoked: datetime = row.revoked_at
            return revoked
        await conn.execute(
            update(CONSENT)
            .where(K.id == consent_id, K.revoked_at.is_(None))
            .values(revoked_at=batch.now, revoked_by_org=viewer.org_gln)
        )
        return batch.now

    return op


def put_coordinator(*, viewer: Viewer, cpr: Cpr, coordinator: CoordinatorCreate) -> Any:
    """Op: name the child's coordinator (tovholder); replaces the one named before. Written
    to the change log in the same transaction (``coordinator-named``)."""
    values = {
        "org_gln": coordinator.organisation,
        "contact_name": coordinator.contact.name,
        "contact_role": coordinator.contact.role,
        "contact_phone": coordinator.contact.phone,
        "contact_email": coordinator.contact.email,
        "named_by_org": viewer.org_gln,
    }

    async def op(conn: AsyncConnection, batch: Batch) -> None:
        await _require_active_case(conn, viewer.org_gln, cpr.digits)
        known = await conn.scalar(select(G.gln).where(G.gln == coordinator.organisation))
        if known is None:
            raise InvalidEntry(
                "the coordinator's organisation is not registered at the hub",
                code="unknown-organisation",
            )
        await conn.execute(
            kind_of(conn)
            .insert(COORDINATOR)
            .values(id=uuid.uuid4(), cpr=cpr.digits, updated_at=batch.now, **values)
            .on_conflict_do_update(index_elements=["cpr"], set_={"updated_at": batch.now, **values})
        )
        await write_changes_async(
            conn, [coordinator_change(cpr=cpr.digits, values=values, at=batch.now)]
        )

    return op


# --- the overview (reads on the read path, its access-log entry committed before it answers)


@dataclass(frozen=True, slots=True)
class Opening:
    """An attested consent that opened an owner's data to someone, and the owner has not
    been told yet (a ``consent-opened`` notification, written with the view's log entry)."""

    owner_org: str
    consent_id: uuid.UUID
    recorder: str


@dataclass(frozen=True, slots=True)
class Opener:
    """A consent in force that opens other sectors' entries to the caller, and which."""

    relation: str
    verification: str
    valid_until: datetime | None
    sectors: frozenset[Sector]
    recorded_by_you: bool


@dataclass(slots=True)
class Overview:
    """What one overview found and may show; ``disclosed`` lists the other organisations,
    ``opened`` the owners first opened by an attested consent."""

    age: int
    caller_sector: Sector
    verdicts: dict[Sector, Missing | None]
    own_cases: list[Any] = field(default_factory=list)
    own_appointments: list[Any] = field(default_factory=list)
    other_cases: list[Any] = field(default_factory=list)
    other_appointments: list[Any] = field(default_factory=list)
    coordinator: Any = None
    disclosed: list[str] = field(default_factory=list)
    opened: list[Opening] = field(default_factory=list)
    opened_by: list[Opener] = field(default_factory=list)
    """The consents that open other sectors' entries to the caller."""
    would_open: dict[ConsentRelation, dict[Sector, Missing | None]] = field(default_factory=dict)
    """What an attested consent the caller records now would open, by relation
    (:func:`coordinator.index.consent.would_open`)."""


def _organisation_of(gln: Any) -> tuple[Any, Any, Any]:
    """The owner's name, sector and SOR code, looked up per row by its GLN (a unique-index
    probe each): as a join, PostgreSQL's planner may hash the whole organisation table for a
    few rows."""
    return (
        select(G.name).where(G.gln == gln).scalar_subquery().label("org_name"),
        select(G.sector).where(G.gln == gln).scalar_subquery().label("org_sector"),
        select(G.sor).where(G.gln == gln).scalar_subquery().label("org_sor"),
    )


_CASE_COLUMNS = (
    C.org_gln,
    C.ref,
    C.kind,
    C.status,
    C.opened_on,
    C.closed_on,
    C.title,
    C.contact_name,
    C.contact_role,
    C.contact_phone,
    C.contact_email,
    *_organisation_of(C.org_gln),
    C.id,
)
_APPOINTMENT_COLUMNS = (
    A.org_gln,
    A.ref,
    A.case_ref,
    A.starts_at,
    A.ends_at,
    A.status,
    A.location,
    A.with_name,
    A.with_role,
    *_organisation_of(A.org_gln),
    A.id,
)
_NOTIFIED = select(N.owner_org, N.consent_id).where(
    N.cpr == bindparam("cpr"), N.kind == NotificationKind.CONSENT_OPENED.value
)
# statements built once: an overview runs them with its child's CPR (and the caller)
_CASES_OF = select(*_CASE_COLUMNS).where(C.cpr == bindparam("cpr")).order_by(C.opened_on, C.ref)
_APPOINTMENTS_OF = (
    select(*_APPOINTMENT_COLUMNS)
    .where(
        A.cpr == bindparam("cpr"),
        or_(A.org_gln == bindparam("org_gln"), A.starts_at >= bindparam("since")),
    )
    .order_by(A.starts_at, A.ref)
)
_COORDINATOR_OF = (
    select(
        COORDINATOR.c.org_gln,
        COORDINATOR.c.contact_name,
        COORDINATOR.c.contact_role,
        COORDINATOR.c.contact_phone,
        COORDINATOR.c.contact_email,
        COORDINATOR.c.updated_at,
        G.name.label("org_name"),
        G.sector.label("org_sector"),
        G.sor.label("org_sor"),
    )
    .join(ORGANISATION, G.gln == COORDINATOR.c.org_gln)
    .where(COORDINATOR.c.cpr == bindparam("cpr"))
)


@dataclass(slots=True)
class _Found:
    cases: list[Any] = field(default_factory=list)
    consents: list[Any] = field(default_factory=list)
    disputes: list[Any] = field(default_factory=list)
    notified: list[Any] = field(default_factory=list)
    appointments: list[Any] = field(default_factory=list)
    coordinator: Any = None


class _OneRead:
    """The overview's reads (cases, consents, their disputes, the consent-opened
    notifications already written, appointments, the coordinator) as one ``UNION ALL``
    statement: one round trip on PostgreSQL, one statement on SQLite.

    Each part's columns go into typed slots of one wide row (text, date, time and UUID
    slots; a part's unused slots are typed NULLs, so both databases agree on every column's
    type) with the part's number first; the rows come back ordered as the separate reads
    ordered them, and :meth:`read` turns them back into each part's own named rows.
    """

    def __init__(self, parts: list[Select[Any]]) -> None:
        kinds: list[list[str]] = []  # per part, the slot of each of its columns
        counts = {"s": 0, "d": 0, "t": 0, "u": 0}
        for part in parts:
            used = {"s": 0, "d": 0, "t": 0, "u": 0}
            slots = []
            for column in part.selected_columns:
                kind = self._kind(column.type)
                slots.append(f"{kind}{used[kind]}")
                used[kind] += 1
            kinds.append(slots)
            counts = {k: max(counts[k], used[k]) for k in counts}
        names = [f"{k}{i}" for k in ("s", "d", "t", "u") for i in range(counts[k])]
        empty: dict[str, Any] = {"s": String(), "d": Date(), "t": UtcDateTime(), "u": Uuid()}
        branches = []
        for number, (part, slots) in enumerate(zip(parts, kinds, strict=True)):
            own = dict(zip(slots, part.selected_columns, strict=True))
            columns = [literal_column(str(number), Integer).label("part")]
            columns += [
                (own[name] if name in own else cast(null(), empty[name[0]])).label(name)
                for name in names
            ]
            branches.append(part.with_only_columns(*columns).order_by(None))
        position = {name: i + 1 for i, name in enumerate(names)}  # "part" is column 0
        self._pick = [itemgetter(*(position[slot] for slot in slots)) for slots in kinds]
        self._rows = [
            namedtuple(f"Part{n}", part.selected_columns.keys()) for n, part in enumerate(parts)
        ]
        order: list[Any] = [literal_column("part")]
        order += [literal_column(name) for name in ("d0", "t0", "s1") if name in names]
        self.query = Query(union_all(*branches).order_by(*order))  # type: ignore[arg-type]

    @staticmethod
    def _kind(column_type: Any) -> str:
        if isinstance(column_type, UtcDateTime):
            return "t"
        if isinstance(column_type, Date):
            return "d"
        if isinstance(column_type, Uuid):
            return "u"
        return "s"

    def read(self, conn: Connection, params: dict[str, Any]) -> list[list[Any]]:
        """Each part's rows, in the order of its own ``ORDER BY``."""
        parts: list[list[Any]] = [[] for _ in self._pick]
        for row in self.query.rows(conn, params):
            part = row[0]
            parts[part].append(self._rows[part]._make(self._pick[part](row)))
        return parts


_OVERVIEW = _OneRead(
    [_CASES_OF, CONSENTS_OF, DISPUTES_OF, _NOTIFIED, _APPOINTMENTS_OF, _COORDINATOR_OF]
)


def _read_overview(conn: Connection, cpr: str, org_gln: str, since: datetime) -> _Found:
    """Everything an overview may show, in one statement."""
    cases, consents, disputes, notified, appointments, coordinator = _OVERVIEW.read(
        conn, {"cpr": cpr, "org_gln": org_gln, "since": since}
    )
    return _Found(
        cases, consents, disputes, notified, appointments, coordinator[0] if coordinator else None
    )


async def _overview(
    *, reader: Reader, viewer: Viewer, cpr: Cpr, recent: timedelta, policy: ConsentPolicy
) -> Overview:
    """The caller's overview of a child, judged per owner organisation under ``policy``: what
    it may show, ``disclosed`` (the other organisations whose entries it shows) and
    ``opened`` (owners an attested consent opened that have not been told). Private: read
    through :func:`coordinator.index.disclosure.disclose_overview`, which logs that view
    and returns only once its entry has been committed.

    The reads run on the read path (no writer is held for them, nothing waits for a commit).
    """
    now = utcnow()
    found = await reader(_read_overview, cpr.digits, viewer.org_gln, now - recent)
    own_active = [
        c for c in found.cases if c.org_gln == viewer.org_gln and c.status == CaseStatus.ACTIVE
    ]
    if not own_active:
        raise NoActiveCase()
    caller = Party(Sector(own_active[0].org_sector), viewer.org_gln)
    age = age_on(cpr.birth_date, now.date())
    facts = facts_of(found.consents, found.disputes)
    verdicts = sector_verdicts(caller=caller, age=age, consents=facts, now=now, policy=policy)
    result = Overview(
        age=age,
        caller_sector=caller.sector,
        verdicts=verdicts,
        would_open=would_open(recorder=caller.sector, age=age, now=now, policy=policy),
    )
    for fact in facts:
        sectors = opened_to(caller, fact, age=age, now=now, policy=policy)
        if sectors:
            result.opened_by.append(
                Opener(
                    relation=fact.relation.value,
                    verification=fact.verification.value,
                    valid_until=fact.valid_until,
                    sectors=sectors,
                    recorded_by_you=fact.recorder == viewer.org_gln,
                )
            )
    opened_by: dict[str, ConsentFacts | None] = {}  # per owner: the consent that opens it

    def may_show(gln: str, sector: str) -> bool:
        if gln not in opened_by:
            verdict = judge(
                caller=caller,
                owner=Party(Sector(sector), gln),
                age=age,
                consents=facts,
                now=now,
                policy=policy,
            )
            opened_by[gln] = None if isinstance(verdict, Missing) else verdict
        return opened_by[gln] is not None

    shown: set[str] = set()
    for c in found.cases:
        if c.org_gln == viewer.org_gln:
            result.own_cases.append(c)
        elif c.status == CaseStatus.ACTIVE and may_show(c.org_gln, c.org_sector):
            result.other_cases.append(c)
            shown.add(c.org_gln)
    for a in found.appointments:
        if a.org_gln == viewer.org_gln:
            result.own_appointments.append(a)
        elif may_show(a.org_gln, a.org_sector):
            result.other_appointments.append(a)
            shown.add(a.org_gln)
    coordinator = found.coordinator
    if coordinator is not None and (
        coordinator.org_gln == viewer.org_gln
        or may_show(coordinator.org_gln, coordinator.org_sector)
    ):
        result.coordinator = coordinator
        if coordinator.org_gln != viewer.org_gln:
            shown.add(coordinator.org_gln)
    result.disclosed = sorted(shown)
    result.opened = _first_openings(result.disclosed, opened_by, found.notified)
    return result


def _first_openings(
    disclosed: list[str], opened_by: dict[str, ConsentFacts | None], notified: list[Any]
) -> list[Opening]:
    """The owners of ``disclosed`` whose data an attested consent opened and who have not
    been told of that consent yet (its recorder knows: it is not told of its own)."""
    told = {(n.owner_org, n.consent_id) for n in notified}
    openings = []
    for owner in disclosed:
        consent = opened_by.get(owner)
        if consent is None or consent.verified or consent.id is None:
            continue
        if consent.recorder != owner and (owner, consent.id) not in told:
            openings.append(Opening(owner, consent.id, consent.recorder))
    return openings


# --- reads ---------------------------------------------------------------------------------


async def organisations_open(
    conn: AsyncConnection,
    *,
    caller_gln: str,
    cpr: Cpr,
    glns: Iterable[str],
    now: datetime,
    policy: ConsentPolicy,
) -> frozenset[str]:
    """Which of ``glns`` the organisation ``caller_gln`` may see for the child ``cpr`` now:
    itself, and each organisation whose data a consent opens to it under ``policy`` and the
    owners' disputes (:func:`coordinator.index.consent.organisations_open_to`, judged per
    owner as the overview judges). An unregistered GLN is never open."""
    wanted = sorted({*glns, caller_gln})
    sectors = {
        row.gln: Sector(row.sector)
        for row in await conn.execute(select(G.gln, G.sector).where(G.gln.in_(wanted)))
    }
    if caller_gln not in sectors:
        raise NotFound("your organisation is not registered")
    return organisations_open_to(
        caller=Party(sectors[caller_gln], caller_gln),
        owners=sectors,
        age=age_on(cpr.birth_date, now.date()),
        consents=await consent_facts(conn, cpr.digits),
        now=now,
        policy=policy,
    )


@dataclass(frozen=True, slots=True)
class ListedConsent:
    """One consent as the caller's consent list shows it
    (:func:`coordinator.index.consent.listing`): ``given_by_name``, ``recorder`` and
    ``recorded_by`` (who recorded it: organisation and person) are None where the rule
    withholds names; ``opens`` is what it alone opens per sector it names
    (:func:`coordinator.index.consent.opens`)."""

    id: uuid.UUID
    given_by_name: str | None
    relation: str
    sectors: list[str]
    organisations: list[str]
    verification: str
    form: str
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    recorded_at: datetime
    recorded_by_org: str
    recorded_by_you: bool
    active: bool
    recorder: str | None
    recorded_by: str | None
    opens: dict[Sector, Missing | None]


@dataclass(slots=True)
class ConsentList:
    """The consents of a child the caller's list shows, newest first, and per consent the
    disputes the caller may see."""

    consents: list[ListedConsent]
    disputes: dict[uuid.UUID, list[Any]] = field(default_factory=dict)

    @property
    def others(self) -> set[str]:
        """Every organisation the list names: the recorders and the disputers shown."""
        found = {row.recorded_by_org for row in self.consents}
        found |= {d.org_gln for shown in self.disputes.values() for d in shown}
        return found


_DISPUTES_SHOWN = (
    select(
        KD.consent_id,
        KD.org_gln,
        KD.person,
        KD.reason,
        KD.at,
        G.name.label("org_name"),
        G.sector.label("org_sector"),
    )
    .join(ORGANISATION, G.gln == KD.org_gln)
    .order_by(KD.at, KD.org_gln)
)


def _listed(
    row: Any,
    facts: ConsentFacts,
    how: Listed,
    org_gln: str,
    active: bool,
    opened: dict[Sector, Missing | None],
) -> ListedConsent:
    named = how is Listed.IN_FULL
    return ListedConsent(
        id=row.id,
        given_by_name=row.given_by_name if how is Listed.IN_FULL else None,
        relation=row.relation,
        sectors=sorted(s.value for s in facts.sectors),
        organisations=sorted(facts.organisations),
        verification=row.verification,
        form=row.form,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
        recorded_at=row.recorded_at,
        recorded_by_org=row.recorded_by_org,
        recorded_by_you=row.recorded_by_org == org_gln,
        active=active,
        recorder=row.recorded_by_org if named else None,
        recorded_by=row.recorded_by if named else None,
        opens=opened,
    )


async def _consents_of(
    *, engine: AsyncEngine, org_gln: str, cpr: Cpr, policy: ConsentPolicy
) -> ConsentList:
    """The consents of the child that the caller's consent list shows
    (:func:`coordinator.index.consent.listing`), newest first (the caller must have an active
    case), with their disputes where the caller may see them: its own, those of consents it
    recorded, and those by an organisation whose entries the consent rule (under ``policy``)
    shows the caller (a dispute tells that its author is involved with the child). Private:
    read through :func:`coordinator.index.disclosure.disclose_consents`."""
    now = utcnow()
    async with guarded(engine, "the index", write=False) as conn:
        await _require_active_case(conn, org_gln, cpr.digits)
        caller = Party(await _sector_of(conn, org_gln), org_gln)
        rows = (
            await conn.execute(
                select(CONSENT).where(K.cpr == cpr.digits).order_by(K.recorded_at.desc(), K.id)
            )
        ).all()
        facts = await consent_facts(conn, cpr.digits)
        disputes = (
            (await conn.execute(_DISPUTES_SHOWN.where(KD.cpr == cpr.digits))).all() if rows else []
        )
    facts_by_id = {f.id: f for f in facts}
    age = age_on(cpr.birth_date, now.date())
    found = ConsentList([])
    for row in rows:
        fact = facts_by_id[row.id]
        active = is_active(fact, now)
        how = listing(
            caller_gln=org_gln,
            caller=caller.sector,
            recorded_by=row.recorded_by_org,
            sectors=fact.sectors,
            organisations=fact.organisations,
            active=active,
        )
        if how is not Listed.LEFT_OUT:
            opened = opens(fact, age=age, now=now, policy=policy)
            found.consents.append(_listed(row, fact, how, org_gln, active, opened))
    recorders = {c.id: c.recorded_by_org for c in found.consents}

    def visible(dispute: Any) -> bool:
        if dispute.consent_id not in recorders:
            return False  # a dispute of a consent the list leaves out
        if org_gln in (dispute.org_gln, recorders[dispute.consent_id]):
            return True
        owner = Party(Sector(dispute.org_sector), dispute.org_gln)
        verdict = judge(caller=caller, owner=owner, age=age, consents=facts, now=now, policy=policy)
        return not isinstance(verdict, Missing)

    for dispute in disputes:
        if visible(dispute):
            found.disputes.setdefault(dispute.consent_id, []).append(dispute)
    return found
