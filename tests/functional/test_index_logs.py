"""No CPR number, token or message body in any log line: the index and message flows run
against a hub started as ``samspil serve`` starts it, every log record at every level is
captured, and the records are scanned."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from coordinator import server
from coordinator.app import create_app
from coordinator.index.retention import run_retention
from coordinator.protocol import HubRunner
from coordinator.security.credentials import add_user, local_actor, register_organisation
from coordinator.settings import Settings
from coordinator.state import COMMITTER, ENGINE, SETTINGS
from coordinator.tables import OrganisationCreate, Role, Sector
from tests.functional.conftest import BUP_GLN, GP_GLN, PPR_GLN, Client, Hub
from tests.functional.index_samples import (
    appointment,
    call,
    case,
    consent,
    cpr_aged,
    ok,
    overview,
)
from tests.functional.samples import new_id, xdis91

LETTER_TEXT = "Fortroligt: Nancy har svært ved at sove og er bange for at gå i skole."


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + record.stack_info
        self.lines.append(f"{record.name} {record.levelname} {text}")


@pytest.fixture
async def logged_hub(hub_db: str, tmp_path: Path) -> AsyncIterator[tuple[Hub, Capture]]:
    """A hub with the runner ``samspil serve`` uses (no access log), every record captured."""
    assert "access_log=None" in inspect.getsource(server.serve)
    assert "HubRunner(" in inspect.getsource(server.serve)
    capture = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    runner = None
    try:
        settings = Settings(environment="test", data_dir=tmp_path, database_url=hub_db).check()
        runner = HubRunner(create_app(settings), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as session:
            yield Hub(runner.app, f"http://{host}:{port}", session), capture
    finally:
        if runner is not None:
            await runner.cleanup()  # the shutdown's log lines are scanned too
        root.removeHandler(capture)
        root.setLevel(old_level)


async def test_no_cpr_token_or_body_in_any_log_line(logged_hub: tuple[Hub, Capture]) -> None:
    hub, capture = logged_hub
    engine = hub.app[ENGINE]
    tokens: list[str] = []

    async def org(gln: str, sector: Sector) -> Client:
        _, token = await register_organisation(
            actor=local_actor(),
            engine=engine,
            organisation=OrganisationCreate(gln=gln, name=gln, sector=sector),
        )
        tokens.append(token)
        return Client(hub.session, hub.base, token, gln)

    ppr, bup, gp = (
        await org(PPR_GLN, Sector.PPR),
        await org(BUP_GLN, Sector.PSYCHIATRY),
        await org(GP_GLN, Sector.GP),
    )
    user_token = await add_user(
        actor=local_actor(), engine=engine, org_gln=PPR_GLN, name="Sara", role=Role.CASEWORKER
    )
    tokens.append(user_token)
    caseworker = Client(hub.session, hub.base, user_token, PPR_GLN)
    children = [cpr_aged(9), cpr_aged(16), cpr_aged(23, days=2)]
    bad_cprs = ["3102154321", "0101x54321", "9999999999"]

    # the index: entries, consents, overviews with disclosures, refusals, retention
    for child in children:
        await ok(ppr, "PUT", f"/v1/cases/P{child[-4:]}", case(child))
        await ok(bup, "PUT", f"/v1/cases/B{child[-4:]}", case(child, kind="psychiatric-treatment"))
        await ok(gp, "PUT", f"/v1/appointments/G{child[-4:]}", appointment(child))
        relation = "self" if child == children[1] else "custodial-parent"
        if child != children[2]:
            recorded = await ok(
                ppr,
                "POST",
                f"/v1/children/{child}/consents",
                consent(["ppr", "psychiatry", "gp"], relation=relation),
            )
        await overview(ppr, child)
        await overview(caseworker, child)
        await ok(bup, "GET", f"/v1/children/{child}/access-log")
        await call(gp, "GET", f"/v1/children/{child}/overview")  # 403: no case
        await call(ppr, "GET", f"/v1/children/{child}/overview", person=None)  # 400
        await call(ppr, "PUT", f"/v1/cases/P{child[-4:]}", case(cpr_aged(5)))  # 409
    await ok(ppr, "DELETE", f"/v1/children/{children[1]}/consents/{recorded['id']}")
    await ok(gp, "GET", "/v1/access-notifications")
    for bad in bad_cprs:
        await call(ppr, "PUT", "/v1/cases/BAD", case(bad))
        await call(ppr, "GET", f"/v1/children/{bad}/overview")
    await run_retention(hub.app[COMMITTER], hub.app[SETTINGS])

    # the hub: a letter with a CPR and a confidential text, its receipt, and refusals
    envelope_id, letter_id = new_id("K"), new_id("B")
    letter = xdis91(
        sender=GP_GLN,
        receiver=PPR_GLN,
        text=LETTER_TEXT,
        envelope_id=envelope_id,
        letter_id=letter_id,
    )
    status, sent = await gp.send(letter)
    assert status == 202
    await gp.send(letter)  # a duplicate
    [entry] = await ppr.inbox()
    await ppr.take(entry["id"])
    assert (await ppr.send_receipt(GP_GLN, envelope_id, letter_id))[0] == 202
    assert (await gp.status(sent["id"]))["status"] == "receipted"
    await gp.send(xdis91(sender=GP_GLN, receiver="5790000000999", text=LETTER_TEXT))
    await gp.send(letter.replace(b"</Emessage>", b"<Broken>"))
    await gp.send(xdis91(sender=PPR_GLN, receiver=GP_GLN, text=LETTER_TEXT))  # not the sender
    await caseworker.request("GET", "/v1/inbox", headers={"Authorization": "Bearer smp_nope"})
    await hub.session.get(hub.base + "/metrics")

    assert capture.lines, "the run logged nothing: the capture is not working"
    secrets = [*children, *bad_cprs, "2512489996", *tokens, "smp_nope"]
    secrets += [LETTER_TEXT, "Nancy", "Berggren", "Fortroligt"]
    for line in capture.lines:
        for secret in secrets:
            assert secret not in line, f"a log line holds a secret: {line[:200]!r}"
