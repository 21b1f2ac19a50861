"""The terminal UIs against a real hub (SQLite, a real port), and with fixed answers.

* ``tui_hub``: the app factory's hub on ``127.0.0.1:0`` with a GP, a PPR and a child
  psychiatry organisation, a caseworker at PPR and an operator; ``tui_hub.client(token)``
  makes the UI's own :class:`~wire.client.HubClient`; ``tui_hub.consent(...)`` records a
  parent's consent. SQLite only: the hub's behaviour on PostgreSQL is the functional tests'
  business, the UI's is the same over HTTP.
* ``fixed_hub``: a :class:`HubClient` whose transport answers from a table
  (:class:`FixedAnswers`) — for the SVG snapshots, which must not depend on live data, the
  clock or generated ids.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from coordinator.app import create_app
from coordinator.security.credentials import add_user, local_actor, register_organisation
from coordinator.settings import Settings
from coordinator.state import CLOCK, ENGINE, Clock
from coordinator.tables import LettersConsumedBy, OrganisationCreate, Role, Sector
from messages.identifiers import gln_check_digit
from tui.base import HubApp
from wire.client import JSON, PROBLEM_JSON, XML, HubClient
from wire.transport import MockTransport, Request, Response

FIXED_NOW = datetime(2026, 12, 2, 13, 32, tzinfo=UTC)  # 14:32 in Copenhagen


def gln(n: int) -> str:
    first12 = f"579{n:09d}"
    return first12 + str(gln_check_digit(first12))


GP, PPR, BUP = gln(120314), gln(121441), gln(1382445)
CHILD = "1203164321"  # 12.03.2016, plainly fictitious
OTHER_CHILD = "0502184411"


@dataclass
class TuiHub:
    app: web.Application
    base: str
    session: aiohttp.ClientSession
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[HubClient] = field(default_factory=list)

    def client(self, who: str) -> HubClient:
        client = HubClient(self.base, self.tokens[who])
        self.clients.append(client)
        return client

    async def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kwargs.pop("headers", {})}
        async with self.session.request(
            method, self.base + path, headers=headers, **kwargs
        ) as response:
            assert response.status < 300, (response.status, await response.text())
            if response.content_type == "application/json":
                return await response.json()
            return await response.read()

    async def consent(
        self,
        who: str,
        given_by: str,
        form: str,
        *,
        sectors: tuple[str, ...] = ("ppr", "psychiatry"),
        cpr: str = CHILD,
        **kwargs: Any,
    ) -> Any:
        """``who`` records a custodial parent's consent for ``cpr``: the hub's answer."""
        body = {"given_by_name": given_by, "relation": "custodial-parent", "form": form}
        return await self.call(
            who,
            "POST",
            f"/v1/children/{cpr}/consents",
            json={**body, "sectors": list(sectors)},
            **kwargs,
        )


async def start_hub(
    tmp_path: Path, port: int = 0, *, clock: Clock | None = None, **overrides: Any
) -> web.AppRunner:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}",
        **overrides,
    ).check()
    app = create_app(settings)
    if clock is not None:  # the expiry sweep's clock, turned forward by the test
        app[CLOCK] = clock
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def seed(hub: TuiHub) -> None:
    engine = hub.app[ENGINE]
    # PPR's caseworkers take its letters in with the app (no PPR adapter runs here); the
    # others' systems take theirs
    for key, number, name, sector, owner in (
        ("gp", GP, "Lægehuset Vestbyen", Sector.GP, LettersConsumedBy.SYSTEM),
        ("ppr", PPR, "PPR Aalborg", Sector.PPR, LettersConsumedBy.PEOPLE),
        ("bup", BUP, "Børne- og Ungdomspsyk.", Sector.PSYCHIATRY, LettersConsumedBy.SYSTEM),
    ):
        _, hub.tokens[key] = await register_organisation(
            actor=local_actor(),
            engine=engine,
            organisation=OrganisationCreate(
                gln=number, name=name, sector=sector, letters_consumed_by=owner
            ),
        )
    hub.tokens["pia"] = await add_user(
        actor=local_actor(), engine=engine, org_gln=PPR, name="Pia Psykolog", role=Role.CASEWORKER
    )
    hub.tokens["operator"] = await add_user(
        actor=local_actor(), engine=engine, org_gln=PPR, name="Ole Operatør", role=Role.OPERATOR
    )
    today = datetime.now(UTC)
    for who, ref, kind, person, phone in (
        ("ppr", "ppr-1", "ppr-assessment", "Pia Psykolog", "99 99 99 99"),
        ("bup", "bup-1", "psychiatric-assessment", "Bo Overlæge", "88 88 88 88"),
    ):
        await hub.call(
            who,
            "PUT",
            f"/v1/cases/{ref}",
            json={
                "child_cpr": CHILD,
                "kind": kind,
                "status": "active",
                "opened_on": (today - timedelta(days=60)).date().isoformat(),
                "contact": {"name": person, "role": "behandler", "phone": phone},
            },
        )
    start = (today + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    await hub.call(
        "bup",
        "PUT",
        "/v1/appointments/bup-a1",
        json={
            "child_cpr": CHILD,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "status": "booked",
            "with": {"name": "Bo Overlæge", "role": "samtale, overlæge"},
        },
    )


MakeTuiHub = Callable[..., Any]


@pytest.fixture
async def make_tui_hub(tmp_path: Path) -> AsyncIterator[MakeTuiHub]:
    """``await make_tui_hub(**settings)``: a seeded hub; everything closed afterwards."""
    made: list[tuple[web.AppRunner, TuiHub]] = []

    async def make(**overrides: Any) -> TuiHub:
        runner = await start_hub(tmp_path, **overrides)
        host, port = runner.addresses[0][:2]
        hub = TuiHub(runner.app, f"http://{host}:{port}", aiohttp.ClientSession())
        made.append((runner, hub))
        await seed(hub)
        return hub

    yield make
    for runner, hub in made:
        for client in hub.clients:
            await client.close()
        await hub.session.close()
        await runner.cleanup()


@pytest.fixture
async def tui_hub(make_tui_hub: MakeTuiHub) -> TuiHub:
    hub: TuiHub = await make_tui_hub()
    return hub


async def until(pilot: Any, check: Callable[[], bool], within: float = 10.0) -> None:
    """Let the app run until ``check()`` holds (workers finish, timers fire)."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the screen did not get there in time")
        await pilot.pause(0.05)


