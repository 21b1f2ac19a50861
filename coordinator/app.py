"""The hub's application factory: ``create_app(settings) -> web.Application``.

Every resource has an owner (one ``cleanup_ctx`` each, in order): the database engine
(migrated at start-up) and its backend (:mod:`coordinator.database.backend`), the committer
task, the backend's LISTEN connections (on PostgreSQL: inbox wake-ups and credential
revocations), the consent service's public keys (:mod:`coordinator.index.consent_keys`), the
expiry sweep, the index's and the letters' retention jobs (:mod:`coordinator.index.retention`,
:mod:`coordinator.mailbox.retention`) and the process's heartbeat
(:mod:`coordinator.operations.heartbeat`). They are created at start-up, never on a first
request, and torn down in reverse order after in-flight requests have finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from coordinator import openapi
from coordinator.database.backend import create_backend
from coordinator.database.committer import Committer, running
from coordinator.database.engine import migrate
from coordinator.fhir import routes as routes_fhir
from coordinator.fhir.outcome import outcome_middleware
from coordinator.index import routes as routes_index
from coordinator.index import routes_children, routes_events
from coordinator.index.consent import ConsentPolicy
from coordinator.index.consent_keys import consent_keys
from coordinator.index.retention import retention_ctx
from coordinator.mailbox import routes as routes_messages
from coordinator.mailbox.expiry import sweep_forever
from coordinator.mailbox.notifier import Notifier
from coordinator.mailbox.retention import letter_retention_ctx
from coordinator.operations import routes as routes_operator
from coordinator.operations import routes_health as routes_ops
from coordinator.operations.heartbeat import heartbeat_ctx
from coordinator.operations.metrics import METRICS, Metrics, metrics_middleware
from coordinator.problems import problem_middleware
from coordinator.protocol import HANDLER_ARGS
from coordinator.security import limits, revocation, routes_admin, routes_directory
from coordinator.security.auth import (
    FAILURES,
    MUTUAL_TLS,
    PROXIES,
    VERIFIER,
    FailureLimiter,
    TokenVerifier,
    TrustedProxies,
    auth_middleware,
)
from coordinator.settings import Settings
from coordinator.sqltypes import utcnow
from coordinator.state import (
    BACKEND,
    CLOCK,
    COMMITTER,
    CONSENT_KEYS,
    CONSENT_POLICY,
    DIRECTORY,
    ENGINE,
    LAST_POLL,
    NOTIFIER,
    READER,
    REGISTRY,
    SETTINGS,
    STOPPING,
    Directory,
)
from coordinator.tasks import owned
from messages.medcom.registry import SchemaRegistry

log = logging.getLogger(__name__)


async def _engine(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    backend = create_backend(settings.resolved_database_url)
    engine = backend.engine
    try:
        if settings.run_migrations:
            await migrate(engine)
        app[BACKEND] = backend
        app[ENGINE] = engine
        app[READER] = backend.reader()
        app[DIRECTORY] = Directory(app[READER])
        marker = revocation.marker_path(engine)
        app[VERIFIER] = TokenVerifier(
            app[READER],
            cache_seconds=settings.token_cache_seconds,
            revoked=revocation.Marker(marker).changed if marker is not None else None,
            now=app[CLOCK],  # credentials expire by the hub's clock
        )
        yield
    finally:
        if READER in app:
            app[READER].close()
        await backend.dispose()


async def _committer(app: web.Application) -> AsyncIterator[None]:
    committer = Committer(
        app[BACKEND],
        notifier=app[NOTIFIER],
        max_batch=app[SETTINGS].commit_batch,
    )
    async with running(committer):
        app[COMMITTER] = committer
        yield
    stats = committer.stats
    log.info(
        "committer stopped: %d writes in %d commits (largest group %d)",
        stats.writes,
        stats.commits,
        stats.largest,
    )


async def _listener(app: web.Application) -> AsyncIterator[None]:
    async with app[BACKEND].listen(app[NOTIFIER], app[VERIFIER]):
        yield


async def _consent_keys(app: web.Application) -> AsyncIterator[None]:
    async with consent_keys(app[SETTINGS], app[CLOCK]) as keys:
        app[CONSENT_KEYS] = keys
        yield


async def _expiry(app: web.Application) -> AsyncIterator[None]:
    job = sweep_forever(app[COMMITTER], app[SETTINGS], app[CLOCK])
    async with owned(job, name="samspil-expiry"):
        yield


def create_app(settings: Settings) -> web.Application:
    """The hub as an aiohttp application; resources start when the app starts."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        handler_args=HANDLER_ARGS,  # aiohttp's own log without request text, no access log
        middlewares=[
            metrics_middleware,
            outcome_middleware,  # /fhir/: problem+json answered as an OperationOutcome
            problem_middleware,
            auth_middleware,
            limits.limits_middleware,
        ],
    )
    app[SETTINGS] = settings
    app[FAILURES] = FailureLimiter(settings.login_failures_per_minute)
    app[PROXIES] = TrustedProxies(settings.trusted_proxy_networks)
    app[MUTUAL_TLS] = settings.tls_client_ca is not None
    limits.install(app, settings)
    app[NOTIFIER] = Notifier()
    app[METRICS] = Metrics()
    app[REGISTRY] = SchemaRegistry()  # compiled once, now: a broken schema fails start-up
    app[LAST_POLL] = {}
    app[CLOCK] = utcnow
    app[CONSENT_POLICY] = ConsentPolicy(attested_opens=settings.attested_opens)
    app[STOPPING] = asyncio.Event()
    app.cleanup_ctx.extend(
        [
            _engine,
            _committer,
            _listener,
            _consent_keys,
            _expiry,
            retention_ctx,
            letter_retention_ctx,
            heartbeat_ctx,
        ]
    )
    app.add_routes(routes_messages.routes)
    app.add_routes(routes_ops.routes)
    app.add_routes(routes_index.routes)
    app.add_routes(routes_children.routes)
    app.add_routes(routes_events.routes)
    app.add_routes(routes_fhir.routes)
    app.add_routes(routes_operator.routes)
    app.add_routes(routes_directory.routes)
    app.add_routes(routes_admin.routes)
    app.add_routes(openapi.routes)
    return app
