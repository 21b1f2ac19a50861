"""The typed application state (``web.AppKey``) shared by the routes, and the directory of
registered organisations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.backend import Backend
from coordinator.database.committer import Committer
from coordinator.database.reader import Reader
from coordinator.index.consent import ConsentPolicy
from coordinator.index.consent_keys import ConsentKeys
from coordinator.mailbox.notifier import Notifier
from coordinator.mailbox.store import registered_glns
from coordinator.settings import Settings
from messages.medcom.registry import SchemaRegistry


class Directory:
    """Is a GLN a registered organisation? Organisations are never removed, so a positive
    answer is cached for the life of the process; a negative one is asked again."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._known: set[str] = set()

    async def known(self, gln: str) -> bool:
        if gln in self._known:
            return True
        if await registered_glns(engine=self._engine, glns=[gln]):
            self._known.add(gln)
            return True
        return False


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
