"""Partner events handed to the municipal case system, against the real hub and the real
municipal adapter on real ports: a case system's webhook (an aiohttp server of the test's
own) and its folder receive other organisations' changes about the municipality's own
children, only under consent, each page logged by the hub; a restart loses and doubles
nothing (a page handed over again is recognised by its events' ids)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from adapters.config import PartnerEventsConfig, load_config
from adapters.errors import AdapterConfigError
from adapters.municipality import MunicipalityAdapter
from adapters.partner_events import CURSOR
from coordinator.index.tables import ACCESS_LOG, CHANGE, CONSENT, DISCLOSURE
from coordinator.state import ENGINE
from coordinator.tables import Sector
from messages.hl7.samples import CHILD_CPR, PPR_GLN
from tests.adapters.conftest import BUP_GLN, MakeAdapter, RestartableHub, eventually
from wire.client import HubClient
from wire.index import ConsentVerification

SECRET = "sagssystemets-hemmelighed-0123456789"  # noqa: S105 - a test secret


class CaseSystem:
    """The municipal case system's webhook: keeps every event line by id, counts repeats;
    ``fail`` answers that many POSTs with a 500 *after* keeping their events (the case system
    has them, the adapter does not know it)."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.repeats = 0
        self.posts = 0
        self.fail = 0
        self.refused = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/samspil/partner-events", self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/samspil/partner-events"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SECRET}":
            self.refused += 1
            return web.Response(status=401)
        assert request.content_type == "application/x-ndjson"
        self.posts += 1
        for line in (await request.text()).splitlines():
            event = json.loads(line)
            if event["id"] in self.events:
                self.repeats += 1
            else:
                self.events[event["id"]] = event
                self.order.append(event["id"])
        if self.fail:
            self.fail -= 1
            return web.Response(status=500)
        return web.Response(status=204)

    def kinds(self) -> list[tuple[str, str]]:
        return [(self.events[i]["organisation"], self.events[i]["type"]) for i in self.order]


@pytest.fixture
async def case_system() -> AsyncIterator[CaseSystem]:
    system = CaseSystem()
    await system.start()
    yield system
    await system.stop()


async def _municipality(make_adapter: MakeAdapter, **delivery: Any) -> MunicipalityAdapter:
    config = PartnerEventsConfig(poll_interval=0.05, page=delivery.pop("page", 100), **delivery)
    adapter = await make_adapter("municipality", PPR_GLN, partner_events=config)
    assert isinstance(adapter, MunicipalityAdapter)
    return adapter


