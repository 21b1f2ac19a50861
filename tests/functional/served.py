"""A hub application served on a free port of 127.0.0.1 with a GP and a PPR registered, for
the runs that drive a whole app from outside (the API fuzzer, the PostgreSQL restart)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from coordinator.security.credentials import local_actor, register_organisation
from coordinator.state import ENGINE
from coordinator.tables import OrganisationCreate, Sector

__all__ = ["Served", "served"]


@dataclass(frozen=True, slots=True)
class Served:
    base: str
    """``http://127.0.0.1:PORT``."""
    gp: str
    """The GP's system token."""
    ppr: str
    """PPR's system token."""


@asynccontextmanager
async def served(app: web.Application, *, gp: str, ppr: str) -> AsyncIterator[Served]:
    """``app`` listening, with the organisations ``gp`` (GP) and ``ppr`` (PPR) registered;
    cleaned up on the way out."""
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        tokens = []
        for gln, name, sector in ((gp, "GP", Sector.GP), (ppr, "PPR", Sector.PPR)):
            _, token = await register_organisation(
                actor=local_actor(),
                engine=app[ENGINE],
                organisation=OrganisationCreate(gln=gln, name=name, sector=sector),
            )
            tokens.append(token)
        yield Served(f"http://127.0.0.1:{runner.addresses[0][1]}", *tokens)
    finally:
        await runner.cleanup()
