"""``samspil``: one command, with a subcommand per job.

Each layer contributes its subcommands through a ``register(subparsers)`` function; a
subcommand sets ``handler`` (a function taking the parsed arguments and returning the exit
code) with ``set_defaults``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from adapters import cli as adapters_cli
from coordinator import cli as coordinator_cli
from messages import cli as messages_cli
from samspil import demo, simulate
from samspil.consent_service import cli as consent_service_cli
from tui import cli as tui_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="samspil",
        description="Samspil: cross-sector case coordination for children and young people.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    messages_cli.register(commands)
    coordinator_cli.register(commands)
    tui_cli.register(commands)
    adapters_cli.register(commands)
    simulate.register(commands)
    demo.register(commands)
    consent_service_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = handler(args)
    return result
