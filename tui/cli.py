"""``samspil tui`` and ``samspil monitor``: the terminal UIs, pointed at a hub.

The hub's URL comes from ``--hub`` or ``SAMSPIL_HUB`` (default ``http://127.0.0.1:8080``);
the token from ``--token`` or ``SAMSPIL_TOKEN`` (a token on the command line is visible to
other users of the machine: prefer the variable). Language: ``SAMSPIL_LANG=en`` for English.
For an https:// hub: ``--ca`` (``SAMSPIL_HUB_CA``) names the CA of its certificate, and
``--cert``/``--key`` (``SAMSPIL_CLIENT_CERT``/``SAMSPIL_CLIENT_KEY``) a client certificate
when the hub asks for mutual TLS.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.client import HubClient

DEFAULT_HUB = "http://127.0.0.1:8080"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``tui`` and ``monitor`` to ``samspil``."""
    for name, help_text, handler in (
        ("tui", "the caseworker app: child overview, consent, inbox and letters", _tui),
        ("monitor", "the operator monitor: traffic, partners, queues, re-delivery", _monitor),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--hub", help=f"the hub's URL (SAMSPIL_HUB, default {DEFAULT_HUB})")
        command.add_argument("--token", help="a user token (better: SAMSPIL_TOKEN)")
        command.add_argument("--ca", help="CA bundle of an https:// hub (SAMSPIL_HUB_CA)")
        command.add_argument("--cert", help="client certificate, PEM (SAMSPIL_CLIENT_CERT)")
        command.add_argument("--key", help="its private key, PEM (SAMSPIL_CLIENT_KEY)")
        command.set_defaults(handler=handler)


def _connection(args: argparse.Namespace) -> HubClient | None:
    from tui.client import HubClient

    hub = args.hub or os.environ.get("SAMSPIL_HUB") or DEFAULT_HUB
    token = args.token or os.environ.get("SAMSPIL_TOKEN")
    if not token:
        print("samspil: give a token with --token or SAMSPIL_TOKEN", file=sys.stderr)
        return None
    return HubClient(
        hub,
        token,
        ca_file=args.ca or os.environ.get("SAMSPIL_HUB_CA"),
        client_cert=args.cert or os.environ.get("SAMSPIL_CLIENT_CERT"),
        client_key=args.key or os.environ.get("SAMSPIL_CLIENT_KEY"),
    )


def _tui(args: argparse.Namespace) -> int:
    from tui.caseworker_app import CaseworkerApp
    from tui.i18n import Texts, language_from_env

    client = _connection(args)
    if client is None:
        return 2
    CaseworkerApp(client, texts=Texts(language_from_env())).run()
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from tui.i18n import Texts, language_from_env
    from tui.monitor_app import MonitorApp

    client = _connection(args)
    if client is None:
        return 2
    MonitorApp(client, texts=Texts(language_from_env())).run()
    return 0
