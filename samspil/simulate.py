"""``samspil simulate``: the simulated pilot region, on the embedded hub it runs against
(also ``samspil demo``'s) or on a running one.

Composes the layers: the hub (``coordinator``) on a fresh embedded SQLite file, the pilot's
organisations registered in it with a system token each, a caseworker at PPR Aalborg for
the caseworker TUI, and an operator; the stand-in consent service
(:mod:`samspil.consent_service`), whose keys the hub trusts for signed consents; then the
region's adapters (``adapters.simulation``) talk to it over real HTTP like any sector
system's adapter would. ``samspil simulate --hub URL`` uses a running hub instead
(:class:`adapters.simulation.external.ExternalHub`), where an administrator's token
registers the organisations over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.cli import LOG_FORMAT
from adapters.errors import AdapterError
from adapters.simulation.external import ExternalHub
from adapters.simulation.intruder import burst_size
from adapters.simulation.region import Org, OrgKind, pilot_region
from adapters.simulation.run import (
    CONTACTS,
    HubAccess,
    HubProvider,
    Progress,
    SimulationSettings,
    simulate,
)
from coordinator.app import create_app
from coordinator.database.engine import create_engine, migrate
from coordinator.protocol import HubRunner
from coordinator.security.credentials import add_user, local_actor, register_organisation
from coordinator.settings import Settings
from coordinator.tables import LettersConsumedBy, MessageFormat, OrganisationCreate, Role, Sector
from samspil.consent_service.server import running_service
from samspil.rate_flags import flagged_sentences
from wire.errors import HubError

__all__ = [
    "add_simulation_options",
    "demo_caseworker",
    "embedded_hub",
    "listening_socket",
    "register",
    "run_alerts",
    "settings_from",
    "started",
]


PORTS_TRIED = 100
"""How many ports from the one asked for :func:`listening_socket` tries before any free one."""


def listening_socket(preferred: int) -> socket.socket:
    """A socket bound on 127.0.0.1 to ``preferred`` or, when that is taken, the next free
    port above it (within :data:`PORTS_TRIED`), else any free one; 0: any free one. Bound
    here and served as it is, so no other process can take the port in between."""
    candidates = range(preferred, min(preferred + PORTS_TRIED, 65536)) if preferred > 0 else ()
    for port in (*candidates, 0):
        sock = socket.socket()
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            if port == 0:
                raise
            continue
        return sock
    raise AssertionError("unreachable: port 0 binds or raises")


@dataclass(frozen=True, slots=True)
class _Registered:
    tokens: dict[str, str] = field(repr=False)
    """GLN -> the organisation's system token."""
    caseworkers: dict[str, str] = field(repr=False)
    """GLN -> a caseworker's token, for every organisation but the GP clinics."""
    operator: str = field(repr=False)


async def _register(settings: Settings, orgs: Sequence[Org]) -> _Registered:
    engine = create_engine(settings.resolved_database_url)
    tokens: dict[str, str] = {}
    caseworkers: dict[str, str] = {}
    try:
        await migrate(engine)
        for org in orgs:
            _, token = await register_organisation(
                actor=local_actor(),
                engine=engine,
                organisation=OrganisationCreate(
                    gln=org.gln,
                    name=org.name,
                    sector=Sector(org.kind.value),
                    municipality=org.municipality if org.kind is not OrgKind.GP else None,
                    sor=org.sor,
                    format=MessageFormat.FHIR if org.speaks_fhir else MessageFormat.OIOXML,
                    letters_consumed_by=LettersConsumedBy.PEOPLE
                    if org.letters_by_people
                    else LettersConsumedBy.SYSTEM,
                ),
            )
            tokens[org.gln] = token
            if org.kind is not OrgKind.GP:
                caseworkers[org.gln] = await add_user(
                    actor=local_actor(),
                    engine=engine,
                    org_gln=org.gln,
                    name=CONTACTS[org.kind][0],
                    role=Role.CASEWORKER,
                )
        operator = await add_user(
            actor=local_actor(),
            engine=engine,
            org_gln=demo_caseworker(orgs).gln,
            name="Driften",
            role=Role.OPERATOR,
        )
    finally:
        await engine.dispose()
    return _Registered(tokens, caseworkers, operator)


