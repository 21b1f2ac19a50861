"""The real hub over real HTTP on a real port, on SQLite and on PostgreSQL.

``hub_db`` (tests/conftest.py) gives each test a SQLite file and, marked ``postgres``, a fresh
PostgreSQL database; ``POSTGRES_ONLY`` keeps a test (or a module) to PostgreSQL.
``make_hub(**settings)`` starts the app factory's application on ``127.0.0.1:0``;
``make_hub(clock=TurnedClock())`` gives the expiry sweep and the letter retention a clock a
test can turn; ``Servers`` starts and stops the apps (TLS ones too).
``hub.org(...)`` registers an organisation and returns a client holding its token;
``hub.gp_and_ppr()`` a GP and a PPR, ``hub.partners()`` the four organisations around a
child in Aalborg; ``client.take(id)`` fetches and acknowledges a letter,
``client.send_receipt(...)`` answers one. Every response a test sees is checked against
``/v1/openapi.json`` when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import pytest
from aiohttp import web

from coordinator.app import create_app
from coordinator.openapi import DOCUMENT
from coordinator.protocol import HubRunner
from coordinator.security.credentials import add_user, local_actor, register_organisation
from coordinator.security.tls import server_context
from coordinator.settings import Settings
from coordinator.sqltypes import utcnow
from coordinator.state import CLOCK, ENGINE, Clock
from coordinator.tables import MessageFormat, OrganisationCreate, Role, Sector
from messages.identifiers import gln_check_digit
from tests.functional.pki import Pki, make_pki
from tests.functional.samples import receipt


def gln(n: int) -> str:
    """A test GLN with a correct GS1 check digit."""
    first12 = f"579{n:09d}"
    return first12 + str(gln_check_digit(first12))


GP_GLN, PPR_GLN, FAMILY_GLN, BUP_GLN = gln(1001), gln(2001), gln(3001), gln(4001)
PARTNER_NAMES = {
    PPR_GLN: "PPR Aalborg",
    FAMILY_GLN: "Familieafdelingen Aalborg",
    BUP_GLN: "BUP Aalborg",
    GP_GLN: "Lægehuset Vestbyen",
}


class TurnedClock:
    """Now, turned by the test: deadlines pass without waiting for them (``ahead`` may be
    set below zero too: a letter that arrived days ago)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.ahead

    def turn(self, by: timedelta) -> None:
        self.ahead += by


#: Only on PostgreSQL (for a test, or a module's ``pytestmark``): where several writers or
#: several hub processes share one database (SQLite has one writer).
POSTGRES_ONLY = pytest.mark.parametrize(
    "hub_db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def register(
    app: web.Application, organisation: OrganisationCreate, expires_at: datetime | None = None
) -> str:
    """Register ``organisation`` with ``app``'s hub: its system's token (which expires at
    ``expires_at``, if given)."""
    _, token = await register_organisation(
        actor=local_actor(), engine=app[ENGINE], organisation=organisation, expires_at=expires_at
    )
    return token


class Client:
    """One organisation's (or person's) view of the hub."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str, gln: str) -> None:
        self.session = session
        self.base = base
        self.token = token
        self.gln = gln

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(
        self, method: str, path: str, *, body: bytes | None = None, **kwargs: Any
    ) -> tuple[int, Any, bytes]:
        headers = dict(self.headers)
        headers.update(kwargs.pop("headers", {}))
        if body is not None:
            headers.setdefault("Content-Type", "application/xml")
        async with self.session.request(
            method, self.base + path, data=body, headers=headers, **kwargs
        ) as response:
            raw = await response.read()
            parsed: Any = None
            if response.content_type in ("application/json", "application/problem+json"):
                parsed = await response.json(content_type=None)
            return response.status, parsed, raw

    async def send(self, body: bytes) -> tuple[int, Any]:
        status, parsed, _ = await self.request("POST", "/v1/messages", body=body)
        return status, parsed

    async def inbox(self, wait: float = 0) -> list[dict[str, Any]]:
        status, parsed, _ = await self.request("GET", f"/v1/inbox?wait={wait}")
        assert status == 200, parsed
        messages: list[dict[str, Any]] = parsed["messages"]
        return messages

    async def fetch(self, message_id: str) -> bytes:
        status, parsed, raw = await self.request("GET", f"/v1/messages/{message_id}")
        assert status == 200, parsed
        return raw

    async def ack(self, message_id: str) -> dict[str, Any]:
        status, parsed, _ = await self.request("POST", f"/v1/messages/{message_id}/ack")
        assert status == 200, parsed
        result: dict[str, Any] = parsed
        return result

    async def take(self, message_id: str) -> bytes:
        """Fetch a letter and acknowledge it, as an organisation's system takes it in."""
        body = await self.fetch(message_id)
        await self.ack(message_id)
        return body

    async def send_receipt(
        self, to: str, envelope_id: str, letter_id: str, *, refuse_code: str | None = None
    ) -> tuple[int, Any]:
        """Send ``to`` this organisation's receipt for the letter it sent (``envelope_id``,
        ``letter_id``): XCTL03, or XCTL02 with ``refuse_code``."""
        return await self.send(
            receipt(
                sender=self.gln,
                receiver=to,
                original_envelope_id=envelope_id,
                original_letter_id=letter_id,
                refuse_code=refuse_code,
            )
        )

    async def status(self, message_id: str) -> dict[str, Any]:
        status, parsed, _ = await self.request("GET", f"/v1/messages/{message_id}/status")
        assert status == 200, parsed
        result: dict[str, Any] = parsed
        return result


