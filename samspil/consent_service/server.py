"""Running the consent service: on a port for as long as a block runs (the simulation, the
demo, tests), or until SIGINT/SIGTERM (``samspil consent-service``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from samspil.consent_service.app import DEFAULT_OVERLAP, JWKS_PATH, create_service_app
from samspil.consent_service.keys import Clock, KeyStore, utcnow

__all__ = ["DEFAULT_ISSUER", "RunningService", "running_service", "serve"]

log = logging.getLogger("samspil.consent_service")

DEFAULT_ISSUER = "urn:samspil:consent-service"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True, slots=True)
class RunningService:
    """A consent service listening at ``url``."""

    url: str
    store: KeyStore
    token: str | None = field(default=None, repr=False)

    @property
    def jwks_url(self) -> str:
        """What to give the hub as ``SAMSPIL_CONSENT_JWKS``."""
        return self.url + JWKS_PATH


@contextlib.asynccontextmanager
async def running_service(
    keys_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    issuer: str = DEFAULT_ISSUER,
    token: str | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    clock: Clock = utcnow,
) -> AsyncIterator[RunningService]:
    """The service on ``host:port`` (0: a free port) with the keys in ``keys_dir`` (created
    with a first key if need be), stopped on the way out."""
    if host not in LOOPBACK and not token:
        raise SystemExit(
            "samspil consent-service: it signs whatever it is sent, so off a loopback address "
            "it needs a token (SAMSPIL_CONSENT_SERVICE_TOKEN)"
        )
    store = await asyncio.to_thread(KeyStore(keys_dir, clock=clock).open)
    app = create_service_app(store, issuer=issuer, token=token, overlap=overlap, clock=clock)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield RunningService(f"http://{shown}:{bound_port}", store, token)
    finally:
        await runner.cleanup()


async def serve(
    keys_dir: Path, *, host: str, port: int, issuer: str, token: str | None, overlap: timedelta
) -> None:
    """``samspil consent-service``: run until SIGINT or SIGTERM."""
    async with running_service(
        keys_dir, host=host, port=port, issuer=issuer, token=token, overlap=overlap
    ) as service:
        log.info(
            "consent service at %s (keys %s, JWKS %s)", service.url, keys_dir, service.jwks_url
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