def screen_text(app: HubApp) -> str:
    """Everything the current screen shows, as plain text (for assertions)."""
    from textual.widgets import DataTable, OptionList, Static

    parts: list[str] = []
    for widget in app.screen.query("*"):
        if isinstance(widget, Static):
            parts.append(str(widget.render()))
        elif isinstance(widget, DataTable):
            for row in range(widget.row_count):
                parts.append(" ".join(str(c) for c in widget.get_row_at(row)))
        elif isinstance(widget, OptionList):
            for index in range(widget.option_count):
                parts.append(str(widget.get_option_at_index(index).prompt))
    return "\n".join(parts)


# --- fixed answers for the snapshots ------------------------------------------------------


class FixedAnswers:
    """A hub that answers from ``routes``: (method, path without its query) -> a JSON answer,
    bytes for an XML one, or a whole :class:`Response` (a refusal: :func:`problem_answer`);
    nothing live. ``down``: it answers nothing at all."""

    def __init__(self, routes: dict[tuple[str, str], Any], *, down: bool = False) -> None:
        self.routes = routes
        self.down = down

    def __call__(self, request: Request) -> Response:
        if self.down:
            raise ConnectionRefusedError("the hub is down (fixed)")
        answer = self.routes[(request.method, request.path.split("?")[0])]
        if isinstance(answer, Response):
            return answer
        if isinstance(answer, bytes):
            return Response(200, {"content-type": XML}, answer)
        return Response(200, {"content-type": JSON}, json.dumps(answer).encode())


def problem_answer(status: int, code: str, detail: str) -> Response:
    """The hub's problem+json refusal, as its problem middleware writes it."""
    body = {"type": f"https://samspil.dk/problems/{code}", "status": status}
    body |= {"code": code, "detail": detail}
    return Response(status, {"content-type": PROBLEM_JSON}, json.dumps(body).encode())


def fixed_hub(routes: dict[tuple[str, str], Any], *, down: bool = False) -> HubClient:
    """The UI's own client, its transport serving ``routes`` (see :class:`FixedAnswers`)."""
    transport = MockTransport(FixedAnswers(routes, down=down))
    return HubClient("http://hub.invalid", "fixed", transport=transport)


def fixed_clock() -> datetime:
    return FIXED_NOW
