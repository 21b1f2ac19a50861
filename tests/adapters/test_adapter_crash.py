"""Crash test for an adapter: ``kill -9`` the GP adapter mid-batch; restart; repeat.

The clinic speaks OIOXML at the hub, or MedCom FHIR: then its adapter sends each referral
as a CareCommunication, whose form (and FHIR ids) it fixes before the first try — a resend
after a kill repeats them, and the hub converts it into an XDIS91 for PPR once.

The adapter runs as its own process (``samspil adapter gp --config FILE``) against a real
hub. While it runs, four clinic senders (python-hl7's MLLP client) stream ``REF^I12``
referrals, one at a time each, and the clinic writes letters into its MedCom ``outbox/``.
Each round the adapter is killed with SIGKILL while both are under way, then started again.

A clinic sender treats a lost connection or a missing ACK as an HL7 engine does: it sends
the same message (same ``MSH-10``) again once the adapter is back. The durable outbox's
promise, checked at the end: every referral that got an ``AA`` and every file that left
``outbox/`` reached the receiver **exactly once**, and nothing else did.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from hl7.mllp import open_hl7_connection

from adapters.filedrop import write_atomically
from coordinator.tables import MessageFormat, Sector
from messages.fhir.convert.subject import category_and_topic
from messages.hl7.build import build_referral
from messages.hl7.samples import GP_GLN, PPR_GLN, make_referral, make_routing
from messages.medcom.documents import parse_message
from messages.medcom.model import Correspondence
from messages.medcom.registry import SchemaRegistry
from tests.adapters.conftest import RestartableHub
from tests.adapters.processes import adapter_argv, write_config
from tests.adapters.test_filedrop import letter_bytes
from tests.commands import free_port
from wire.client import HubClient

REGISTRY = SchemaRegistry()
ROUNDS = 3
SENDERS = 4


def _config(root: Path, hub: RestartableHub, token: str, port: int) -> Path:
    return write_config(
        root,
        "gp",
        hub.url,
        token,
        f"""
[adapter]
data_dir = "state"
poll_wait = 1.0

[mllp]
host = "127.0.0.1"
port = {port}

[filedrop]
root = "medcom"
poll_interval = 0.05

[outbox]
base_delay = 0.05
max_delay = 0.5
""",
    )


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}


def _spawn(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        adapter_argv("gp", config),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _start(config: Path, port: int) -> subprocess.Popen[bytes]:
    process = _spawn(config)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the adapter did not start"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return process
    raise AssertionError("the adapter's MLLP listener did not come up")


class Clinic:
    """The clinic system's HL7 senders: every referral is sent until it gets an ACK."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.acked: dict[str, str] = {}  # referral id -> ACK code
        self.resent = 0
        self._n = 0

    async def sender(self, number: int, stop: asyncio.Event) -> None:
        connection = None
        while not stop.is_set():
            self._n += 1
            referral_id = f"HEN-C{number}-{self._n:05d}"
            er7 = build_referral(
                make_referral(referral_id=referral_id),
                make_routing(),
                control_id=f"CRASH-{referral_id}",
            ).encode("utf-8")
            first = True
            while True:  # the same message until it is acknowledged
                if not first:
                    self.resent += 1
                first = False
                try:
                    if connection is None:
                        connection = await open_hl7_connection(
                            "127.0.0.1", self.port, encoding="utf-8"
                        )
                    reader, writer = connection
                    writer.writeblock(er7)
                    await writer.drain()
                    block = await asyncio.wait_for(reader.readblock(), 10)
                except (OSError, asyncio.IncompleteReadError, TimeoutError):
                    if connection is not None:
                        connection[1].close()
                    connection = None
                    await asyncio.sleep(0.1)
                    continue
                code = block.decode("utf-8").split("\r")[1].split("|")[1]
                self.acked[referral_id] = code
                break
        if connection is not None:
            connection[1].close()


