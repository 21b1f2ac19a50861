"""``samspil``: one command, with a subcommand per job.

Each layer contributes its subcommands through a ``register(subparsers)`` function; a
subcommand sets ``handler`` (a function taking the parsed arguments and returning the exit
code) with ``set_defaults``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from coordinator import cli as coordinator_cli
from messages import cli as messages_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="samspil",
        description="Samspil: cross-sector case coordination for children and young people.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    messages_cli.register(commands)
    coordinator_cli.register(commands)
    demo = commands.add_parser(
        "demo", help="a hub on embedded SQLite with partners exchanging letters and receipts"
    )
    demo.add_argument("--rounds", type=int, default=6, help="letters to exchange; 0 = forever")
    demo.add_argument(
        "--port", type=int, default=8080, help="port for the hub (next free if taken)"
    )
    demo.add_argument("--seed", type=int, default=2026, help="seed for the choice of letters")
    stay = demo.add_mutually_exclusive_group()
    stay.add_argument(
        "--keep-running",
        dest="keep_running",
        action="store_true",
        default=None,
        help="keep the hub running afterwards (default when a terminal is attached)",
    )
    stay.add_argument("--exit", dest="keep_running", action="store_false", help="stop at the end")
    demo.set_defaults(handler=_demo)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from samspil.demo import main as demo_main

    return demo_main(
        rounds=args.rounds, port=args.port, keep_running=args.keep_running, seed=args.seed
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = handler(args)
    return result
