"""The index's change log (``index_change``) and the partner-events feed read from it.

**What is recorded.** Every change of an entry that partners may be told of, in the
transaction of the change itself (so a change is in the log exactly when it is in the index):

==========================  ===============================================================
``case-opened``             a case becomes active (new, or reopened)
``case-closed``             an active case closes
``appointment-booked``      a new booked appointment, or a cancelled one booked again
``appointment-moved``       a booked appointment's start or end changes
``appointment-cancelled``   a booked appointment is cancelled
``coordinator-named``       the child's coordinator is named (or named again)
==========================  ===============================================================

Each row keeps, as JSON (``shown``), what the event shows of the entry at that moment: the
fields the overview shows of another organisation's entry, never its reference or title (a
closed case: its kind and when it opened, without the contact). ``seq`` numbers the rows in
commit order: SQLite has one writer at a time; on PostgreSQL each writing transaction first
takes a transaction-scoped lock (:meth:`~coordinator.database.backend.Backend.in_commit_order`)
so no number becomes visible before a smaller one. Numbers are never reused.

The feed that reads the log is :mod:`coordinator.index.events`.

SQLAlchemy's errors stop at the committer (these are parts of its writes).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from coordinator.database.statements import ForEngine
from coordinator.index.tables import CHANGE
from wire.entries import AppointmentStatus, CaseStatus
from wire.events import PartnerEventType

__all__ = [
    "appointment_change",
    "case_change",
    "coordinator_change",
    "lock_changes",
    "write_changes",
    "write_changes_async",
]

_ACTIVE = CaseStatus.ACTIVE.value
_BOOKED = AppointmentStatus.BOOKED.value
_CANCELLED = AppointmentStatus.CANCELLED.value


# --- writing (inside the entries' own transactions) ---------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _contact(name: str, role: str, phone: str | None, email: str | None) -> dict[str, Any]:
    return {"name": name, "role": role, "phone": phone, "email": email}


def _row(
    kind: PartnerEventType,
    *,
    cpr: str,
    owner: str,
    at: datetime,
    entry_id: uuid.UUID | None,
    shown: dict[str, Any],
) -> dict[str, Any]:
    return {
        "cpr": cpr,
        "at": at,
        "owner_org": owner,
        "kind": kind.value,
        "entry_id": entry_id,
        "shown": json.dumps(shown, ensure_ascii=False),
    }


def case_change(
    *,
    org_gln: str,
    cpr: str,
    entry_id: uuid.UUID,
    was: str | None,
    values: dict[str, Any],
    at: datetime,
) -> dict[str, Any] | None:
    """The change-log row of a case write (``was``: its status before, None if new), or None
    when partners are told nothing (an update that neither opens nor closes it)."""
    now = values["status"]
    if now == _ACTIVE and was != _ACTIVE:
        kind = PartnerEventType.CASE_OPENED
        contact: dict[str, Any] | None = _contact(
            values["contact_name"],
            values["contact_role"],
            values["contact_phone"],
            values["contact_email"],
        )
    elif was == _ACTIVE and now != _ACTIVE:
        kind, contact = PartnerEventType.CASE_CLOSED, None
    else:
        return None
    shown = {"kind": values["kind"], "status": now, "opened_on": _iso(values["opened_on"])}
    if contact is not None:
        shown["contact"] = contact
    return _row(kind, cpr=cpr, owner=org_gln, at=at, entry_id=entry_id, shown=shown)


def appointment_change(
    *,
    org_gln: str,
    cpr: str,
    entry_id: uuid.UUID,
    was: tuple[str, datetime, datetime] | None,
    values: dict[str, Any],
    at: datetime,
) -> dict[str, Any] | None:
    """The change-log row of an appointment write (``was``: its status, start and end before,
    None if new), or None when partners are told nothing."""
    status = values["status"]
    if status == _CANCELLED:
        kind = PartnerEventType.APPOINTMENT_CANCELLED if was and was[0] == _BOOKED else None
    elif status == _BOOKED:
        if was is None or was[0] != _BOOKED:
            kind = PartnerEventType.APPOINTMENT_BOOKED
        elif (was[1], was[2]) != (values["starts_at"], values["ends_at"]):
            kind = PartnerEventType.APPOINTMENT_MOVED
        else:
            kind = None
    else:  # completed, no-show: the overview shows it; a partner need not be told at once
        kind = None
    if kind is None:
        return None
    shown = {
        "starts_at": _iso(values["starts_at"]),
        "ends_at": _iso(values["ends_at"]),
        "status": status,
        "location": values["location"],
        "with": {"name": values["with_name"], "role": values["with_role"]},
    }
    return _row(kind, cpr=cpr, owner=org_gln, at=at, entry_id=entry_id, shown=shown)


def coordinator_change(*, cpr: str, values: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The change-log row of a coordinator named (the coordinator's organisation owns it)."""
    shown = {
        "contact": _contact(
            values["contact_name"],
            values["contact_role"],
            values["contact_phone"],
            values["contact_email"],
        )
    }
    return _row(
        PartnerEventType.COORDINATOR_NAMED,
        cpr=cpr,
        owner=values["org_gln"],
        at=at,
        entry_id=None,
        shown=shown,
    )


_IN_ORDER: ForEngine[Any] = ForEngine(lambda kind: kind.in_commit_order())
_INSERT = insert(CHANGE)


def lock_changes(conn: Connection) -> None:
    """Before numbering changes: wait for other writers of the log (PostgreSQL; nothing on
    SQLite). Run it before any row lock the transaction takes after it (the children's), so
    every writer takes the two in one order."""
    statement = _IN_ORDER.of(conn)
    if statement is not None:
        conn.execute(statement)


def write_changes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert change-log rows (after :func:`lock_changes`, in the same transaction)."""
    if rows:
        conn.execute(_INSERT, rows)


async def write_changes_async(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """:func:`lock_changes` and :func:`write_changes` for an asynchronous op."""
    if not rows:
        return
    statement = _IN_ORDER.of(conn)
    if statement is not None:
        await conn.execute(statement)
    await conn.execute(_INSERT, rows)
