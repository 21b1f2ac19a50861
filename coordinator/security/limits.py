"""Limits that keep one client from exhausting the hub, each a clear problem+json:

* **body size** — a ``Content-Length`` over ``Settings.max_body_bytes`` is refused before the
  body is read (413 ``payload-too-large``); a chunked body is cut off at the same size by
  aiohttp's ``client_max_size`` (also 413);
* **requests per second per credential** — a token bucket per credential
  (``rate_limit_per_second`` sustained, ``rate_limit_burst`` at once): 429 ``rate-limited``
  with ``Retry-After``;
* **concurrent long-polls per organisation** — at most ``max_long_polls`` waiting
  ``GET /v1/inbox?wait=...`` per organisation: 429 ``too-many-long-polls``.

The middleware runs after authentication (it needs the principal); all state is in-process.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable

from aiohttp import web

from coordinator.errors import PayloadTooLarge, TooManyRequests
from coordinator.params import decimal
from coordinator.problems import Handler
from coordinator.security.auth import PRINCIPAL
from coordinator.settings import Settings
from coordinator.state import SETTINGS

MAX_BUCKETS = 100_000


class RateLimiter:
    """A token bucket per credential. ``clock`` (seconds, monotonic) is what tests turn
    forward instead of waiting for the bucket to refill."""

    def __init__(
        self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self._rate = per_second
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # credential -> (tokens, at)

    def take(self, credential: str) -> None:
        if self._rate <= 0:
            return
        now = self.clock()
        tokens, at = self._buckets.get(credential, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if tokens < 1.0:
            self._buckets[credential] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self._rate)
            raise TooManyRequests(
                f"more than {self._rate:g} requests per second with this credential; slow down",
                code="rate-limited",
                retry_after=wait,
            )
        if len(self._buckets) >= MAX_BUCKETS and credential not in self._buckets:
            self._buckets.clear()
        self._buckets[credential] = (tokens - 1.0, now)


class LongPolls:
    """Waiting long-polls per organisation."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting: defaultdict[str, int] = defaultdict(int)

    def enter(self, gln: str) -> None:
        if self.waiting[gln] >= self.limit:
            raise TooManyRequests(
                f"your organisation already has {self.limit} waiting long-polls; "
                "poll with fewer consumers",
                code="too-many-long-polls",
                retry_after=1,
            )
        self.waiting[gln] += 1

    def leave(self, gln: str) -> None:
        self.waiting[gln] -= 1
        if self.waiting[gln] <= 0:
            del self.waiting[gln]


RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
LONG_POLLS = web.AppKey("long_polls", LongPolls)


def install(app: web.Application, settings: Settings) -> None:
    """The limiters' state for ``app``."""
    app[RATE_LIMITER] = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app[LONG_POLLS] = LongPolls(settings.max_long_polls)


def _long_poll(request: web.Request) -> bool:
    if request.method != "GET" or request.path != "/v1/inbox":
        return False
    raw = request.query.get("wait")
    wait = decimal(raw) if raw is not None else None
    return wait is not None and wait > 0  # not a number: the handler answers 400


@web.middleware
async def limits_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    principal = request.get(PRINCIPAL)
    if principal is None:  # a public path
        return await handler(request)
    app = request.app
    limit = app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is larger than the hub's limit of {limit} bytes")
    app[RATE_LIMITER].take(principal.credential_id)
    if not _long_poll(request):
        return await handler(request)
    polls = app[LONG_POLLS]
    polls.enter(principal.org_gln)
    try:
        return await handler(request)
    finally:
        polls.leave(principal.org_gln)