def demo_caseworker(orgs: Sequence[Org]) -> Org:
    """Where the caseworker the demo introduces works: PPR Aalborg."""
    return next(o for o in orgs if o.kind is OrgKind.PPR and o.municipality == "851")


def _write_secret(path: Path, text: str) -> None:
    """``text`` to ``path``, readable by the owner only (from the moment it exists)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def run_alerts(children: int) -> dict[str, Any]:
    """The stolen-token alert's settings for a fresh hub serving one run of ``children``
    pathways. Its history is the run's minutes, so every organisation's usual day is 0 and
    any count today is above any multiple of it: the floor alone tells the stolen token's
    burst (:func:`~adapters.simulation.intruder.burst_size`, more than ``children``) from the
    region's own traffic, in which an organisation registers each child at most once and
    attests at most one consent per child — ``children`` at most, whatever the seed."""
    return {"rate_alert_minimum": children + 1}


@contextlib.asynccontextmanager
async def embedded_hub(
    orgs: Sequence[Org], workdir: Path, *, port: int = 0, **settings: Any
) -> AsyncIterator[HubAccess]:
    """A fresh hub on ``workdir/hub/samspil.sqlite`` at ``127.0.0.1:port``, or the next free
    port above it when that is taken (0: any free one; the URL says which), with ``orgs``
    registered; the tokens are in ``workdir/tokens.txt``, an operator's alone in
    ``workdir/operator.token`` and a caseworker's of every organisation but the GP clinics in
    ``workdir/caseworkers/<org slug>.token`` (all mode 0600, rewritten each run).
    ``settings``: other hub settings (:class:`~coordinator.settings.Settings` fields: a
    ``database_url`` of an empty database, the run's alerts from :func:`run_alerts`...).
    Beside it the stand-in consent service (keys in ``workdir/consent-service``, on a free
    port), whose published keys the hub checks signed consents against."""
    async with (
        running_service(workdir / "consent-service") as consent_service,
        _hub(orgs, workdir, port, consent_jwks=consent_service.jwks_url, **settings) as hub,
    ):
        yield dataclasses.replace(hub, consent_service=consent_service.url)


@contextlib.asynccontextmanager
async def _hub(
    orgs: Sequence[Org], workdir: Path, port: int, **overrides: Any
) -> AsyncIterator[HubAccess]:
    data_dir = workdir / "hub"
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob("samspil.sqlite*"):
        stale.unlink()
    sock = listening_socket(port)
    try:
        settings = Settings(
            environment="development",
            data_dir=data_dir,
            port=sock.getsockname()[1],
            **overrides,
        ).check()
        async with _serving(orgs, workdir, settings, sock) as hub:
            yield hub
    finally:
        sock.close()


@contextlib.asynccontextmanager
async def _serving(
    orgs: Sequence[Org], workdir: Path, settings: Settings, sock: socket.socket
) -> AsyncIterator[HubAccess]:
    registered = await _register(settings, orgs)
    caseworker = registered.caseworkers[demo_caseworker(orgs).gln]
    token_file = workdir / "tokens.txt"
    names = {o.gln: o.name for o in orgs}
    _write_secret(
        token_file,
        f"caseworker\t{caseworker}\noperator\t{registered.operator}\n"
        + "".join(f"{gln}\t{token}\t{names[gln]}\n" for gln, token in registered.tokens.items()),
    )
    _write_secret(workdir / "operator.token", registered.operator + "\n")
    folder = workdir / "caseworkers"  # one token file per organisation's caseworker
    if folder.is_symlink():
        folder.unlink()
    elif folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(mode=0o700)
    caseworker_files = {o.gln: folder / f"{o.slug}.token" for o in orgs if o.kind is not OrgKind.GP}
    for gln, path in caseworker_files.items():
        _write_secret(path, registered.caseworkers[gln] + "\n")
    app = create_app(settings)
    runner = HubRunner(app, access_log=None, shutdown_timeout=3)  # as `samspil serve` runs it
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield HubAccess(
            url=f"http://127.0.0.1:{settings.port}",
            tokens=registered.tokens,
            caseworker_token=caseworker,
            operator_token=registered.operator,
            token_file=token_file,
            caseworker_files=caseworker_files,
        )
    finally:
        await runner.cleanup()


def started(hub: HubAccess) -> HubProvider:
    """A provider for a hub already started (and its organisations registered) around the
    simulation, so what follows the run can still ask it."""

    @contextlib.asynccontextmanager
    async def provide(orgs: Sequence[Org], workdir: Path) -> AsyncIterator[HubAccess]:
        del orgs, workdir  # registered when the hub was started
        yield hub

    return provide


# --- the command ---------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``simulate`` to ``samspil``."""
    sim = commands.add_parser(
        "simulate",
        help="run the simulated pilot region against a fresh embedded hub (or a running "
        "one: --hub)",
    )
    add_simulation_options(sim, children=40, speed=1.0)
    sim.add_argument(
        "--workdir", type=Path, default=Path("var/simulation"), help="folders and databases"
    )
    sim.add_argument(
        "--hub",
        metavar="URL",
        help="run against this running hub; the organisations are registered over HTTP and "
        "their tokens kept in WORKDIR/tokens.txt",
    )
    sim.add_argument(
        "--admin-token",
        default=os.environ.get("SAMSPIL_ADMIN_TOKEN"),
        help="an administrator's token for --hub (default: SAMSPIL_ADMIN_TOKEN)",
    )
    sim.add_argument("--ca-file", type=Path, help="CA of an https:// --hub's certificate")
    sim.set_defaults(handler=_simulate)


def add_simulation_options(parser: argparse.ArgumentParser, *, children: int, speed: float) -> None:
    parser.add_argument("--children", type=int, default=children, help="synthetic children")
    parser.add_argument("--speed", type=float, default=speed, help="simulated days per real second")
    parser.add_argument(
        "--duration", type=float, default=0.0, help="real seconds to run (0: until done)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="the same seed, the same run")


def settings_from(args: argparse.Namespace, workdir: Path, **extra: Any) -> SimulationSettings:
    if args.children < 1 or args.speed <= 0 or args.duration < 0:
        raise SystemExit("samspil: --children >= 1, --speed > 0 and --duration >= 0, please")
    return SimulationSettings(
        children=args.children,
        speed=args.speed,
        duration=args.duration,
        seed=args.seed,
        workdir=workdir,
        stolen_token_children=burst_size(args.children),
        **extra,
    )


def _simulate(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    settings = settings_from(args, args.workdir)
    provider: HubProvider = functools.partial(embedded_hub, **run_alerts(settings.children))
    if args.hub:
        if not args.hub.startswith(("http://", "https://")):
            raise SystemExit("samspil simulate: --hub must be an http:// or https:// URL")
        if not args.admin_token:
            raise SystemExit(
                "samspil simulate: --hub needs an administrator's token "
                "(--admin-token or SAMSPIL_ADMIN_TOKEN)"
            )
        provider = ExternalHub(args.hub, args.admin_token, ca_file=args.ca_file)

    def say(line: str) -> None:
        print(line, flush=True)

    async def run() -> Progress:
        async with provider(pilot_region(), settings.workdir) as hub:
            progress, _ = await simulate(settings, started(hub), report=say)
            for sentence in await flagged_sentences(hub):  # the embedded hub's operator
                say(sentence)
        return progress

    with contextlib.suppress(KeyboardInterrupt):
        try:
            progress = asyncio.run(run())
        except (AdapterError, HubError) as exc:  # the hub unreachable, a registration refused
            print(f"samspil simulate: {exc} ({exc.code})", file=sys.stderr)
            return 2
        print(
            f"simulation finished: {progress.completed} of {progress.started} pathways done, "
            f"{progress.errors} errors",
            flush=True,
        )
        return 0 if progress.errors == 0 else 1
    return 0
