"""Bearer-token authentication for ``/v1``.

A token is 256 random bits; the store holds only its SHA-256, and a token is found by looking
its hash up (an index lookup, so comparing is not a timing oracle on the secret). A verified
token is trusted for ``Settings.token_cache_seconds`` before it is looked up again, so
disabling a credential takes effect within that time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.errors import Forbidden, Unauthorized
from coordinator.problems import Handler
from coordinator.store import find_credential, token_hash
from coordinator.tables import Role

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v1/openapi.json"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an organisation's system, or a person of an organisation."""

    credential_id: str
    org_gln: str
    role: Role
    name: str

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"the role {self.role.value} may not do this")


class TokenVerifier:
    """Token → principal, with a short positive cache."""

    def __init__(self, engine: AsyncEngine, *, cache_seconds: float) -> None:
        self._engine = engine
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        hashed = token_hash(token)
        now = time.monotonic()
        cached = self._cache.get(hashed)
        if cached is not None and cached[1] > now:
            return cached[0]
        row = await find_credential(engine=self._engine, hashed=hashed)
        if row is None or row.disabled:
            self._cache.pop(hashed, None)
            raise Unauthorized("the bearer token is unknown or disabled")
        principal = Principal(str(row.id), row.org_gln, row.role, row.name)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[hashed] = (principal, now + self._ttl)
        return principal


VERIFIER = web.AppKey("verifier", TokenVerifier)
PRINCIPAL = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or not request.path.startswith("/v1/"):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    request[PRINCIPAL] = await request.app[VERIFIER].verify(token.strip())
    return await handler(request)
