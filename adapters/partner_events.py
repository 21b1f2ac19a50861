"""Partner events for the municipal case system: what changed at the other organisations
involved with the municipality's own children, read from the hub and handed over.

The hub's feed (``GET /v1/partner-events``) holds another organisation's changes about a
child the municipality has an active case for — a case opened or closed, an appointment
booked, moved or cancelled, a coordinator named — only where consent opens that
organisation's entries to the municipality, judged by the hub on every read, and logged by
the hub as a disclosure (one access-log entry per child and page, naming this adapter's
system) before it answers. The adapter adds nothing and leaves nothing out.

Handed over, per page, one JSON object per line, the hub's event as it is::

    {"id": "4711", "type": "appointment-moved", "at": "2026-12-06T09:30:00Z",
     "child_cpr": "0101154321", "organisation": "5790000040018",
     "organisation_name": "BUP Aalborg", "sector": "psychiatry", "entry": "9f0c...",
     "appointment": {"starts_at": "2026-12-09T10:00:00+01:00", ...}}

* ``[partner_events] folder``: a file ``partner-events-<first id>.jsonl`` per page, written
  atomically (a hidden temporary file, fsynced, renamed);
* ``[partner_events] url``: ``POST`` with ``Content-Type: application/x-ndjson`` (and
  ``Authorization: Bearer <token>`` when one is configured); any 2xx means the case system
  has the page. Anything else, or no answer: the same page again later.

**Exactly once, from the case system's side.** The cursor is stored in the adapter's
SQLite file only after the case system has the page; a crash or a stop in between hands the
same events over again on the next start, under the same ids (and, in the folder, the same
file name), so the case system recognises a duplicate by the event's ``id``. Nothing is lost:
the cursor never moves past an event that was not handed over. No event content, CPR number
or token is ever logged: only counts and codes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from adapters.config import PartnerEventsConfig
from adapters.filedrop import write_atomically
from adapters.localdb import LocalDb
from wire.client import HubClient, Json
from wire.errors import HubError

__all__ = ["CURSOR", "PartnerEventDelivery"]

log = logging.getLogger(__name__)

CURSOR = "partner-events:cursor"
"""The memo (:meth:`adapters.localdb.LocalDb.remember`) holding the hub's cursor."""
NDJSON = "application/x-ndjson"


class HandOverFailed(Exception):
    """The case system did not take a page (its webhook's status, or no answer)."""


class PartnerEventDelivery:
    """Follows the hub's partner-events feed and hands each page to the case system;
    :meth:`run` until cancelled."""

    def __init__(self, config: PartnerEventsConfig, *, hub: HubClient, db: LocalDb) -> None:
        self.config = config
        self.hub = hub
        self.db = db
        self.delivered = 0
        """Events handed to the case system (a page handed over again counts again)."""
        self.pages = 0
        self.failures = 0
        self._session: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        if self.config.folder is not None:
            await asyncio.to_thread(self.config.folder.mkdir, parents=True, exist_ok=True)
        try:
            while True:
                more = await self.step()
                if not more:
                    await asyncio.sleep(self.config.poll_interval)
        finally:
            if self._session is not None:
                await self._session.close()
                self._session = None

    async def step(self) -> bool:
        """Read one page after the stored cursor, hand it over, then store the new cursor;
        whether more wait at once. A failure is logged and leaves the cursor where it was."""
        cursor = await self.db.recall(CURSOR) or "0"
        try:
            page = await self.hub.partner_events(cursor, limit=self.config.page)
        except HubError as exc:
            self.failures += 1
            log.warning("partner events: the hub did not answer a page: %s", exc.code)
            return False
        events: list[Json] = list(page.get("events") or [])
        if events:
            try:
                await self._hand_over(events)
            except HandOverFailed as exc:
                self.failures += 1
                log.warning("partner events: the case system did not take a page: %s", exc)
                return False
            self.delivered += len(events)
            self.pages += 1
            log.info("partner events: handed over events=%d", len(events))
        after = str(page.get("cursor") or cursor)
        if after != cursor:
            await self.db.remember(CURSOR, after)
        return bool(page.get("more"))

    async def _hand_over(self, events: list[Json]) -> None:
        body = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events).encode()
        if self.config.folder is not None:
            name = f"partner-events-{int(events[0]['id']):012d}.jsonl"
            await asyncio.to_thread(write_atomically, self.config.folder, name, body)
            return
        assert self.config.url is not None
        headers = {"Content-Type": NDJSON}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        try:
            async with self._session.post(self.config.url, data=body, headers=headers) as answer:
                await answer.read()
                if not 200 <= answer.status < 300:
                    raise HandOverFailed(f"status={answer.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HandOverFailed(type(exc).__name__) from None

    def health(self) -> dict[str, Any]:
        return {
            "partner_events_delivered": self.delivered,
            "partner_events_failures": self.failures,
        }
