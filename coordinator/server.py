"""Running the hub: ``samspil serve`` with a graceful shutdown.

On SIGTERM or SIGINT the hub stops accepting connections, wakes its long-polls so they answer
at once, gives in-flight requests ``Settings.shutdown_timeout`` seconds to finish, lets the
committer finish what was queued, closes the database and logs one summary line.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from aiohttp import web

from coordinator.app import create_app
from coordinator.operations.metrics import METRICS
from coordinator.protocol import HubRunner
from coordinator.security.tls import server_context
from coordinator.settings import Settings
from coordinator.state import COMMITTER, NOTIFIER, STOPPING

log = logging.getLogger("samspil.hub")


async def serve(settings: Settings) -> None:
    app = create_app(settings)
    runner = HubRunner(
        app, shutdown_timeout=settings.shutdown_timeout, handle_signals=False, access_log=None
    )
    await runner.setup()  # start-up: engine, migrations, committer, listener, expiry
    tls = server_context(settings)
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True, ssl_context=tls)
    await site.start()
    scheme = "https" if tls is not None else "http"
    mutual = " (mutual TLS accepted)" if settings.tls_client_ca is not None else ""
    for address in runner.addresses:
        host, port = address[0], address[1]
        log.info("Samspil hub listening on %s://%s:%s%s", scheme, host, port, mutual)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    started = time.monotonic()
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        stopping_at = time.monotonic()
        app[STOPPING].set()
        app[NOTIFIER].notify_all()
        committer = app[COMMITTER]
        metrics = app[METRICS]
        await runner.cleanup()
        served = sum(metrics.responses.values())
        log.info(
            "Samspil hub stopped: up %.0f s, %d requests served, %d writes in %d commits, "
            "shutdown took %.2f s",
            stopping_at - started,
            served,
            committer.stats.writes,
            committer.stats.commits,
            time.monotonic() - stopping_at,
        )
