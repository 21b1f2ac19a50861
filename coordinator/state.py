"""The typed application state (``web.AppKey``) shared by the routes, and the directory of
registered organisations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.backend import Backend
from coordinator.database.committer import Committer
from coordinator.database.reader import Reader
from coordinator.index.consent import ConsentPolicy
from coordinator.index.consent_keys import ConsentKeys
from coordinator.mailbox.conversion import Partner, partners
from coordinator.mailbox.notifier import Notifier
from coordinator.settings import Settings
from messages.medcom.registry import SchemaRegistry


class Directory:
    """The registered organisations letters are routed to: each one's format, SOR code and
    name (:class:`~coordinator.mailbox.conversion.Partner`), read through the reader and kept
    :attr:`fresh` seconds, so the submit path does not ask the database for every letter;
    an operator's change of a format reaches this process at once (:meth:`forget`) and the
    others within :attr:`fresh` seconds. An unknown GLN is asked again every time."""

    def __init__(
        self,
        reader: Reader,
        *,
        fresh: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self.fresh = fresh
        self._clock = clock
        self._known: dict[str, tuple[float, Partner]] = {}

    async def partners(self, glns: list[str]) -> dict[str, Partner]:
        """The registered organisations among ``glns``."""
        now = self._clock()
        found: dict[str, Partner] = {}
        missing: list[str] = []
        for gln in glns:
            kept = self._known.get(gln)
            if kept is not None and now - kept[0] < self.fresh:
                found[gln] = kept[1]
            else:
                missing.append(gln)
        if missing:
            for gln, partner in (await partners(reader=self._reader, glns=missing)).items():
                self._known[gln] = (now, partner)
                found[gln] = partner
        return found

    def forget(self, gln: str) -> None:
        """Read ``gln`` afresh next time (its format changed)."""
        self._known.pop(gln, None)


SETTINGS = web.AppKey("settings", Settings)
BACKEND: web.AppKey[Backend] = web.AppKey("backend")
"""The database seam, built once at start-up
(:func:`coordinator.database.backend.create_backend`)."""
ENGINE = web.AppKey("engine", AsyncEngine)
READER = web.AppKey("reader", Reader)
NOTIFIER = web.AppKey("notifier", Notifier)
COMMITTER = web.AppKey("committer", Committer)
REGISTRY = web.AppKey("registry", SchemaRegistry)
DIRECTORY = web.AppKey("directory", Directory)
LAST_POLL = web.AppKey("last_poll", dict[str, float])
STOPPING = web.AppKey("stopping", asyncio.Event)
Clock = Callable[[], datetime]
"""Now, tz-aware UTC."""
CONSENT_POLICY = web.AppKey("consent_policy", ConsentPolicy)
"""Which consents open which sector's data (from ``settings.attested_consent_opens``)."""
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
"""The time a letter is received at, the expiry sweep and the letter retention judge their
deadlines by and a credential's expiry is judged by, an index entry is created or updated and
a consent recorded at, and the day the operators' rates call today (``utcnow``; tests turn it
forward or set it)."""
CONSENT_KEYS: web.AppKey[ConsentKeys | None] = web.AppKey("consent_keys")
"""The consent service's public keys (:mod:`coordinator.index.consent_keys`); None when the
hub is not configured with them (``SAMSPIL_CONSENT_JWKS``)."""
