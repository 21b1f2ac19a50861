"""The hub's subcommands: ``serve``, ``org add|list|token|disable|enable|letters``, ``org cert
revoke|list``, ``user add|disable``, ``backup`` (:mod:`coordinator.database.backup`).

``org add``, ``org token`` and ``user add`` print **only** the new token on stdout (so a
script can capture it); everything else goes to stderr. Tokens are stored hashed and cannot
be shown again. Every change is written to the audit trail with the local OS user as who
(:mod:`coordinator.security.credentials`). ``--expires-in`` takes ``90d``, ``12h``, ``30m`` or
seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.database.engine import create_engine, migrate
from coordinator.errors import ConfigError, CoordinatorError
from coordinator.mailbox.store import list_organisations
from coordinator.security.certificates import (
    certificate_serial,
    revocation_reason,
    revoke_certificate,
    revoked_certificates,
)
from coordinator.security.credentials import (
    add_user,
    disable_user,
    local_actor,
    register_organisation,
    rotate_system_token,
    set_letters_consumer,
    set_system_token,
)
from coordinator.settings import Settings
from coordinator.sqltypes import utcnow
from coordinator.tables import LettersConsumedBy, MessageFormat, OrganisationCreate, Role, Sector
from messages.errors import SamspilError
from messages.identifiers import parse_gln, parse_sor

USER_ROLES = [Role.CASEWORKER.value, Role.OPERATOR.value, Role.ADMIN.value]


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the hub's subcommands to ``samspil``."""
    serve = commands.add_parser("serve", help="run the hub (HTTP API on SQLite or PostgreSQL)")
    serve.add_argument("--host", help="address to bind (SAMSPIL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (SAMSPIL_PORT, default 8080)")
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain: serve HTTPS")
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    serve.add_argument(
        "--tls-client-ca",
        type=Path,
        help="PEM CA for mutual TLS: a client certificate with subject serialNumber or CN "
        "'GLN:<13 digits>' authenticates that organisation's system credential",
    )
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
    add.add_argument(
        "--format",
        choices=[f.value for f in MessageFormat],
        default=MessageFormat.OIOXML.value,
        help="the letter format its system speaks (the hub converts for it; default oioxml)",
    )
    add.add_argument(
        "--letters-consumed-by",
        choices=[c.value for c in LettersConsumedBy],
        default=LettersConsumedBy.SYSTEM.value,
        help="who takes the organisation's letters out of its inbox: its case system through "
        "its adapter (default) or its people in the caseworker app",
    )
    _expiry_option(add)
    _db_option(add)
    add.set_defaults(handler=_org_add)
    token = org_commands.add_parser(
        "token",
        help="rotate an organisation's system token: prints the new one on stdout; the old "
        "one is refused from its next request",
    )
    token.add_argument("--gln", required=True, help="the organisation's GLN")
    _expiry_option(token)
    _db_option(token)
    token.set_defaults(handler=_org_token)
    for action, help_text in (
        ("disable", "disable an organisation's system token (refused from its next request)"),
        ("enable", "enable an organisation's newest system token again"),
    ):
        switch = org_commands.add_parser(action, help=help_text)
        switch.add_argument("--gln", required=True, help="the organisation's GLN")
        _db_option(switch)
        switch.set_defaults(handler=_org_switch, disabled=action == "disable")
    letters = org_commands.add_parser(
        "letters",
        help="set who takes an organisation's letters out of its inbox (audited): its system "
        "(adapter) or its people (caseworker app); the other party reads them or is refused",
    )
    letters.add_argument("--gln", required=True, help="the organisation's GLN")
    letters.add_argument(
        "--consumed-by", required=True, choices=[c.value for c in LettersConsumedBy]
    )
    _db_option(letters)
    letters.set_defaults(handler=_org_letters)
    listing = org_commands.add_parser("list", help="list registered organisations")
    _db_option(listing)
    listing.set_defaults(handler=_org_list)
    _cert_commands(org_commands)

    user = commands.add_parser("user", help="create and disable user credentials")
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    user_add = user_commands.add_parser("add", help="create a user; prints the token on stdout")
    user_add.add_argument("--org", required=True, help="the organisation's GLN")
    user_add.add_argument("--name", required=True)
    user_add.add_argument("--role", required=True, choices=USER_ROLES)
    _expiry_option(user_add)
    _db_option(user_add)
    user_add.set_defaults(handler=_user_add)
    user_disable = user_commands.add_parser(
        "disable",
        help="disable every token of a person (refused from its next request); 'user add' "
        "gives them a new one",
    )
    user_disable.add_argument("--org", required=True, help="the organisation's GLN")
    user_disable.add_argument("--name", required=True, help="the person's name, as added")
    _db_option(user_disable)
    user_disable.set_defaults(handler=_user_disable)

    backup = commands.add_parser(
        "backup",
        help="copy the live database to a file (SQLite's online backup, or pg_dump); the "
        "hub keeps serving",
    )
    backup.add_argument("--to", required=True, type=Path, help="the backup file to write")
    _db_option(backup)
    backup.set_defaults(handler=_backup)


