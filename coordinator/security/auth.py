"""Who is calling ``/v1``: a bearer token, or a client certificate (mutual TLS).

**Bearer tokens.** A token is 256 random bits; the store holds only its SHA-256. A token is
found by looking its hash up (an index lookup on the hash, not on the secret) and the stored
hash is then compared with :func:`hmac.compare_digest`, so no comparison is a timing oracle.
A token may carry an expiry (``credential.expires_at``) and is refused after it.

**Revocation is effective on the next request.** A verified token is cached for
``Settings.token_cache_seconds``, but every change that revokes a credential — in this
process, another hub process or ``samspil org token`` — empties the cache of every hub
process before their next request (:mod:`coordinator.security.revocation`: ``NOTIFY`` on PostgreSQL,
a marker file checked with one ``stat`` per request on SQLite); where that signal is not
available nothing is cached.

**Mutual TLS.** With ``Settings.tls_client_ca``, a client may present a certificate issued
by that CA instead of a token: its subject's ``serialNumber`` (or else its ``CN``) reads
``GLN:<13 digits>`` and the request runs as that organisation's system credential. **The
certificate follows the credential**: it authenticates only while that credential exists, is
enabled and has not expired, and only while its own serial number is not revoked
(:mod:`coordinator.security.certificates`). A certificate from another CA fails the TLS
handshake; the hub answers 401 ``certificate-revoked`` for a revoked serial,
``credential-expired`` once the organisation's system credential has expired, and
``unknown-certificate`` for an unknown GLN or a disabled credential. A verified certificate is
cached as a token is (by GLN and serial, never past the credential's expiry), and a
revocation or a disabled credential empties the cache of every hub process as a revoked
token does. Expiry is judged by the hub's clock (``coordinator.state.CLOCK``).

**Failed logins** are counted per source address: after
``Settings.login_failures_per_minute`` failures within a minute, a failed authentication from
the address gets 429 ``too-many-failures`` (with ``Retry-After``) instead of 401 until the
oldest failure is a minute old. A valid credential is never refused by this limit: one
careless client must not lock out the partners sharing its address. The source address is
the TCP peer's, or — when the peer is one of ``Settings.trusted_proxies`` — the client's,
read from ``X-Forwarded-For`` (:class:`TrustedProxies`).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from coordinator.database.reader import Reader
from coordinator.errors import Forbidden, TooManyRequests, Unauthorized
from coordinator.mailbox.store import token_hash
from coordinator.problems import Handler
from coordinator.security.tls import gln_from_peercert, serial_from_peercert
from coordinator.settings import IPNetwork
from coordinator.sqltypes import utcnow
from coordinator.tables import CREDENTIAL, REVOKED_CERTIFICATE, Role

PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/fhir/r4/metadata"}
)
AUTHENTICATED = ("/v1/", "/fhir/")  # the JSON API and its FHIR read door
FAILURE_WINDOW = 60.0
MAX_CACHED = 10_000


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


_C = CREDENTIAL.c
_COLUMNS = (_C.id, _C.org_gln, _C.name, _C.role, _C.disabled, _C.expires_at, _C.token_hash)
_BY_HASH = select(*_COLUMNS).where(_C.token_hash == bindparam("hashed"))
_SYSTEM_OF = (
    select(*_COLUMNS)
    .where(
        _C.org_gln == bindparam("gln"),
        _C.role == Role.SYSTEM.value,
        _C.disabled.is_(False),
    )
    .order_by(_C.created_at.desc())
    .limit(1)
)
_R = REVOKED_CERTIFICATE.c
_REVOKED = select(_R.revoked_at).where(_R.serial == bindparam("serial"))


def _by_hash(conn: Connection, hashed: str) -> Any:
    return conn.execute(_BY_HASH, {"hashed": hashed}).first()


def _certificate(conn: Connection, gln: str, serial: str) -> tuple[Any, Any]:
    """The system credential a certificate naming ``gln`` runs as (newest enabled one, or
    None), and the revocation of its ``serial`` (or None)."""
    revoked = conn.execute(_REVOKED, {"serial": serial}).first()
    return conn.execute(_SYSTEM_OF, {"gln": gln}).first(), revoked


def _principal(row: Any) -> Principal:
    return Principal(str(row.id), row.org_gln, Role(row.role), row.name)


class TokenVerifier:
    """Token (or certificate GLN) → principal. Caches only where told it may
    (:attr:`cache_allowed`, set by the revocation listener on PostgreSQL)."""

    def __init__(
        self,
        reader: Reader,
        *,
        cache_seconds: float,
        revoked: Callable[[], bool] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        """``revoked()``, asked on every request, says a credential was revoked since it
        was last asked (SQLite's marker); with it the cache is allowed from the start.
        ``now`` (aware UTC; the app's ``CLOCK``) is what a credential's expiry is compared
        with; tests turn it forward instead of waiting."""
        self._reader = reader
        self.now: Callable[[], datetime] = now
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[Principal, float, datetime | None]] = {}
        self._revoked = revoked
        self._generation = 0  # a lookup that began before a revocation is not cached
        self.cache_allowed = revoked is not None

    def forget(self) -> None:
        """Empty the cache: a credential was revoked somewhere."""
        self._generation += 1
        self._cache.clear()

    def _cached(self, key: str) -> Principal | None:
        if not self.cache_allowed:
            return None
        if self._revoked is not None and self._revoked():
            self.forget()
            return None
        hit = self._cache.get(key)
        if hit is None or hit[1] <= time.monotonic():
            return None
        if hit[2] is not None and hit[2] <= self.now():
            return None
        return hit[0]

    def _remember(
        self, key: str, principal: Principal, expires_at: datetime | None, generation: int
    ) -> None:
        if not self.cache_allowed or self._ttl <= 0 or generation != self._generation:
            return
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (principal, time.monotonic() + self._ttl, expires_at)

    async def verify(self, token: str) -> Principal:
        hashed = token_hash(token)
        cached = self._cached(hashed)
        if cached is not None:
            return cached
        generation = self._generation
        row = await self._reader(_by_hash, hashed)
        if row is None or not hmac.compare_digest(row.token_hash, hashed) or row.disabled:
            raise Unauthorized("the bearer token is unknown or disabled")
        if row.expires_at is not None and row.expires_at <= self.now():
            raise Unauthorized("the bearer token has expired", code="token-expired")
        principal = _principal(row)
        self._remember(hashed, principal, row.expires_at, generation)
        return principal

    async def verify_certificate(self, gln: str, serial: str) -> Principal:
        """The system credential of the organisation a client certificate names, while that
        credential is enabled and unexpired and the certificate's ``serial`` is not revoked."""
        key = f"cert:{gln}:{serial}"
        cached = self._cached(key)
        if cached is not None:
            return cached
        generation = self._generation
        row, revoked = await self._reader(_certificate, gln, serial)
        if revoked is not None:
            raise Unauthorized(
                f"the client certificate with serial {serial} was revoked at the hub; ask "
                "for a new certificate",
                code="certificate-revoked",
            )
        if row is None:
            raise Unauthorized(
                f"the client certificate names GLN {gln}, which has no active system "
                "credential at the hub",
                code="unknown-certificate",
            )
        if row.expires_at is not None and row.expires_at <= self.now():
            raise Unauthorized(
                f"the system credential of GLN {gln}, which the client certificate "
                "authenticates as, has expired; the hub's administrator issues a new one "
                "with 'samspil org token'",
                code="credential-expired",
            )
        principal = _principal(row)
        self._remember(key, principal, row.expires_at, generation)
        return principal


class TrustedProxies:
    """Which peers may say, in ``X-Forwarded-For``, whose request they forward."""

    def __init__(self, networks: Iterable[IPNetwork] = ()) -> None:
        self._networks = tuple(networks)

    def trusts(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self._networks)

    def client(self, peer: str, forwarded: Iterable[str]) -> str:
        """The client's address: ``peer`` itself unless it is a trusted proxy; then the
        right-most ``X-Forwarded-For`` entry that is not a trusted proxy (entries left of it
        were written by the client and prove nothing). An entry that is not an address
        ends the walk at the last trusted hop."""
        if not self._networks or not self.trusts(peer):
            return peer
        hops = [hop.strip() for value in forwarded for hop in value.split(",")]
        client = peer
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:
                break
            client = str(ip)
            if not any(ip in network for network in self._networks):
                break
        return client


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy writes it: ``192.0.2.1``, ``192.0.2.1:443``, ``[2001:db8::1]``."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class FailureLimiter:
    """Failed authentications per source address within the last minute; ``clock`` (seconds,
    monotonic) is what tests turn forward."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._failures: dict[str, deque[float]] = {}
        self.clock = clock

    def _recent(self, source: str, now: float) -> deque[float] | None:
        failures = self._failures.get(source)
        if failures is None:
            return None
        while failures and failures[0] <= now - FAILURE_WINDOW:
            failures.popleft()
        if not failures:
            del self._failures[source]
            return None
        return failures

    def check(self, source: str) -> None:
        """429 when ``source`` has failed too often in the last minute."""
        now = self.clock()
        failures = self._recent(source, now)
        if failures is not None and len(failures) >= self._limit:
            wait = int(failures[0] + FAILURE_WINDOW - now) + 1
            raise TooManyRequests(
                f"too many failed logins from your address; try again in {wait} s",
                code="too-many-failures",
                retry_after=wait,
            )

    def record(self, source: str) -> None:
        now = self.clock()
        if len(self._failures) >= 100_000:  # a flood of sources: forget the quiet ones
            for address in list(self._failures):
                self._recent(address, now)
        failures = self._recent(source, now) or self._failures.setdefault(source, deque())
        failures.append(now)
        if len(failures) > self._limit:
            failures.popleft()


VERIFIER = web.AppKey("verifier", TokenVerifier)
FAILURES = web.AppKey("login_failures", FailureLimiter)
PROXIES = web.AppKey("trusted_proxies", TrustedProxies)
MUTUAL_TLS = web.AppKey("mutual_tls", bool)
PRINCIPAL = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def _peer_certificate(request: web.Request) -> tuple[str, str] | None:
    """The GLN and serial number of the client certificate, if one was presented."""
    if not request.app[MUTUAL_TLS] or request.transport is None:
        return None
    cert = request.transport.get_extra_info("peercert")
    if not cert:
        return None
    gln = gln_from_peercert(cert)
    if gln is None:
        raise Unauthorized(
            "the client certificate's subject has no serialNumber or CN 'GLN:<13 digits>'",
            code="unknown-certificate",
        )
    serial = serial_from_peercert(cert)
    if serial is None:
        raise Unauthorized(
            "the client certificate's serial number is not a positive number",
            code="unknown-certificate",
        )
    return gln, serial


async def _authenticate(request: web.Request) -> Principal:
    verifier = request.app[VERIFIER]
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send Authorization: Bearer <token>")
        if not (token.isascii() and token.isprintable()):  # no token the hub made
            raise Unauthorized("the bearer token is unknown or disabled")
        return await verifier.verify(token)
    certificate = _peer_certificate(request)
    if certificate is not None:
        return await verifier.verify_certificate(*certificate)
    raise Unauthorized("send Authorization: Bearer <token> (or a client certificate)")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or not request.path.startswith(AUTHENTICATED):
        return await handler(request)
    try:
        request[PRINCIPAL] = await _authenticate(request)
    except Unauthorized:
        app = request.app
        forwarded = request.headers.getall("X-Forwarded-For", ())
        source = app[PROXIES].client(request.remote or "unknown", forwarded)
        app[FAILURES].check(source)  # too many already: 429, and this one is not counted
        app[FAILURES].record(source)
        raise
    return await handler(request)