async def _bup(hub: RestartableHub) -> HubClient:
    return HubClient(hub.url, await hub.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg"))


async def _head(hub: RestartableHub) -> str:
    assert hub.app is not None
    async with hub.app[ENGINE].connect() as conn:
        return str(await conn.scalar(select(func.coalesce(func.max(CHANGE.c.seq), 0))))


async def _settled(hub: RestartableHub, adapter: MunicipalityAdapter) -> None:
    """Wait until the adapter's stored cursor is the hub's last change: everything up to it
    was read, and handed over where there was anything to hand."""
    head = await _head(hub)

    async def caught_up() -> bool:
        return await adapter.db.recall(CURSOR) == head

    await eventually(caught_up, within=20.0)


async def _views(hub: RestartableHub) -> list[tuple[str, str, bool, list[str]]]:
    assert hub.app is not None
    async with hub.app[ENGINE].connect() as conn:
        rows = (
            await conn.execute(
                select(ACCESS_LOG)
                .where(ACCESS_LOG.c.viewer_org == PPR_GLN)
                .order_by(ACCESS_LOG.c.at)
            )
        ).all()
        owners = {
            r.id: sorted(
                await conn.scalars(
                    select(DISCLOSURE.c.owner_org).where(DISCLOSURE.c.access_id == r.id)
                )
            )
            for r in rows
        }
    return [(r.kind, r.viewer_person, r.on_behalf_of, owners[r.id]) for r in rows]


def _case(kind: str, status: str = "active") -> dict[str, Any]:
    body: dict[str, Any] = {
        "child_cpr": CHILD_CPR,
        "kind": kind,
        "status": status,
        "opened_on": "2026-01-05",
        "contact": {"name": "Søren Bach", "role": "overlæge"},
    }
    if status == "closed":
        body["closed_on"] = "2026-02-01"
    return body


def _appointment(hours: float, status: str = "booked") -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
    return {
        "child_cpr": CHILD_CPR,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "status": status,
        "location": "BUP Aalborg, ambulatoriet",
        "with": {"name": "Søren Bach", "role": "overlæge"},
    }


async def _consent(hub: RestartableHub, ppr: MunicipalityAdapter) -> str:
    """A custodial parent's consent for PPR and psychiatry, recorded by the PPR and marked
    verified (as if the consent service had signed it); its id."""
    recorded = await ppr.hub.add_consent(
        CHILD_CPR,
        {
            "given_by_name": "Mette Nielsen",
            "relation": "custodial-parent",
            "form": "digital",
            "sectors": ["ppr", "psychiatry"],
        },
    )
    assert hub.app is not None
    async with hub.app[ENGINE].begin() as conn:
        await conn.execute(
            update(CONSENT)
            .where(CONSENT.c.id == uuid.UUID(recorded["id"]))
            .values(verification=ConsentVerification.VERIFIED.value)
        )
    return str(recorded["id"])


async def test_the_case_systems_webhook_hears_partners_only_under_consent(
    hub: RestartableHub, make_adapter: MakeAdapter, case_system: CaseSystem
) -> None:
    ppr = await _municipality(make_adapter, url=case_system.url, token=SECRET)
    bup = await _bup(hub)
    try:
        # no own active case: nothing of the child
        await bup.put_case("B-1", _case("psychiatric-assessment"))
        await _settled(hub, ppr)
        assert case_system.events == {}
        # an own case, no consent: nothing of psychiatry
        await ppr.hub.put_case("P-1", _case("ppr-assessment"))
        await bup.put_appointment("BA-1", _appointment(30))
        await _settled(hub, ppr)
        assert (case_system.events, case_system.posts) == ({}, 0)
        assert await _views(hub) == []

        consent = await _consent(hub, ppr)
        await bup.put_appointment("BA-1", _appointment(50))  # moved
        await bup.put_case("B-2", _case("psychiatric-assessment"))
        await _settled(hub, ppr)
        assert case_system.kinds() == [
            (BUP_GLN, "appointment-moved"),
            (BUP_GLN, "case-opened"),
        ]
        moved = case_system.events[case_system.order[0]]
        assert moved["child_cpr"] == CHILD_CPR
        assert "BA-1" not in json.dumps(moved)
        assert "ref" not in moved["appointment"]
        # each page the case system got was logged first: per child, naming the system
        views = await _views(hub)
        assert views
        assert all(v[0] == "partner-events" for v in views)
        assert all((v[2], v[3]) == (False, [BUP_GLN]) for v in views)
        assert views[0][1] == f"municipality {PPR_GLN} system"  # the adapter's system token
        assert len(views) == case_system.posts

        # revoked: nothing from the next delivery on
        await ppr.hub.revoke_consent(CHILD_CPR, consent)
        await bup.put_appointment("BA-1", _appointment(70, status="cancelled"))
        await bup.put_case("B-2", _case("psychiatric-assessment", status="closed"))
        await _settled(hub, ppr)
        assert len(case_system.events) == 2
        assert len(await _views(hub)) == len(views)
        assert case_system.repeats == 0
        assert ppr.health()["partner_events_delivered"] == 2
    finally:
        await bup.close()


async def test_a_restart_mid_stream_loses_and_doubles_nothing(
    hub: RestartableHub, make_adapter: MakeAdapter, case_system: CaseSystem
) -> None:
    bup = await _bup(hub)
    first = await _municipality(make_adapter, url=case_system.url, token=SECRET, page=2)
    try:
        await first.hub.put_case("P-1", _case("ppr-assessment"))
        await _consent(hub, first)
        await first.stop()  # the changes come while the adapter is away
        for n in range(5):
            await bup.put_appointment(f"BA-{n}", _appointment(24 + n))
        # the case system takes the first page but its answer is lost (a 500): the adapter
        # must hand it over again, and the case system must know it by the events' ids
        case_system.fail = 1
        second = await _municipality(make_adapter, url=case_system.url, token=SECRET, page=2)
        await eventually(lambda: _at_least(case_system, 3))
        await second.stop()  # mid-stream
        for n in range(5, 7):
            await bup.put_appointment(f"BA-{n}", _appointment(24 + n))
        third = await _municipality(make_adapter, url=case_system.url, token=SECRET, page=2)
        await _settled(hub, third)
    finally:
        await bup.close()
    assert case_system.kinds() == [(BUP_GLN, "appointment-booked")] * 7
    assert len(set(case_system.order)) == 7
    assert case_system.repeats >= 2  # the page whose answer was lost came again, recognised
    ids = [int(i) for i in case_system.order]
    assert ids == sorted(ids)


async def _at_least(system: CaseSystem, n: int) -> bool:
    return len(system.events) >= n


async def test_the_case_systems_folder_gets_a_file_per_page(
    hub: RestartableHub, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    folder = tmp_path / "sag" / "partner-events"
    ppr = await _municipality(make_adapter, folder=folder)
    bup = await _bup(hub)
    try:
        await ppr.hub.put_case("P-1", _case("ppr-assessment"))
        await _consent(hub, ppr)
        await bup.put_case("B-1", _case("psychiatric-assessment"))
        await _settled(hub, ppr)
    finally:
        await bup.close()
    [written] = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert written.name.startswith("partner-events-")
    assert written.suffix == ".jsonl"
    [line] = written.read_text("utf-8").splitlines()
    event = json.loads(line)
    assert (event["type"], event["organisation"], event["case"]["kind"]) == (
        "case-opened",
        BUP_GLN,
        "psychiatric-assessment",
    )


def test_partner_events_are_configured_in_the_toml_file(tmp_path: Path) -> None:
    (tmp_path / "case.token").write_text(SECRET + "\n")
    path = tmp_path / "kommune.toml"
    base = f"""
[hub]
url = "http://127.0.0.1:8080"
token = "t"
[organisation]
gln = "{PPR_GLN}"
name = "PPR"
[filedrop]
root = "medcom"
[events]
folder = "events"
"""
    path.write_text(
        base + '[partner_events]\nurl = "https://sag.local/pe"\n'
        'token_file = "case.token"\npage = 50\n'
    )
    config = load_config("municipality", path).partner_events
    assert config is not None
    assert (config.url, config.token, config.page, config.folder) == (
        "https://sag.local/pe",
        SECRET,
        50,
        None,
    )
    path.write_text(base + '[partner_events]\nfolder = "ud"\n')
    config = load_config("municipality", path).partner_events
    assert config is not None
    assert config.folder == tmp_path / "ud"
    for bad in ("", 'folder = "ud"\nurl = "https://x"\n', 'url = "ftp://x"\n', "page = 0\n"):
        path.write_text(base + "[partner_events]\n" + bad)
        with pytest.raises(AdapterConfigError):
            load_config("municipality", path)
