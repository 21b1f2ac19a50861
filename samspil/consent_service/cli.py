"""``samspil consent-service``: run the stand-in consent service, or rotate its key.

::

    samspil consent-service [--host H] [--port P] [--keys-dir DIR] [--issuer I] [--overlap-hours N]
    samspil consent-service rotate [--keys-dir DIR] [--overlap-hours N]

The token its ``POST`` routes need is read from ``SAMSPIL_CONSENT_SERVICE_TOKEN`` (never a
flag: a flag shows in the process list); without one it only listens on a loopback address.
``rotate`` works on the key directory: a running service publishes the new key from its next
request (or rotate a running one with ``POST /admin/rotate``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from samspil.consent_service.app import DEFAULT_OVERLAP
from samspil.consent_service.keys import KeyStore, KeyStoreError
from samspil.consent_service.server import DEFAULT_ISSUER, serve

__all__ = ["register"]

TOKEN_ENV = "SAMSPIL_CONSENT_SERVICE_TOKEN"  # noqa: S105 - the variable's name, not a token
DEFAULT_KEYS_DIR = Path("var/consent-service")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``consent-service`` to ``samspil``."""
    service = commands.add_parser(
        "consent-service",
        help="a stand-in for Digitalt Samtykke: signs consent documents (ES256 JWS) and "
        "publishes its keys (JWKS) for the hub",
    )
    service.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    service.add_argument("--port", type=int, default=8090, help="port to bind (8090)")
    service.add_argument(
        "--keys-dir",
        type=Path,
        default=DEFAULT_KEYS_DIR,
        help=f"the signing keys (created on first start, 0600; default {DEFAULT_KEYS_DIR})",
    )
    service.add_argument("--issuer", default=DEFAULT_ISSUER, help="the documents' iss claim")
    _overlap_option(service, argparse.SUPPRESS)
    service.set_defaults(handler=_serve, overlap_hours=DEFAULT_OVERLAP.total_seconds() / 3600)
    actions = service.add_subparsers(dest="consent_action", metavar="ACTION")
    rotate = actions.add_parser(
        "rotate",
        help="make a new signing key; the old one stays published for the overlap",
    )
    rotate.add_argument("--keys-dir", type=Path, default=argparse.SUPPRESS, help="as above")
    _overlap_option(rotate, argparse.SUPPRESS)
    rotate.set_defaults(handler=_rotate)


def _overlap_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--overlap-hours",
        type=float,
        default=default,
        help="how long a retired key stays published after a rotation "
        f"(default {DEFAULT_OVERLAP.total_seconds() / 3600:g})",
    )


def _overlap(args: argparse.Namespace) -> timedelta:
    hours = float(args.overlap_hours)
    if not 0 <= hours <= 24 * 365:
        raise SystemExit("samspil consent-service: --overlap-hours is 0 to 8760")
    return timedelta(hours=hours)


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(
                serve(
                    args.keys_dir,
                    host=args.host,
                    port=args.port,
                    issuer=args.issuer,
                    token=os.environ.get(TOKEN_ENV) or None,
                    overlap=_overlap(args),
                )
            )
        except KeyStoreError as exc:
            print(f"samspil consent-service: {exc.message}", file=sys.stderr)
            return 2
    return 0


def _rotate(args: argparse.Namespace) -> int:
    try:
        store = KeyStore(args.keys_dir).open()
        kid = store.rotate(_overlap(args))
    except KeyStoreError as exc:
        print(f"samspil consent-service rotate: {exc.message}", file=sys.stderr)
        return 2
    published = ", ".join(str(k["kid"]) for k in store.jwks()["keys"])
    print(f"new signing key {kid}; published: {published}")
    return 0
