"""A stolen system token at work: what the operators' stolen-token signal is for.

Late in a run, someone who has copied one organisation's system token (from a GP clinic's
server, say) uses it from their own process — not through the clinic's adapter — to
register many children the clinic has nothing to do with, in a burst (``PUT /v1/cases``
for each), and to attest a consent for each (``POST .../consents``), which would open the
other sectors' entries about them. The hub takes every request: the token is valid. What
gives it away is the rate: the hub counts new children and attested consents per
organisation per day, and flags a day far above the organisation's usual in the
operators' summary and the monitor.

The children are synthetic like the pathways' (:func:`adapters.simulation.region.children`)
and never among them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from adapters.simulation.region import Child, Org
from messages.hl7.model import COPENHAGEN
from messages.identifiers import parse_cpr
from wire.client import HubClient, Json
from wire.errors import HubError

__all__ = ["Intrusion", "burst_size", "register_with_stolen_token"]

log = logging.getLogger(__name__)

CONCURRENCY = 8
"""Requests the intruder keeps in flight: a burst, not a trickle."""


def burst_size(children: int) -> int:
    """How many children the stolen token registers in a run of ``children`` pathways:
    more than any organisation registers in the whole run (each registers a child at most
    once, so at most ``children``), whatever the run's size."""
    return 2 * children + 10


@dataclass(frozen=True, slots=True)
class Intrusion:
    """What the stolen token did: the organisation whose token it was, and how many
    children and attested consents the hub took from it (``failed``: requests refused or
    unanswered)."""

    org: Org
    children: int
    consents: int
    failed: int


async def register_with_stolen_token(
    url: str,
    token: str,
    org: Org,
    kids: Sequence[Child],
    *,
    today: date,
    seed: int,
    ca_file: Path | None = None,
) -> Intrusion:
    """Register each of ``kids`` with ``org``'s ``token`` and attest a consent for it, all
    at once (:data:`CONCURRENCY` in flight)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    outcome = {"children": 0, "consents": 0, "failed": 0}

    async def one(client: HubClient, n: int, child: Child) -> None:
        async with gate:
            try:
                await client.put_case(f"GP-{seed}-X{n:05d}", _case(child, today))
                outcome["children"] += 1
                await client.add_consent(child.cpr, _consent(child, today))
                outcome["consents"] += 1
            except HubError as exc:
                outcome["failed"] += 1
                log.warning("stolen token: a request failed: %s (%s)", exc.code, exc.status)

    async with HubClient(url, token, connections=CONCURRENCY, ca_file=ca_file) as client:
        await asyncio.gather(*(one(client, n, kid) for n, kid in enumerate(kids)))
    log.info(
        "stolen token of %s: %d children registered, %d consents attested, %d failed",
        org.gln,
        outcome["children"],
        outcome["consents"],
        outcome["failed"],
    )
    return Intrusion(org, outcome["children"], outcome["consents"], outcome["failed"])


def _case(child: Child, today: date) -> Json:
    return {
        "child_cpr": child.cpr,
        "kind": "gp-follow-up",
        "status": "active",
        "opened_on": today.isoformat(),
        "contact": {"name": "Lægesekretær", "role": "sekretær"},
    }


def _consent(child: Child, today: date) -> Json:
    own = parse_cpr(child.cpr).age_on(today) >= 15
    return {
        "given_by_name": child.given if own else f"Forælder {child.family}",
        "relation": "self" if own else "custodial-parent",
        "form": "oral",
        "sectors": ["ppr", "family", "psychiatry", "gp"],
        # the hub judges consent on its own (real) clock
        "valid_from": (datetime.now(COPENHAGEN) - timedelta(minutes=1)).isoformat(),
    }