@pytest.mark.parametrize("clinic_format", [MessageFormat.OIOXML, MessageFormat.FHIR])
async def test_kill_9_the_gp_adapter_mid_batch_loses_and_doubles_nothing(
    hub: RestartableHub, tmp_path: Path, clinic_format: MessageFormat
) -> None:
    gp_token = await hub.org(
        GP_GLN, Sector.GP, name="Lægehuset Vestbyen", fmt=clinic_format, sor=f"10{GP_GLN}"
    )
    ppr_token = await hub.org(PPR_GLN, Sector.PPR, name="PPR Aalborg", sor=f"10{PPR_GLN}")
    port = free_port()
    config = _config(tmp_path, hub, gp_token, port)
    outbox, sent = tmp_path / "medcom" / "outbox", tmp_path / "medcom" / "sent"
    clinic = Clinic(port)
    files: dict[str, str] = {}  # file name -> letter id
    stop = asyncio.Event()
    senders: list[asyncio.Task[None]] = []

    async def clinic_files() -> None:  # the clinic keeps writing letters, adapter up or not
        n = 0
        while not stop.is_set():
            body = letter_bytes(GP_GLN, PPR_GLN)
            name = f"letter-{n:04d}.xml"
            files[name] = parse_message(body, registry=REGISTRY).letter_identifier
            await asyncio.to_thread(write_atomically, outbox, name, body)
            n += 1
            await asyncio.sleep(0.03)

    for _ in range(ROUNDS):
        process = await _start(config, port)
        if not senders:
            senders = [asyncio.create_task(clinic.sender(n, stop)) for n in range(SENDERS)]
            senders.append(asyncio.create_task(clinic_files()))
        await asyncio.sleep(0.8)
        process.send_signal(signal.SIGKILL)  # mid-batch: referrals and files under way
        process.wait()
        await asyncio.sleep(0.3)

    process = await _start(config, port)
    try:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*senders), 60)
        assert len(clinic.acked) > 20
        assert set(clinic.acked.values()) == {"AA"}, Counter(clinic.acked.values())
        assert clinic.resent >= 1  # kills really cut senders off mid-message

        async def files_gone() -> bool:
            return not await asyncio.to_thread(lambda: list(outbox.glob("*.xml")))

        deadline = time.monotonic() + 30
        while not await files_gone():
            assert time.monotonic() < deadline, "files stayed in outbox/"
            await asyncio.sleep(0.1)
        assert sorted(p.name for p in sent.glob("*.xml")) == sorted(files)

        receiver = HubClient(hub.url, ppr_token)
        try:
            letters: Counter[str] = Counter()
            converted = 0  # letters the clinic's adapter sent as CareCommunications
            expected = len(clinic.acked) + len(files)
            deadline = time.monotonic() + 60
            while True:  # the receiver drains its inbox: fetch, read, acknowledge
                entries = await receiver.inbox(limit=200)
                for entry in entries:
                    letter = parse_message(await receiver.fetch(entry["id"]), registry=REGISTRY)
                    assert isinstance(letter, Correspondence)
                    # a CareCommunication's XDIS91 Subject is "Andet, <topic>" (C7)
                    subject = category_and_topic(letter.subject)[1]
                    converted += subject != letter.subject
                    if subject.startswith("Henvisning "):
                        letters[subject.removeprefix("Henvisning ")] += 1
                    else:
                        letters[letter.letter_identifier] += 1
                    await receiver.ack(entry["id"])
                if not entries and sum(letters.values()) >= expected:
                    break
                assert time.monotonic() < deadline, (sum(letters.values()), expected)
                if not entries:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # anything doubled would arrive now
            assert await receiver.inbox() == []
        finally:
            await receiver.close()
        doubled = {key: n for key, n in letters.items() if n > 1}
        assert not doubled, doubled
        fhir = clinic_format is MessageFormat.FHIR
        assert converted == (len(clinic.acked) if fhir else 0)  # the referrals, not the files
        assert set(letters) == set(clinic.acked) | set(files.values())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
