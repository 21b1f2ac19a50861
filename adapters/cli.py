"""The adapters' subcommands: ``samspil adapter gp|psychiatry|municipality --config FILE``
and ``samspil simulate``.

``adapter`` runs one adapter until SIGINT/SIGTERM, then stops it gracefully (in-flight
work finishes; what is not yet sent stays in its outbox for the next start).

``simulate`` runs the simulated pilot region. It needs a hub with the region's
organisations registered; the composing layer passes the function that starts one
(``register(commands, hub_provider=...)``), because starting a hub is not the adapters' job.
With ``--hub URL`` and an administrator's token (``--admin-token`` or
``SAMSPIL_ADMIN_TOKEN``) it runs against that running hub instead, registering the
organisations over HTTP (:mod:`adapters.simulation.external`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from adapters.base import Adapter
from adapters.config import KINDS, load_config
from adapters.errors import AdapterError
from adapters.gp import GpAdapter
from adapters.municipality import MunicipalityAdapter
from adapters.psychiatry import PsychiatryAdapter
from adapters.simulation.external import ExternalHub
from adapters.simulation.run import HubProvider, SimulationSettings, simulate
from wire.errors import HubError

__all__ = ["register"]

ADAPTERS: dict[str, type[Adapter]] = {
    "gp": GpAdapter,
    "psychiatry": PsychiatryAdapter,
    "municipality": MunicipalityAdapter,
}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def register(
    commands: argparse._SubParsersAction[Any], *, hub_provider: HubProvider | None = None
) -> None:
    """Add ``adapter`` and (with a hub provider) ``simulate`` to ``samspil``."""
    adapter = commands.add_parser("adapter", help="run a sector adapter beside its system")
    adapter.add_argument("kind", choices=KINDS, help="which sector system it serves")
    adapter.add_argument("--config", required=True, type=Path, help="the adapter's TOML file")
    adapter.set_defaults(handler=_adapter)
    if hub_provider is None:
        return
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
    sim.set_defaults(handler=lambda args: _simulate(args, hub_provider))


def add_simulation_options(parser: argparse.ArgumentParser, *, children: int, speed: float) -> None:
    parser.add_argument("--children", type=int, default=children, help="synthetic children")
    parser.add_argument("--speed", type=float, default=speed, help="simulated days per real second")
    parser.add_argument(
        "--duration", type=float, default=0.0, help="real seconds to run (0: until done)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="the same seed, the same run")


def _adapter(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        config = load_config(args.kind, args.config)
    except AdapterError as exc:
        print(f"samspil adapter: {exc} ({exc.code})", file=sys.stderr)
        return 2
    adapter = ADAPTERS[args.kind](config)
    try:
        asyncio.run(_run_until_signal(adapter))
    except (AdapterError, HubError) as exc:
        print(f"samspil adapter: {exc} ({exc.code})", file=sys.stderr)
        return 1
    return 0


async def _run_until_signal(adapter: Adapter) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with adapter:
        await stop.wait()


def settings_from(args: argparse.Namespace, workdir: Path, **extra: Any) -> SimulationSettings:
    if args.children < 1 or args.speed <= 0 or args.duration < 0:
        raise SystemExit("samspil: --children >= 1, --speed > 0 and --duration >= 0, please")
    return SimulationSettings(
        children=args.children,
        speed=args.speed,
        duration=args.duration,
        seed=args.seed,
        workdir=workdir,
        **extra,
    )


def _simulate(args: argparse.Namespace, provider: HubProvider) -> int:
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    settings = settings_from(args, args.workdir)
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

    with contextlib.suppress(KeyboardInterrupt):
        try:
            progress, _ = asyncio.run(simulate(settings, provider, report=say))
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
