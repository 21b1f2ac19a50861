"""``samspil demo``: a hub on embedded SQLite, with a GP clinic, PPR and child psychiatry
exchanging MedCom correspondence and receipts through it over real HTTP.

Everything is real: the hub is the one ``samspil serve`` runs, the letters are built and
validated by the message layer, and every step goes through the hub's public API. The
simulated pilot region (all five municipalities, psychiatry and 15 GP clinics with their
adapters) will take this module's place in ``make demo``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from coordinator.app import create_app
from coordinator.db import create_engine, migrate
from coordinator.settings import Settings
from coordinator.store import create_organisation, create_user
from coordinator.tables import OrganisationCreate, Role, Sector
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message, parse_message
from messages.medcom.model import Correspondence, Party, Patient, Priority
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry


@dataclass(frozen=True, slots=True)
class DemoOrg:
    gln: str
    name: str
    sector: Sector
    municipality: str | None = None

    def party(self) -> Party:
        return Party(
            ean=self.gln,
            identifier=self.gln,
            identifier_code="lokationsnummer",
            organisation_name=self.name,
        )


# Synthetic location numbers (valid GS1 check digits) for the pilot's kinds of partner.
GP = DemoOrg("5790000120314", "Lægehuset Vestbyen", Sector.GP)
PPR = DemoOrg("5790000121441", "PPR Aalborg", Sector.PPR, "851")
BUP = DemoOrg("5790001382445", "Børne- og Ungdomspsyk.", Sector.PSYCHIATRY)
ORGS = (GP, PPR, BUP)

# Plainly fictitious children: valid dates, serial numbers no real person is given.
CHILDREN = (
    Patient(cpr="1203164321", surname="Jensen", given_name="Mads"),
    Patient(cpr="0507124322", surname="Nielsen", given_name="Freja"),
    Patient(cpr="2110094323", surname="Hansen", given_name="Oliver"),
)
LETTERS = (
    (
        "Henvisning til PPR-vurdering",
        "Kære PPR\nVi henviser til en pædagogisk-psykologisk vurdering.",
    ),
    ("Status fra almen praksis", "Barnet er set i dag. Forældrene ønsker et fælles møde."),
    ("Spørgsmål om udredning", "Kan I oplyse, hvornår udredningen forventes afsluttet?"),
)


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            if preferred <= 0:
                raise OSError("no preferred port")
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            return port


def _say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)


async def _register(settings: Settings) -> dict[str, str]:
    engine = create_engine(settings.resolved_database_url)
    tokens: dict[str, str] = {}
    try:
        await migrate(engine)
        for org in ORGS:
            _, token = await create_organisation(
                engine=engine,
                organisation=OrganisationCreate(
                    gln=org.gln, name=org.name, sector=org.sector, municipality=org.municipality
                ),
            )
            tokens[org.gln] = token
        tokens["operator"] = await create_user(
            engine=engine, org_gln=PPR.gln, name="Demo Operatør", role=Role.OPERATOR
        )
    finally:
        await engine.dispose()
    return tokens


class Client:
    """One organisation's view of the hub's HTTP API."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.session = session
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}

    async def send(self, data: bytes) -> tuple[int, dict[str, Any]]:
        async with self.session.post(
            f"{self.base}/v1/messages",
            data=data,
            headers={**self.headers, "Content-Type": "application/xml"},
        ) as response:
            return response.status, await response.json()

    async def get_json(self, path: str) -> Any:
        async with self.session.get(f"{self.base}{path}", headers=self.headers) as response:
            response.raise_for_status()
            return await response.json()

    async def fetch(self, message_id: str) -> bytes:
        async with self.session.get(
            f"{self.base}/v1/messages/{message_id}", headers=self.headers
        ) as response:
            response.raise_for_status()
            return await response.read()

    async def ack(self, message_id: str) -> None:
        async with self.session.post(
            f"{self.base}/v1/messages/{message_id}/ack", headers=self.headers
        ) as response:
            response.raise_for_status()


