"""The real hub over real HTTP on a real port, on SQLite and on PostgreSQL.

``hub_db`` is parametrised: a SQLite file in ``tmp_path``, and (marked ``postgres``) a fresh
PostgreSQL database per test, created on the server of ``postgres_url`` and dropped after.
``make_hub(**settings)`` starts the app factory's application on ``127.0.0.1:0``;
``make_hub(clock=TurnedClock())`` gives the expiry sweep and the letter retention a clock a
test can turn;
``hub.org(...)`` registers an organisation and returns a client holding its token. Every
response a test sees is checked against ``/v1/openapi.json`` when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from coordinator.app import create_app
from coordinator.openapi import DOCUMENT
from coordinator.protocol import HubRunner
from coordinator.security.credentials import add_user, local_actor, register_organisation
from coordinator.settings import Settings
from coordinator.sqltypes import utcnow
from coordinator.state import CLOCK, ENGINE, Clock
from coordinator.tables import MessageFormat, OrganisationCreate, Role, Sector
from messages.identifiers import gln_check_digit


def gln(n: int) -> str:
    """A test GLN with a correct GS1 check digit."""
    first12 = f"579{n:09d}"
    return first12 + str(gln_check_digit(first12))


GP_GLN, PPR_GLN, FAMILY_GLN, BUP_GLN = gln(1001), gln(2001), gln(3001), gln(4001)


class TurnedClock:
    """Now, turned by the test: deadlines pass without waiting for them (``ahead`` may be
    set below zero too: a letter that arrived days ago)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.ahead

    def turn(self, by: timedelta) -> None:
        self.ahead += by


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

    async def status(self, message_id: str) -> dict[str, Any]:
        status, parsed, _ = await self.request("GET", f"/v1/messages/{message_id}/status")
        assert status == 200, parsed
        result: dict[str, Any] = parsed
        return result


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
        _, token = await register_organisation(
            actor=local_actor(),
            engine=self.app[ENGINE],
            organisation=OrganisationCreate(gln=gln, name=name, sector=sector, format=fmt, sor=sor),
        )
        return Client(self.session, self.base, token, gln)

    async def user(self, gln: str, role: Role) -> Client:
        token = await add_user(
            actor=local_actor(), engine=self.app[ENGINE], org_gln=gln, name="Test", role=role
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


MakeHub = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def make_hub(hub_db: str, tmp_path: Path) -> AsyncIterator[MakeHub]:
    runners: list[web.AppRunner] = []
    sessions: list[aiohttp.ClientSession] = []
    seen: Seen = []

    async def make(*, clock: Clock | None = None, **overrides: Any) -> Hub:
        settings = Settings(
            environment="test", data_dir=tmp_path, database_url=hub_db, **overrides
        ).check()
        app = create_app(settings)
        if clock is not None:
            app[CLOCK] = clock
        app.middlewares.insert(0, _recorder(seen))
        runner = HubRunner(app, shutdown_timeout=5)  # as `samspil serve` runs it
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        session = aiohttp.ClientSession()
        sessions.append(session)
        return Hub(app, f"http://{host}:{port}", session)

    yield make
    for session in sessions:
        await session.close()
    for runner in reversed(runners):
        await runner.cleanup()
    check_against_openapi(seen)


@pytest.fixture
async def hub(make_hub: MakeHub) -> Hub:
    return await make_hub()
