"""The index's change log: which writes partners are told of (``coordinator.index.changes``),
and that an event shows no more than the overview shows of another organisation's entry."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from coordinator.index.changes import appointment_change, case_change, coordinator_change

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
ENTRY = uuid.uuid4()


def _case(status: str) -> dict[str, Any]:
    return {
        "kind": "psychiatric-assessment",
        "status": status,
        "opened_on": date(2026, 1, 5),
        "closed_on": date(2026, 2, 1) if status == "closed" else None,
        "title": "Angst",
        "contact_name": "Søren Bach",
        "contact_role": "overlæge",
        "contact_phone": None,
        "contact_email": None,
    }


def _kind(row: dict[str, Any] | None) -> str | None:
    return None if row is None else str(row["kind"])


def test_a_case_tells_partners_when_it_opens_or_closes() -> None:
    def change(was: str | None, status: str) -> dict[str, Any] | None:
        return case_change(
            org_gln="5790000040018",
            cpr="1203164321",
            entry_id=ENTRY,
            was=was,
            values=_case(status),
            at=NOW,
        )

    assert _kind(change(None, "active")) == "case-opened"
    assert _kind(change("closed", "active")) == "case-opened"  # reopened
    assert _kind(change("active", "closed")) == "case-closed"
    assert change("active", "active") is None  # an update: nothing to tell
    assert change(None, "closed") is None  # never active: never shown
    opened = change(None, "active")
    assert opened is not None
    shown = json.loads(opened["shown"])
    assert shown["contact"]["name"] == "Søren Bach"
    closed = change("active", "closed")
    assert closed is not None
    assert json.loads(closed["shown"]) == {
        "kind": "psychiatric-assessment",
        "status": "closed",
        "opened_on": "2026-01-05",
    }
    for row in (opened, closed):  # never the title, a reference or the closing date
        assert "Angst" not in row["shown"]
        assert "ref" not in json.loads(row["shown"])


def test_an_appointment_tells_partners_when_booked_moved_or_cancelled() -> None:
    start = NOW + timedelta(days=3)

    def change(was: tuple[str, datetime, datetime] | None, status: str, at: datetime) -> Any:
        values = {
            "starts_at": at,
            "ends_at": at + timedelta(hours=1),
            "status": status,
            "location": "Ambulatoriet",
            "with_name": "Søren Bach",
            "with_role": "overlæge",
        }
        return _kind(
            appointment_change(
                org_gln="5790000040018",
                cpr="1203164321",
                entry_id=ENTRY,
                was=was,
                values=values,
                at=NOW,
            )
        )

    booked = ("booked", start, start + timedelta(hours=1))
    assert change(None, "booked", start) == "appointment-booked"
    assert change(booked, "booked", start) is None
    assert change(booked, "booked", start + timedelta(days=1)) == "appointment-moved"
    assert change(booked, "cancelled", start) == "appointment-cancelled"
    cancelled = ("cancelled", start, start + timedelta(hours=1))
    assert change(cancelled, "booked", start) == "appointment-booked"
    assert change(cancelled, "cancelled", start) is None
    assert change(None, "cancelled", start) is None
    assert change(booked, "completed", start) is None


def test_a_coordinator_named_belongs_to_its_organisation() -> None:
    row = coordinator_change(
        cpr="1203164321",
        values={
            "org_gln": "5790000040018",
            "contact_name": "Søren Bach",
            "contact_role": "overlæge",
            "contact_phone": None,
            "contact_email": None,
            "named_by_org": "5790009876540",
        },
        at=NOW,
    )
    assert (row["kind"], row["owner_org"]) == ("coordinator-named", "5790000040018")
    assert "5790009876540" not in row["shown"]  # who named it is not shown
