"""The consent service's public keys, as the hub holds them (``SAMSPIL_CONSENT_JWKS``).

One :class:`ConsentKeys` per hub process, made at start-up by :func:`consent_keys` (owned by
the app's ``cleanup_ctx``, under ``coordinator.state.CONSENT_KEYS``). It fetches the JWKS
from a file or an http(s) URL, keeps it, and fetches it again

* before a verification, when the keys it holds are older than
  ``SAMSPIL_CONSENT_JWKS_REFRESH``, so a rotation at the service is followed without a
  restart (and a key the service withdrew stops counting);
* when a document names a key it does not hold (the service may have rotated since), but
  never sooner than ``SAMSPIL_CONSENT_JWKS_COOLDOWN`` after the last fetch: documents with
  made-up key ids cannot make the hub hammer the service.

A fetch that fails keeps the keys held (logged, retried after the cooldown). With no keys at
all — the service unreachable since start-up — a signed consent is answered 503
``consent-keys-unavailable`` (with Retry-After) and can be sent again. Time is the hub's
``CLOCK``, so tests turn it forward instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from joserfc.jwk import KeySet

from coordinator.errors import ConsentKeysUnavailable
from coordinator.index.verified_consent import (
    MAX_JWKS_BYTES,
    JwksError,
    Refusal,
    Refused,
    parse_jwks,
    verify_document,
)
from coordinator.settings import Settings
from wire.consent_document import ConsentDocument

__all__ = ["ConsentKeys", "Fetch", "consent_keys", "file_fetch", "http_fetch"]

log = logging.getLogger(__name__)

Fetch = Callable[[], Awaitable[bytes]]
"""Reads the JWKS's bytes once; raises :class:`JwksError` when it cannot."""
Clock = Callable[[], datetime]
FETCH_SECONDS = 5.0
"""How long one fetch of the JWKS may take."""


def file_fetch(path: Path) -> Fetch:
    """The JWKS in a file (read off the event loop)."""

    def read() -> bytes:
        with path.open("rb") as handle:
            return handle.read(MAX_JWKS_BYTES + 1)

    async def fetch() -> bytes:
        try:
            return await asyncio.to_thread(read)
        except OSError as exc:
            raise JwksError(f"the file cannot be read ({type(exc).__name__})") from exc

    return fetch


def http_fetch(session: aiohttp.ClientSession, url: str) -> Fetch:
    """The JWKS at an http(s) URL, fetched with ``session``."""

    async def fetch() -> bytes:
        try:
            async with session.get(url, allow_redirects=False) as response:
                if response.status != 200:
                    raise JwksError(f"the service answered {response.status}")
                return await response.content.read(MAX_JWKS_BYTES + 1)
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            raise JwksError(f"no answer ({type(exc).__name__})") from exc

    return fetch


