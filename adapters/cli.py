"""The adapters' subcommand: ``samspil adapter gp|psychiatry|municipality --config FILE``.

``adapter`` runs one adapter until SIGINT/SIGTERM, then stops it gracefully (in-flight
work finishes; what is not yet sent stays in its outbox for the next start).

``samspil simulate`` needs a hub as well as the adapters, so the composing layer builds it
(:mod:`samspil.simulate`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
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
from wire.errors import HubError

__all__ = ["register"]

ADAPTERS: dict[str, type[Adapter]] = {
    "gp": GpAdapter,
    "psychiatry": PsychiatryAdapter,
    "municipality": MunicipalityAdapter,
}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``adapter`` to ``samspil``."""
    adapter = commands.add_parser("adapter", help="run a sector adapter beside its system")
    adapter.add_argument("kind", choices=KINDS, help="which sector system it serves")
    adapter.add_argument("--config", required=True, type=Path, help="the adapter's TOML file")
    adapter.set_defaults(handler=_adapter)


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