class Partners(NamedTuple):
    """The four organisations around a child in Aalborg (:data:`PARTNER_NAMES`)."""

    ppr: Client
    family: Client
    bup: Client
    gp: Client


class Hub:
    def __init__(self, app: web.Application, base: str, session: aiohttp.ClientSession) -> None:
        self.app = app
        self.base = base
        self.session = session

    async def org(
        self,
        gln: str,
        sector: Sector = Sector.PPR,
        name: str = "Org",
        *,
        fmt: MessageFormat = MessageFormat.OIOXML,
        sor: str | None = None,
    ) -> Client:
        organisation = OrganisationCreate(gln=gln, name=name, sector=sector, format=fmt, sor=sor)
        return Client(self.session, self.base, await register(self.app, organisation), gln)

    async def gp_and_ppr(self) -> tuple[Client, Client]:
        """A GP and a PPR, the two ends of most exchanges."""
        return await self.org(GP_GLN, Sector.GP), await self.org(PPR_GLN, Sector.PPR)

    async def partners(self, sors: dict[str, str] | None = None) -> Partners:
        """PPR, the family department, child psychiatry and a GP, registered in that order
        under :data:`PARTNER_NAMES`; ``sors``: the SOR code of some of them, by GLN."""
        sectors = (Sector.PPR, Sector.FAMILY, Sector.PSYCHIATRY, Sector.GP)
        clients = [
            await self.org(number, sector, PARTNER_NAMES[number], sor=(sors or {}).get(number))
            for number, sector in zip(PARTNER_NAMES, sectors, strict=True)
        ]
        return Partners(*clients)

    async def user(
        self, gln: str, role: Role, name: str = "Test", *, expires_at: datetime | None = None
    ) -> Client:
        token = await add_user(
            actor=local_actor(),
            engine=self.app[ENGINE],
            org_gln=gln,
            name=name,
            role=role,
            expires_at=expires_at,
        )
        return Client(self.session, self.base, token, gln)

    def anonymous(self, token: str = "") -> Client:
        return Client(self.session, self.base, token, "")


Seen = list[tuple[str, str, int]]


def _recorder(seen: Seen) -> Any:
    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        resource = request.match_info.route.resource
        if resource is not None:
            seen.append((request.method, resource.canonical, response.status))
        return response

    return record


def check_against_openapi(seen: Seen) -> None:
    paths = DOCUMENT["paths"]
    for method, path, status in seen:
        assert path in paths, f"{path} is not in /v1/openapi.json"
        operation = paths[path].get(method.lower())
        assert operation is not None, f"{method} {path} is not in /v1/openapi.json"
        assert str(status) in operation["responses"], (
            f"{method} {path} answered {status}, which /v1/openapi.json does not document"
        )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A throw-away CA with the hub's and the organisations' certificates (for TLS hubs)."""
    return make_pki(tmp_path)


class Servers:
    """The hub applications a fixture serves, each on ``127.0.0.1`` (a free port; with TLS
    where the settings name a certificate); what they answer is checked against
    ``/v1/openapi.json`` once :meth:`stop` has stopped them all."""

    def __init__(self, runner: type[web.AppRunner] = web.AppRunner) -> None:
        self.runner = runner
        self.runners: list[web.AppRunner] = []
        self.seen: Seen = []

    async def start(
        self, settings: Settings, clock: Clock | None = None
    ) -> tuple[web.Application, int]:
        """The app the factory makes of ``settings`` (with ``clock``), served: it and its port."""
        app = create_app(settings)
        if clock is not None:
            app[CLOCK] = clock
        app.middlewares.insert(0, _recorder(self.seen))
        runner = self.runner(app, shutdown_timeout=5)
        await runner.setup()
        self.runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(settings)).start()
        port: int = runner.addresses[0][1]
        return app, port

    async def stop(self) -> None:
        for runner in reversed(self.runners):
            await runner.cleanup()
        check_against_openapi(self.seen)


MakeHub = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def make_hub(hub_db: str, tmp_path: Path) -> AsyncIterator[MakeHub]:
    servers = Servers(HubRunner)  # as `samspil serve` runs it
    sessions: list[aiohttp.ClientSession] = []

    async def make(*, clock: Clock | None = None, **overrides: Any) -> Hub:
        settings = Settings(
            environment="test", data_dir=tmp_path, database_url=hub_db, **overrides
        ).check()
        app, port = await servers.start(settings, clock)
        session = aiohttp.ClientSession()
        sessions.append(session)
        return Hub(app, f"http://127.0.0.1:{port}", session)

    yield make
    for session in sessions:
        await session.close()
    await servers.stop()


@pytest.fixture
async def hub(make_hub: MakeHub) -> Hub:
    return await make_hub()