async def _round(
    n: int, clients: dict[str, Client], registry: SchemaRegistry, rng: random.Random
) -> None:
    sender, receiver = rng.choice([(GP, PPR), (GP, BUP), (BUP, PPR), (PPR, GP)])
    subject, text = rng.choice(LETTERS)
    child = rng.choice(CHILDREN)
    letter = new_correspondence(
        sender=sender.party(),
        receiver=receiver.party(),
        patient=child,
        subject=subject,
        text=text,
        priority=Priority.ROUTINE,
        ask_for_receipt=True,
    )
    started = time.perf_counter()
    status, answer = await clients[sender.gln].send(build_message(letter))
    message_id = answer["id"]
    _say(
        f"#{n:<3} {sender.name} → {receiver.name}: XDIS91 «{subject}» {answer['status']} ({status})"
    )
    again, repeat = await clients[sender.gln].send(build_message(letter))
    same = repeat["id"] == message_id
    _say(f"     the same letter again: {again}, same id: {same} (no second delivery)")

    inbox = await clients[receiver.gln].get_json("/v1/inbox?wait=5&limit=10")
    for item in inbox["messages"]:
        body = await clients[receiver.gln].fetch(item["id"])
        received = parse_message(body, registry=registry)
        await clients[receiver.gln].ack(item["id"])
        if isinstance(received, Correspondence) and received.envelope.wants_positive_receipt:
            receipt = build_message(receipt_for(received))
            await clients[receiver.gln].send(receipt)
            _say(f"     {receiver.name} fetched, acknowledged and sent a positive receipt (XCTL03)")
    waited = 0.0
    while waited < 5:
        state = await clients[sender.gln].get_json(f"/v1/messages/{message_id}/status")
        if state["status"] == "receipted":
            break
        await asyncio.sleep(0.05)
        waited += 0.05
    trail = " → ".join(event["status"] for event in state["events"])
    elapsed = (time.perf_counter() - started) * 1000
    _say(f"     {sender.name} sees: {trail}  ({elapsed:.0f} ms)")
    sender_inbox = await clients[sender.gln].get_json("/v1/inbox?limit=10")
    for item in sender_inbox["messages"]:  # the receipt, delivered to the sender
        await clients[sender.gln].fetch(item["id"])
        await clients[sender.gln].ack(item["id"])


async def run_demo(*, rounds: int, port: int, keep_running: bool, seed: int) -> int:
    data_dir = Path.cwd() / "var" / "demo"
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob("samspil.sqlite*"):
        stale.unlink()
    settings = Settings(environment="development", data_dir=data_dir, port=_free_port(port))
    tokens = await _register(settings)
    token_file = data_dir / "tokens.txt"
    token_file.write_text("".join(f"{name}\t{token}\n" for name, token in tokens.items()))
    token_file.chmod(0o600)

    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    base = f"http://127.0.0.1:{settings.port}"
    print(f"Samspil hub on embedded SQLite at {base}  (database: {data_dir / 'samspil.sqlite'})")
    for org in ORGS:
        print(f"  registered {org.name:<24} {org.gln}  {org.sector.value}")
    print(f"  tokens for trying the API yourself: {token_file}\n")
    registry = SchemaRegistry()
    rng = random.Random(seed)
    try:
        async with aiohttp.ClientSession() as session:
            clients = {org.gln: Client(session, base, tokens[org.gln]) for org in ORGS}
            operator = Client(session, base, tokens["operator"])
            counter = itertools.count(1) if rounds <= 0 else iter(range(1, rounds + 1))
            for n in counter:
                await _round(n, clients, registry, rng)
                await asyncio.sleep(0.5)
            summary = await operator.get_json("/v1/operator/summary")
            print("\nOperator summary (/v1/operator/summary):")
            for key, value in summary.items():
                if not isinstance(value, list | dict):
                    print(f"  {key}: {value}")
            if keep_running:
                print(f"\nThe hub keeps running at {base} — Ctrl-C stops it.")
                await asyncio.Event().wait()
    finally:
        await runner.cleanup()
    return 0


def main(*, rounds: int, port: int, keep_running: bool | None, seed: int) -> int:
    stay = sys.stdin.isatty() if keep_running is None else keep_running
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run_demo(rounds=rounds, port=port, keep_running=stay, seed=seed))
    return 0


__all__ = ["main", "run_demo"]
