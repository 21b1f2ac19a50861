"""``samspil tui`` and ``samspil monitor``: the terminal UIs, pointed at a hub.

The hub's URL comes from ``--hub`` or ``SAMSPIL_HUB`` (default ``http://127.0.0.1:8080``);
the token from ``--token-file PATH`` (``SAMSPIL_TOKEN_FILE``: a file holding the token alone,
as ``samspil demo`` writes them) or ``SAMSPIL_TOKEN``; ``--token`` works too, but a token on
the command line is visible to other users of the machine (``ps``) and kept in the shell's
history: prefer the file or the variable. Language: ``SAMSPIL_LANG=en`` for English.
For an https:// hub: ``--ca`` (``SAMSPIL_HUB_CA``) names the CA of its certificate, and
``--cert``/``--key`` (``SAMSPIL_CLIENT_CERT``/``SAMSPIL_CLIENT_KEY``) a client certificate
when the hub asks for mutual TLS. ``samspil monitor --stale-after MINUTES``
(``SAMSPIL_STALE_AFTER``, default 15) sets when a partner that has not polled is highlighted.

The exit status says how the app ended (:class:`tui.exits.ExitStatus`): 0 quit, 69 the hub
never answered, 70 an internal error, 77 the token was refused and no new one given; 2 for a
command line that cannot be used.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wire.client import HubClient

DEFAULT_HUB = "http://127.0.0.1:8080"
DEFAULT_STALE_MINUTES = 15.0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``tui`` and ``monitor`` to ``samspil``."""
    for name, help_text, handler in (
        ("tui", "the caseworker app: child overview, consent, inbox and letters", _tui),
        ("monitor", "the operator monitor: traffic, partners, queues, re-delivery", _monitor),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--hub", help=f"the hub's URL (SAMSPIL_HUB, default {DEFAULT_HUB})")
        token = command.add_mutually_exclusive_group()
        token.add_argument(
            "--token-file",
            metavar="PATH",
            help="a file holding your user token alone (SAMSPIL_TOKEN_FILE)",
        )
        token.add_argument(
            "--token", help="a user token (visible in ps: better --token-file or SAMSPIL_TOKEN)"
        )
        command.add_argument("--ca", help="CA bundle of an https:// hub (SAMSPIL_HUB_CA)")
        command.add_argument("--cert", help="client certificate, PEM (SAMSPIL_CLIENT_CERT)")
        command.add_argument("--key", help="its private key, PEM (SAMSPIL_CLIENT_KEY)")
        if name == "monitor":
            command.add_argument(
                "--stale-after",
                type=_minutes,
                metavar="MINUTES",
                help="highlight partners that have not polled for this long "
                f"(SAMSPIL_STALE_AFTER, default {DEFAULT_STALE_MINUTES:g})",
            )
        command.set_defaults(handler=handler)


def _minutes(value: str) -> float:
    try:
        minutes = float(value.replace(",", "."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {value!r}") from None
    if not 0 < minutes <= 7 * 24 * 60:
        raise argparse.ArgumentTypeError("minutes must be above 0 and at most a week (10080)")
    return minutes


def stale_after_seconds(args: argparse.Namespace) -> float | None:
    """``--stale-after``, else ``SAMSPIL_STALE_AFTER``, else the default; in seconds. None
    (after saying why) when the variable holds no valid number of minutes."""
    minutes = getattr(args, "stale_after", None)
    if minutes is None:
        raw = os.environ.get("SAMSPIL_STALE_AFTER", "").strip()
        try:
            minutes = _minutes(raw) if raw else DEFAULT_STALE_MINUTES
        except argparse.ArgumentTypeError as exc:
            print(f"samspil: SAMSPIL_STALE_AFTER: {exc}", file=sys.stderr)
            return None
    return float(minutes) * 60


def _connection(args: argparse.Namespace) -> HubClient | None:
    from wire.client import HubClient, usable_token

    hub = args.hub or os.environ.get("SAMSPIL_HUB") or DEFAULT_HUB
    token = _token(args)
    if token is None:
        return None
    if not token:
        print(
            "samspil: give a token with --token-file PATH, SAMSPIL_TOKEN or --token",
            file=sys.stderr,
        )
        return None
    if not usable_token(token):
        print("samspil: the token is not one: printable ASCII without spaces", file=sys.stderr)
        return None
    return HubClient(
        hub,
        token,
        ca_file=args.ca or os.environ.get("SAMSPIL_HUB_CA"),
        client_cert=args.cert or os.environ.get("SAMSPIL_CLIENT_CERT"),
        client_key=args.key or os.environ.get("SAMSPIL_CLIENT_KEY"),
    )


def _token(args: argparse.Namespace) -> str | None:
    """The token from ``--token``, ``--token-file``, ``SAMSPIL_TOKEN`` or
    ``SAMSPIL_TOKEN_FILE``, the first given ("" when none is); None (after saying why) when
    the file cannot be read or holds more than a token."""
    if args.token:
        return str(args.token).strip()
    path = args.token_file
    if not path:
        token = os.environ.get("SAMSPIL_TOKEN", "").strip()
        if token:
            return token
        path = os.environ.get("SAMSPIL_TOKEN_FILE", "").strip()
        if not path:
            return ""
    try:
        with open(path, encoding="utf-8") as handle:
            words = handle.read(4096).split()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not text"
        print(f"samspil: cannot read the token file {path}: {reason}", file=sys.stderr)
        return None
    if len(words) != 1:
        print(
            f"samspil: the token file {path} must hold one token and nothing else "
            f"(it holds {len(words)} words)",
            file=sys.stderr,
        )
        return None
    return words[0]


def _tui(args: argparse.Namespace) -> int:
    from tui.caseworker_app import CaseworkerApp
    from tui.i18n import Texts, language_from_env

    client = _connection(args)
    if client is None:
        return 2
    app = CaseworkerApp(client, texts=Texts(language_from_env()))
    app.run()
    return app.return_code or 0


def _monitor(args: argparse.Namespace) -> int:
    from tui.i18n import Texts, language_from_env
    from tui.monitor_app import MonitorApp

    stale_after = stale_after_seconds(args)
    if stale_after is None:
        return 2
    client = _connection(args)
    if client is None:
        return 2
    app = MonitorApp(client, texts=Texts(language_from_env()), stale_after=stale_after)
    app.run()
    return app.return_code or 0
