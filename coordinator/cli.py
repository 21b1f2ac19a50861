"""The hub's subcommands: ``serve``, ``org add|list``, ``user add``.

``org add`` and ``user add`` print **only** the new token on stdout (so a script can capture
it); everything else goes to stderr. Tokens are stored hashed and cannot be shown again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.db import create_engine, migrate
from coordinator.errors import CoordinatorError
from coordinator.settings import Settings
from coordinator.store import create_organisation, create_user, list_organisations
from coordinator.tables import OrganisationCreate, Role, Sector
from messages.errors import SamspilError
from messages.identifiers import parse_gln, parse_sor

USER_ROLES = [Role.CASEWORKER.value, Role.OPERATOR.value, Role.ADMIN.value]


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the hub's subcommands to ``samspil``."""
    serve = commands.add_parser("serve", help="run the hub (HTTP API on SQLite or PostgreSQL)")
    serve.add_argument("--host", help="address to bind (SAMSPIL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (SAMSPIL_PORT, default 8080)")
    _db_option(serve)
    serve.set_defaults(handler=_serve)

    org = commands.add_parser("org", help="register and list organisations")
    org_commands = org.add_subparsers(dest="org_command", metavar="ACTION", required=True)
    add = org_commands.add_parser(
        "add", help="register an organisation; prints its system token on stdout"
    )
    add.add_argument("--gln", required=True, help="EAN location number (13 digits)")
    add.add_argument("--name", required=True)
    add.add_argument("--sector", required=True, choices=[s.value for s in Sector])
    add.add_argument("--sor", help="SOR code (15-16 digits)")
    add.add_argument("--municipality", help="municipality code (3 digits)")
    _db_option(add)
    add.set_defaults(handler=_org_add)
    listing = org_commands.add_parser("list", help="list registered organisations")
    _db_option(listing)
    listing.set_defaults(handler=_org_list)

    user = commands.add_parser("user", help="create user credentials")
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    user_add = user_commands.add_parser("add", help="create a user; prints the token on stdout")
    user_add.add_argument("--org", required=True, help="the organisation's GLN")
    user_add.add_argument("--name", required=True)
    user_add.add_argument("--role", required=True, choices=USER_ROLES)
    _db_option(user_add)
    user_add.set_defaults(handler=_user_add)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", help="database URL (SAMSPIL_DATABASE_URL; default the embedded SQLite file)"
    )


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.from_env(database_url=args.db, **extra)


def _fail(exc: SamspilError) -> int:
    print(f"samspil: {exc} ({exc.code})", file=sys.stderr)
    return 2


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    async def run() -> int:
        engine = create_engine(settings.resolved_database_url)
        try:
            await migrate(engine)
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except SamspilError as exc:
        return _fail(exc)


def _serve(args: argparse.Namespace) -> int:
    from coordinator.server import serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = _settings(args, host=args.host, port=args.port)
        asyncio.run(serve(settings))
    except SamspilError as exc:
        return _fail(exc)
    return 0


def _org_add(args: argparse.Namespace) -> int:
    try:
        gln = parse_gln(args.gln)
        sor = parse_sor(args.sor) if args.sor else None
        municipality = args.municipality
        if municipality is not None and not (len(municipality) == 3 and municipality.isdigit()):
            raise CoordinatorError(
                "a municipality code is three digits", code="invalid-municipality"
            )
        settings = _settings(args)
    except SamspilError as exc:
        return _fail(exc)
    organisation = OrganisationCreate(
        gln=gln, name=args.name, sector=Sector(args.sector), sor=sor, municipality=municipality
    )

    async def work(engine: AsyncEngine) -> int:
        created, token = await create_organisation(engine=engine, organisation=organisation)
        print(
            f"registered {created.name} ({created.gln}, {created.sector.value})",
            file=sys.stderr,
        )
        print(token)
        return 0

    return _with_engine(settings, work)


def _user_add(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except SamspilError as exc:
        return _fail(exc)

    async def work(engine: AsyncEngine) -> int:
        token = await create_user(
            engine=engine, org_gln=args.org, name=args.name, role=Role(args.role)
        )
        print(f"created {args.role} {args.name} for {args.org}", file=sys.stderr)
        print(token)
        return 0

    return _with_engine(settings, work)


def _org_list(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except SamspilError as exc:
        return _fail(exc)

    async def work(engine: AsyncEngine) -> int:
        for org in await list_organisations(engine=engine):
            print(
                f"{org.gln}  {org.sector.value:<10}  {org.municipality or '-':<3}  "
                f"{org.sor or '-':<16}  {org.name}"
            )
        return 0

    return _with_engine(settings, work)
