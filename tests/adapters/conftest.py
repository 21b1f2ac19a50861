"""Real adapters against a real hub over real HTTP (SQLite), and the sector systems' side.

* ``hub`` — a :class:`RestartableHub`: the app factory's application on a fixed port of
  127.0.0.1, which a test may :meth:`~RestartableHub.stop` and :meth:`~RestartableHub.start`
  again on the same database (the outage test);
* ``make_adapter(kind, gln, **overrides)`` — registers the organisation, writes nothing to
  disk but its folders, starts a real adapter (MLLP on a free port) and stops it afterwards;
* ``mllp_send(port, er7)`` — python-hl7's asyncio MLLP client, an independent implementation,
  sends one message and returns the ACK it got (as python-hl7 parsed it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import hl7
import pytest
from aiohttp import web
from hl7.mllp import open_hl7_connection

from adapters.base import Adapter
from adapters.config import AdapterConfig, EventsConfig, FileDropConfig, MllpConfig
from adapters.gp import GpAdapter
from adapters.municipality import MunicipalityAdapter
from adapters.outbox import OutboxSettings
from adapters.psychiatry import PsychiatryAdapter
from coordinator.app import create_app
from coordinator.security.credentials import add_user, local_actor, register_organisation
from coordinator.settings import Settings
from coordinator.state import ENGINE
from coordinator.tables import MessageFormat, OrganisationCreate, Role, Sector
from messages.errors import IdentifierError
from messages.hl7.model import COPENHAGEN
from messages.hl7.samples import CHILD_CPR, GP_GLN, PPR_GLN
from messages.identifiers import gln_check_digit, parse_cpr
from tests.commands import free_port


def gln(n: int) -> str:
    first12 = f"579{n:09d}"
    return first12 + str(gln_check_digit(first12))


BUP_GLN = gln(4_001)
FAMILY_GLN = gln(3_001)
OTHER_GP_GLN = gln(1_002)

ADAPTERS: dict[str, type[Adapter]] = {
    "gp": GpAdapter,
    "psychiatry": PsychiatryAdapter,
    "municipality": MunicipalityAdapter,
}
SECTORS = {"gp": Sector.GP, "psychiatry": Sector.PSYCHIATRY, "municipality": Sector.PPR}


class RestartableHub:
    """The real hub on a fixed port; stop and start it again on the same database (a SQLite
    file in ``data_dir`` unless ``database_url`` names another)."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            environment="test",
            data_dir=data_dir,
            database_url=database_url or f"sqlite+aiosqlite:///{data_dir / 'hub.sqlite'}",
        ).check()
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self.tokens: dict[str, str] = {}

    async def start(self) -> None:
        self.app = create_app(self.settings)
        self._runner = web.AppRunner(self.app, shutdown_timeout=2, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self.app = None

    async def org(
        self,
        gln: str,
        sector: Sector,
        name: str = "Org",
        *,
        fmt: MessageFormat = MessageFormat.OIOXML,
        sor: str | None = None,
    ) -> str:
        assert self.app is not None
        if gln not in self.tokens:
            _, token = await register_organisation(
                actor=local_actor(),
                engine=self.app[ENGINE],
                organisation=OrganisationCreate(
                    gln=gln, name=name, sector=sector, format=fmt, sor=sor
                ),
            )
            self.tokens[gln] = token
        return self.tokens[gln]

    async def user(self, gln: str, role: Role = Role.CASEWORKER) -> str:
        assert self.app is not None
        return await add_user(
            actor=local_actor(), engine=self.app[ENGINE], org_gln=gln, name="Test", role=role
        )


_TEN_DIGITS = re.compile(r"(?<![\d-])\d{6}-?\d{4}(?![\d-])")


def case_event(event_id: str, ref: str = "PPR-W1", status: str = "active") -> dict[str, Any]:
    """A municipality's event: PPR's assessment ``ref`` of the sample child, opened today
    (and, if ``status`` is ``closed``, closed today)."""
    today = datetime.now(COPENHAGEN).date().isoformat()
    event = {
        "id": event_id,
        "type": "case",
        "ref": ref,
        "child_cpr": CHILD_CPR,
        "kind": "ppr-assessment",
        "status": status,
        "opened_on": today,
    }
    if status == "closed":
        event["closed_on"] = today
    return event


def mothers_consent(event_id: str) -> dict[str, Any]:
    """A municipality's event: the mother's written consent for PPR and psychiatry to share
    the sample child's data, in force from a minute ago (ref ``SAMTYKKE-1``)."""
    return {
        "id": event_id,
        "type": "consent",
        "ref": "SAMTYKKE-1",
        "child_cpr": CHILD_CPR,
        "given_by_name": "Mor Sørensen",
        "relation": "custodial-parent",
        "form": "written",
        "sectors": ["ppr", "psychiatry"],
        "valid_from": (datetime.now(COPENHAGEN) - timedelta(minutes=1)).isoformat(),
    }


def assert_clean_logs(records: list[logging.LogRecord], secrets: list[str]) -> None:
    """No log line holds a valid CPR number or one of ``secrets`` (tokens)."""
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in secrets:
            assert secret not in text, f"a token in a log line from {record.name}"
        for match in _TEN_DIGITS.findall(text):
            with contextlib.suppress(IdentifierError):
                parse_cpr(match)
                raise AssertionError(f"a CPR number in a log line from {record.name}")


@pytest.fixture
def hub_database_url() -> str | None:
    """The hub's database: its SQLite file. A module that runs on both engines overrides it
    with ``hub_db`` (tests/conftest.py)."""
    return None


@pytest.fixture
async def hub(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, hub_database_url: str | None
) -> AsyncIterator[RestartableHub]:
    caplog.set_level(logging.INFO)
    (tmp_path / "hub").mkdir()
    running = RestartableHub(tmp_path / "hub", hub_database_url)
    await running.start()
    yield running
    await running.stop()
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert_clean_logs(records, list(running.tokens.values()))


MakeAdapter = Callable[..., Awaitable[Any]]


@pytest.fixture
async def make_adapter(hub: RestartableHub, tmp_path: Path) -> AsyncIterator[MakeAdapter]:
    started: list[Adapter] = []

    async def make(
        kind: str, org_gln: str, *, sector: Sector | None = None, start: bool = True, **over: Any
    ) -> Adapter:
        token = await hub.org(org_gln, sector or SECTORS[kind], name=f"{kind} {org_gln}")
        root = tmp_path / f"{kind}-{org_gln}"
        values: dict[str, Any] = {
            "kind": kind,
            "hub_url": hub.url,
            "token": token,
            "gln": org_gln,
            "name": f"{kind} {org_gln}",
            "data_dir": root / "state",
            "filedrop": FileDropConfig(root=root / "medcom", poll_interval=0.05),
            "outbox": OutboxSettings(base_delay=0.05, max_delay=0.3),
            "poll_wait": 1.0,
        }
        if kind in ("gp", "psychiatry"):
            values["mllp"] = MllpConfig(port=0)
        if kind == "municipality":
            values["events"] = EventsConfig(folder=root / "events", poll_interval=0.05)
        values.update(over)
        adapter = ADAPTERS[kind](AdapterConfig(**values))
        if start:
            await adapter.start()
            started.append(adapter)
        return adapter

    yield make
    for adapter in reversed(started):
        await adapter.stop(grace=1.0)


async def mllp_send(port: int, er7: str | bytes, *, within: float = 10.0) -> Any:
    """Send one message with python-hl7's asyncio MLLP client; the parsed ACK."""
    reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="utf-8")
    try:
        data = er7.encode("utf-8") if isinstance(er7, str) else er7
        writer.writeblock(data)
        await writer.drain()
        block = await asyncio.wait_for(reader.readblock(), within)
        return hl7.parse(block.decode("utf-8"))
    finally:
        writer.close()
        await writer.wait_closed()


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float = 10.0) -> Any:
    """Poll ``check`` until it returns something truthy (then return it) or time runs out."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.05)


__all__ = [
    "BUP_GLN",
    "FAMILY_GLN",
    "GP_GLN",
    "PPR_GLN",
    "RestartableHub",
    "eventually",
    "mllp_send",
]