def _cert_commands(org_commands: argparse._SubParsersAction[Any]) -> None:
    """``samspil org cert revoke|list``: client certificates revoked on their own."""
    cert = org_commands.add_parser(
        "cert", help="revoke one client certificate of an organisation, list the revoked"
    )
    cert_commands = cert.add_subparsers(dest="cert_command", metavar="ACTION", required=True)
    revoke = cert_commands.add_parser(
        "revoke",
        help="refuse one client certificate from its next request (for good); the "
        "organisation's other certificates and tokens keep working",
    )
    revoke.add_argument("--gln", required=True, help="the organisation the certificate names")
    revoke.add_argument(
        "--serial",
        required=True,
        help="the certificate's serial number in hexadecimal, as 'openssl x509 -noout "
        "-serial' prints it (0x, colons and upper case are taken)",
    )
    revoke.add_argument("--reason", help="why, for the operators (one line)")
    _db_option(revoke)
    revoke.set_defaults(handler=_cert_revoke)
    listing = cert_commands.add_parser(
        "list", help="an organisation's revoked client certificates, newest first"
    )
    listing.add_argument("--gln", required=True, help="the organisation's GLN")
    _db_option(listing)
    listing.set_defaults(handler=_cert_list)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", help="database URL (SAMSPIL_DATABASE_URL; default the embedded SQLite file)"
    )


