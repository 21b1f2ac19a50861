"""Entries for the shared index's functional tests: fictitious children by age, cases,
appointments and consents as the API takes them, and a JSON call helper.

The CPR numbers are synthetic: real dates (so the age rule can be tested), serial numbers
starting 9 in the 2000s (7th digit 4 or 9), never real people's.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, update

from coordinator.index.tables import ACCESS_LOG, CONSENT, ConsentVerification
from coordinator.state import ENGINE
from tests.functional.conftest import Client, Hub

_serial = itertools.count(100)
PERSON = "Dorte Hansen"


async def logged_views(app: web.Application, viewer: str, cpr: str) -> int:
    """How many of organisation ``viewer``'s reads of the child ``cpr`` the access log holds."""
    async with app[ENGINE].connect() as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(ACCESS_LOG)
            .where(ACCESS_LOG.c.viewer_org == viewer, ACCESS_LOG.c.cpr == cpr)
        )
    return int(count or 0)


def cpr_born(born: date) -> str:
    """A synthetic CPR number for someone born on ``born`` (1937-2036)."""
    seventh = 4 if born.year >= 2000 else 1 if born.year >= 1937 else 0
    return f"{born:%d%m%y}{seventh}{next(_serial) % 1000:03d}"


def cpr_aged(years: int, days: int = 40) -> str:
    """A child who turned ``years`` ``days`` days ago."""
    today = datetime.now(UTC).date()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:
        birthday = date(today.year - years, 3, 1)
    return cpr_born(birthday - timedelta(days=days))


def at(hours: float) -> str:
    """An ISO 8601 UTC time ``hours`` from now."""
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def case(
    cpr: str, *, kind: str = "ppr-assessment", status: str = "active", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "child_cpr": cpr,
        "kind": kind,
        "status": status,
        "opened_on": "2026-01-05",
        "contact": {
            "name": extra.pop("contact_name", "Kim Jensen"),
            "role": "psykolog",
            "phone": "+45 99 31 31 31",
            "email": "kim@example.invalid",
        },
    }
    if status == "closed":
        body["closed_on"] = "2026-02-01"
    body.update(extra)
    return body


def appointment(
    cpr: str, *, hours: float = 24, status: str = "booked", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "child_cpr": cpr,
        "starts_at": at(hours),
        "ends_at": at(hours + 1),
        "status": status,
        "location": "Vesterbro 12, Aalborg",
        "with": {"name": "Kim Jensen", "role": "psykolog"},
    }
    body.update(extra)
    return body


def consent(
    sectors: list[str], *, relation: str = "custodial-parent", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "given_by_name": "Mette Nielsen",
        "relation": relation,
        "form": "digital",
        "sectors": sectors,
    }
    body.update(extra)
    return body


async def verified(hub: Hub, client: Client, cpr: str, body: dict[str, Any]) -> str:
    """Record a consent and mark it ``verified``, as if the consent service had signed it
    (the signed path records such consents itself); its id."""
    consent_id: str = (await ok(client, "POST", f"/v1/children/{cpr}/consents", body))["id"]
    async with hub.app[ENGINE].begin() as conn:
        await conn.execute(
            update(CONSENT)
            .where(CONSENT.c.id == uuid.UUID(consent_id))
            .values(verification=ConsentVerification.VERIFIED.value)
        )
    return consent_id


async def call(
    client: Client,
    method: str,
    path: str,
    payload: Any = None,
    *,
    person: str | None = PERSON,
    reason: str | None = None,
) -> tuple[int, Any]:
    """A JSON call; a system token names ``person`` in ``X-On-Behalf-Of``; an operator states
    ``reason`` in ``X-Access-Reason``."""
    headers: dict[str, str] = {}
    if person is not None:
        headers["X-On-Behalf-Of"] = person
    if reason is not None:
        headers["X-Access-Reason"] = reason
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    status, parsed, _ = await client.request(method, path, body=body, headers=headers)
    return status, parsed


async def ok(client: Client, method: str, path: str, payload: Any = None, **kw: Any) -> Any:
    status, parsed = await call(client, method, path, payload, **kw)
    assert status in (200, 201), (status, parsed)
    return parsed


async def overview(client: Client, cpr: str, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = await ok(client, "GET", f"/v1/children/{cpr}/overview", **kw)
    return result


def orgs_in(overview_body: dict[str, Any]) -> set[str]:
    """Every other organisation an overview shows."""
    others = overview_body["others"]
    found = {c["organisation"] for c in others["cases"]}
    found |= {a["organisation"] for a in others["appointments"]}
    return found