class ConsentKeys:
    """The consent service's public keys, fetched with ``fetch`` from ``where`` (named in log
    lines), judged by ``clock``."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        where: str,
        clock: Clock,
        refresh_every: timedelta,
        cooldown: timedelta,
    ) -> None:
        self._fetch = fetch
        self._where = where
        self._clock = clock
        self._refresh_every = refresh_every
        self._cooldown = cooldown
        self._keys: KeySet | None = None
        self._loaded_at: datetime | None = None
        self._tried_at: datetime | None = None
        self._last_failed = False  # the last fetch brought no keys
        self._version = 0  # one more on each fetch that brought keys
        self._lock = asyncio.Lock()
        self.fetches = 0
        """Fetches tried since start-up (for the metrics and the tests)."""

    @property
    def key_ids(self) -> list[str]:
        """The kids of the keys held now."""
        return [str(key.kid) for key in self._keys or ()]

    async def load(self) -> None:
        """The first fetch, at start-up; a failure is logged and the hub starts anyway."""
        async with self._lock:
            await self._fetch_now(self._clock())

    async def verify(self, document: str, *, child: str) -> ConsentDocument:
        """The claims of a signed consent document about ``child`` (10 digits), verified at
        the clock's now; raises the refusal's 422 (:mod:`coordinator.index.verified_consent`)
        or 503 ``consent-keys-unavailable`` when no keys could be fetched at all."""
        now = self._clock()
        keys, version = await self._current(now)
        result = verify_document(document, keys=keys, now=now, child=child)
        if isinstance(result, Refused) and result.refusal is Refusal.UNKNOWN_KEY:
            fresher = await self._after_unknown_key(now, version)
            if fresher is not None:
                result = verify_document(document, keys=fresher, now=now, child=child)
        if isinstance(result, Refused):
            raise result.error()
        return result

    async def _current(self, now: datetime) -> tuple[KeySet, int]:
        """The keys to verify with, fetched again first when they are too old."""
        if not self._fresh(now):
            async with self._lock:
                if not self._fresh(now) and self._may_try(now):
                    await self._fetch_now(now)
        if self._keys is None:
            raise ConsentKeysUnavailable(
                "the consent service's keys could not be fetched, so a signed consent cannot "
                "be checked now; send it again later (or record an attested consent)",
                retry_after=max(1, int(self._cooldown.total_seconds())),
            )
        return self._keys, self._version

    async def _after_unknown_key(self, now: datetime, version: int) -> KeySet | None:
        """Keys fetched since ``version`` to try an unknown kid again with: fetched now
        unless the last fetch was less than the cooldown ago (None then: the kid was not
        among them). 503 when the keys could not be fetched, now or at the last try: the
        kid may be a new key of the service's that the hub cannot see."""
        async with self._lock:
            if self._version == version and self._may_try(now):
                await self._fetch_now(now)
            if self._version != version:  # fetched now, or by another request meanwhile
                return self._keys
            if self._last_failed:
                raise ConsentKeysUnavailable(
                    "the document names a key the hub does not hold, and the consent service's "
                    "keys could not be fetched to look for it; send it again later",
                    retry_after=max(1, int(self._cooldown.total_seconds())),
                )
            return None  # fetched less than the cooldown ago: the kid was not there

    def _fresh(self, now: datetime) -> bool:
        return self._loaded_at is not None and now - self._loaded_at < self._refresh_every

    def _may_try(self, now: datetime) -> bool:
        return self._tried_at is None or now - self._tried_at >= self._cooldown

    async def _fetch_now(self, now: datetime) -> None:
        """Fetch and keep the keys (under the lock); a failure keeps those held."""
        self._tried_at = now
        self.fetches += 1
        self._last_failed = True
        try:
            keys = parse_jwks(await self._fetch())
        except JwksError as exc:
            log.warning(
                "the consent service's keys were not fetched from %s: %s%s",
                self._where,
                exc,
                "; the keys fetched before are kept" if self._keys is not None else "",
            )
            return
        known = set(self.key_ids)
        self._keys, self._loaded_at, self._last_failed = keys, now, False
        self._version += 1
        if set(self.key_ids) != known:
            log.info("consent service keys from %s: %s", self._where, ", ".join(self.key_ids))


def _where(source: str) -> str:
    """A JWKS source fit for a log line (a URL without user information or query)."""
    if source.startswith(("http://", "https://")):
        parts = urlsplit(source)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
    return source


@contextlib.asynccontextmanager
async def consent_keys(settings: Settings, clock: Clock) -> AsyncIterator[ConsentKeys | None]:
    """The hub's consent keys for its life (None when ``SAMSPIL_CONSENT_JWKS`` is not set),
    with their HTTP session for a URL; the first fetch done."""
    source = settings.consent_jwks
    if not source:
        yield None
        return

    def held(fetch: Fetch) -> ConsentKeys:
        return ConsentKeys(
            fetch,
            where=_where(source),
            clock=clock,
            refresh_every=settings.consent_jwks_refresh,
            cooldown=settings.consent_jwks_cooldown,
        )

    if source.startswith(("http://", "https://")):
        timeout = aiohttp.ClientTimeout(total=FETCH_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            keys = held(http_fetch(session, source))
            await keys.load()
            yield keys
        return
    keys = held(file_fetch(Path(source)))
    await keys.load()
    yield keys