def _expiry_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expires-in",
        metavar="DURATION",
        help="the token is refused after this long: 90d, 12h, 30m or seconds (default: never)",
    )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhms]?)\s*$")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(raw: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``45s`` or plain seconds, as a positive timedelta."""
    match = _DURATION.match(raw.lower())
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(
            f"--expires-in {raw!r}: give a positive duration such as 90d, 12h, 30m or 3600",
            code="invalid-duration",
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _expires_at(args: argparse.Namespace) -> datetime | None:
    raw = getattr(args, "expires_in", None)
    return utcnow() + parse_duration(raw) if raw else None


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.from_env(database_url=args.db, **extra)


def _fail(exc: SamspilError) -> int:
    print(f"samspil: {exc} ({exc.code})", file=sys.stderr)
    return 2


def _with_engine(args: argparse.Namespace, work: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    """Run ``work`` against the migrated database the settings name; our errors fail as
    :func:`_fail` says."""
    try:
        settings = _settings(args)
    except SamspilError as exc:
        return _fail(exc)

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


def _issued(token: str, note: str) -> int:
    """A new token on stdout (for a pipe), what it is on stderr (for the person)."""
    print(note, file=sys.stderr)
    print(token)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from coordinator.server import serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = _settings(
            args,
            host=args.host,
            port=args.port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            tls_client_ca=args.tls_client_ca,
        )
        asyncio.run(serve(settings))
    except SamspilError as exc:
        return _fail(exc)
    return 0


def _org_add(args: argparse.Namespace) -> int:
    try:
        gln = parse_gln(args.gln)
        sor = parse_sor(args.sor) if args.sor else None
        municipality = args.municipality
        if municipality is not None and not (
            len(municipality) == 3 and municipality.isascii() and municipality.isdigit()
        ):
            raise CoordinatorError(
                "a municipality code is three digits", code="invalid-municipality"
            )
        expires_at = _expires_at(args)
    except SamspilError as exc:
        return _fail(exc)
    organisation = OrganisationCreate(
        gln=gln,
        name=args.name,
        sector=Sector(args.sector),
        sor=sor,
        municipality=municipality,
        format=MessageFormat(args.format),
        letters_consumed_by=LettersConsumedBy(args.letters_consumed_by),
    )

    async def work(engine: AsyncEngine) -> int:
        created, token = await register_organisation(
            engine=engine, organisation=organisation, actor=local_actor(), expires_at=expires_at
        )
        return _issued(
            token,
            f"registered {created.name} ({created.gln}, {created.sector.value}, "
            f"{created.format.value})",
        )

    return _with_engine(args, work)


def _user_add(args: argparse.Namespace) -> int:
    try:
        expires_at = _expires_at(args)
    except SamspilError as exc:
        return _fail(exc)

    async def work(engine: AsyncEngine) -> int:
        token = await add_user(
            engine=engine,
            org_gln=args.org,
            name=args.name,
            role=Role(args.role),
            actor=local_actor(),
            expires_at=expires_at,
        )
        return _issued(token, f"created {args.role} {args.name} for {args.org}")

    return _with_engine(args, work)


def _user_disable(args: argparse.Namespace) -> int:
    try:
        gln = parse_gln(args.org)
    except SamspilError as exc:
        return _fail(exc)

    async def work(engine: AsyncEngine) -> int:
        changed = await disable_user(
            engine=engine, org_gln=gln, name=args.name, actor=local_actor()
        )
        print(f"{gln}: {changed} token(s) of {args.name} disabled", file=sys.stderr)
        return 0 if changed else 1

    return _with_engine(args, work)


def _org_token(args: argparse.Namespace) -> int:
    try:
        gln = parse_gln(args.gln)
        expires_at = _expires_at(args)
    except SamspilError as exc:
        return _fail(exc)

    async def work(engine: AsyncEngine) -> int:
        token = await rotate_system_token(
            engine=engine, gln=gln, actor=local_actor(), expires_at=expires_at
        )
        return _issued(token, f"new system token for {gln}; the old one is revoked")

    return _with_engine(args, work)


def _org_switch(args: argparse.Namespace) -> int:
    try:
        gln = parse_gln(args.gln)
    except SamspilError as exc:
        return _fail(exc)

    async def work(engine: AsyncEngine) -> int:
        changed = await set_system_token(
            engine=engine, gln=gln, disabled=args.disabled, actor=local_actor()
        )
        state = "disabled" if args.disabled else "enabled"
        print(f"{gln}: {changed} system token(s) {state}", file=sys.stderr)
        return 0

    return _with_engine(args, work)


def _org_letters(args: argparse.Namespace) -> int:
    try:
        gln = parse_gln(args.gln)
    except SamspilError as exc:
        return _fail(exc)
    owner = LettersConsumedBy(args.consumed_by)

    async def work(engine: AsyncEngine) -> int:
        changed = await set_letters_consumer(
            engine=engine, gln=gln, owner=owner, actor=local_actor()
        )
        note = "" if changed else " (unchanged)"
        print(f"{gln}: letters consumed by {owner.value}{note}", file=sys.stderr)
        return 0

    return _with_engine(args, work)


def _org_list(args: argparse.Namespace) -> int:
    async def work(engine: AsyncEngine) -> int:
        for org in await list_organisations(engine=engine):
            print(
                f"{org.gln}  {org.sector.value:<10}  {org.format.value:<6}  "
                f"{org.municipality or '-':<3}  {org.sor or '-':<16}  "
                f"{org.letters_consumed_by.value:<6}  {org.name}"
            )
        return 0

    return _with_engine(args, work)


def _cert_revoke(args: argparse.Namespace) -> int:
    try:
        gln = parse_gln(args.gln)
        serial = certificate_serial(args.serial)
        reason = revocation_reason(args.reason)
    except SamspilError as exc:
        return _fail(exc)

    async def work(engine: AsyncEngine) -> int:
        revoked = await revoke_certificate(
            engine=engine, gln=gln, serial=serial, reason=reason, actor=local_actor()
        )
        print(
            f"revoked the client certificate with serial {revoked.serial} of {gln}; the hub "
            "refuses it from its next request",
            file=sys.stderr,
        )
        return 0

    return _with_engine(args, work)


def _cert_list(args: argparse.Namespace) -> int:
    try:
        gln = parse_gln(args.gln)
    except SamspilError as exc:
        return _fail(exc)

    async def work(engine: AsyncEngine) -> int:
        revoked = await revoked_certificates(engine=engine, gln=gln)
        if not revoked:
            print(f"{gln}: no client certificate is revoked", file=sys.stderr)
        for r in revoked:
            at = r.revoked_at.isoformat(timespec="seconds")
            print(f"{r.serial}  {at}  {r.revoked_by}  {r.reason or '-'}")
        return 0

    return _with_engine(args, work)


def _backup(args: argparse.Namespace) -> int:
    from coordinator.database.backup import backup

    try:
        made = backup(_settings(args).resolved_database_url, args.to)
    except SamspilError as exc:
        return _fail(exc)
    print(f"backed up the {made.kind} database to {made.path} ({made.size} bytes)", file=sys.stderr)
    return 0
