"""The embedded hub the simulated region runs against (``samspil simulate``, ``samspil demo``).

Composes the layers: the hub (``coordinator``) on a fresh embedded SQLite file, the pilot's
organisations registered in it with a system token each, a caseworker at PPR Aalborg for
the caseworker TUI, and an operator; then the region's adapters (``adapters.simulation``)
talk to it over real HTTP like any sector system's adapter would. ``samspil simulate --hub
URL`` uses a running hub instead (:class:`adapters.simulation.external.ExternalHub`), where
an administrator's token registers the organisations over HTTP.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from aiohttp import web

from adapters.simulation.region import Org, OrgKind
from adapters.simulation.run import HubAccess
from coordinator.app import create_app
from coordinator.database.engine import create_engine, migrate
from coordinator.settings import Settings
from coordinator.store import create_organisation, create_user
from coordinator.tables import OrganisationCreate, Role, Sector

__all__ = ["embedded_hub", "free_port"]


def free_port(preferred: int) -> int:
    """``preferred`` if it can be bound on 127.0.0.1, else any free port (0: any)."""
    with socket.socket() as probe:
        try:
            if preferred <= 0:
                raise OSError("no preferred port")
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            return port


async def _register(settings: Settings, orgs: Sequence[Org]) -> tuple[dict[str, str], str, str]:
    engine = create_engine(settings.resolved_database_url)
    tokens: dict[str, str] = {}
    try:
        await migrate(engine)
        for org in orgs:
            _, token = await create_organisation(
                engine=engine,
                organisation=OrganisationCreate(
                    gln=org.gln,
                    name=org.name,
                    sector=Sector(org.kind.value),
                    municipality=org.municipality if org.kind is not OrgKind.GP else None,
                ),
            )
            tokens[org.gln] = token
        ppr = next(o for o in orgs if o.kind is OrgKind.PPR and o.municipality == "851")
        caseworker = await create_user(
            engine=engine, org_gln=ppr.gln, name="Hanne Østergaard", role=Role.CASEWORKER
        )
        operator = await create_user(
            engine=engine, org_gln=ppr.gln, name="Driften", role=Role.OPERATOR
        )
    finally:
        await engine.dispose()
    return tokens, caseworker, operator


@contextlib.asynccontextmanager
async def embedded_hub(
    orgs: Sequence[Org], workdir: Path, *, port: int = 0
) -> AsyncIterator[HubAccess]:
    """A fresh hub on ``workdir/hub/samspil.sqlite`` at ``127.0.0.1:port`` (0: a free one),
    with ``orgs`` registered; the tokens are in ``workdir/tokens.txt`` (mode 0600)."""
    data_dir = workdir / "hub"
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob("samspil.sqlite*"):
        stale.unlink()
    settings = Settings(environment="development", data_dir=data_dir, port=free_port(port))
    tokens, caseworker, operator = await _register(settings, orgs)
    token_file = workdir / "tokens.txt"
    token_file.touch(mode=0o600)
    token_file.chmod(0o600)
    names = {o.gln: o.name for o in orgs}
    token_file.write_text(
        f"caseworker\t{caseworker}\noperator\t{operator}\n"
        + "".join(f"{gln}\t{token}\t{names[gln]}\n" for gln, token in tokens.items()),
        encoding="utf-8",
    )
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=3)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", settings.port).start()
        yield HubAccess(
            url=f"http://127.0.0.1:{settings.port}",
            tokens=tokens,
            caseworker_token=caseworker,
            token_file=token_file,
        )
    finally:
        await runner.cleanup()
