"""Simulated sector systems: what a clinic system, a hospital EHR and a municipal case
system do on their side of the adapters — in their own formats only.

* :class:`MllpClient` — a clinic's or EHR's HL7 sender: one MLLP connection, one message at a
  time, waits for the ACK, sends again after an ``AR`` or a dropped connection;
* :class:`Mailroom` — a system's MedCom folders: reads letters and receipts the adapter wrote
  to ``inbox/`` (and files them in ``inbox/read/``), writes letters to ``outbox/`` — OIOXML,
  or for a system that speaks MedCom FHIR, CareCommunications and Acknowledgements (JSON);
* :class:`EventWriter` — a municipal case system's JSON-lines events;
* :class:`PartnerEventReader` — the same case system taking in the partner events its
  adapter hands over (JSON-lines files), each event once by its id.

None of them imports the hub or touches its API: they see only the adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.filedrop import write_atomically
from messages.errors import Hl7Error, MessageError
from messages.fhir.convert.subject import category_and_topic
from messages.fhir.model import Acknowledgement, CareCommunication
from messages.fhir.read import read_fhir
from messages.hl7.mapping import encode, parse_message
from messages.hl7.mllp import MllpDecoder, read_frame, write_frame
from messages.medcom.documents import parse_message as parse_medcom
from messages.medcom.model import Correspondence, Receipt
from messages.medcom.registry import SchemaRegistry
from wire.client import HubClient
from wire.errors import HubError

__all__ = ["EventWriter", "Letter", "Mailroom", "MllpClient", "PartnerEventReader"]

Letter = Correspondence | CareCommunication
"""A letter as the system reads it: OIOXML, or FHIR for a system that speaks it."""


class MllpClient:
    """One HL7 sender with one connection to an adapter's MLLP listener."""

    def __init__(self, host: str, port: int, *, retry_delay: float = 0.2) -> None:
        self.host = host
        self.port = port
        self.retry_delay = retry_delay
        self.acks: dict[str, int] = {"AA": 0, "AE": 0, "AR": 0}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._decoder = MllpDecoder()
        self._lock = asyncio.Lock()

    async def send(self, er7: str, *, attempts: int = 50) -> str:
        """Send one message; the ``MSA-1`` code finally answered (AA or AE)."""
        async with self._lock:
            for _ in range(attempts):
                try:
                    code = await self._exchange(er7)
                except (OSError, asyncio.IncompleteReadError, Hl7Error, MessageError):
                    await self._close()
                    await asyncio.sleep(self.retry_delay)
                    continue
                self.acks[code] = self.acks.get(code, 0) + 1
                if code != "AR":
                    return code
                await asyncio.sleep(self.retry_delay)
            return "AR"

    async def ask(self, er7: str, *, attempts: int = 5) -> str | None:
        """Send a query (``QBP^Q11``) and return the answer (``RSP^K11``, ER7), or None when
        no answer came. Not counted with the feed's ACKs: a query is no message to deliver."""
        async with self._lock:
            for _ in range(attempts):
                try:
                    return (await self._roundtrip(er7)).decode("utf-8", "replace")
                except (OSError, asyncio.IncompleteReadError, Hl7Error, MessageError):
                    await self._close()
                    await asyncio.sleep(self.retry_delay)
            return None

    async def _roundtrip(self, er7: str) -> bytes:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            self._decoder = MllpDecoder()
        assert self._reader is not None
        await write_frame(self._writer, encode(er7))
        answer = await read_frame(self._reader, self._decoder)
        if answer is None:
            raise ConnectionResetError("the adapter closed the connection")
        return answer

    async def _exchange(self, er7: str) -> str:
        ack = parse_message(await self._roundtrip(er7))
        msa = ack.require("MSA")
        return msa.value(1)

    async def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def close(self) -> None:
        await self._close()


@dataclass(slots=True)
class MailStats:
    letters: int = 0
    receipts: int = 0
    negative: int = 0
    sent: int = 0


class Mailroom:
    """A system's MedCom folders, seen from the system's side."""

    def __init__(self, root: Path, registry: SchemaRegistry) -> None:
        self.root = root
        self.inbox = root / "inbox"
        self.outbox = root / "outbox"
        self.read = root / "inbox" / "read"
        self.registry = registry
        self.stats = MailStats()
        self._waiting: dict[str, asyncio.Future[Letter | None]] = {}
        self._arrived: dict[str, Letter | None] = {}
        self._names = itertools.count(1)
        self.on_letter: Callable[[Letter], None] | None = None

    def expect(self, subject: str) -> asyncio.Future[Letter | None]:
        """A future for the letter with this subject (already arrived, or to come; a
        CareCommunication's subject is its topic): the letter, or None for one its people
        have waiting in the hub (:class:`Desk`)."""
        future: asyncio.Future[Letter | None] = asyncio.get_running_loop().create_future()
        if subject in self._arrived:
            future.set_result(self._arrived.pop(subject))
        else:
            self._waiting[subject] = future
        return future

    def post(self, data: bytes, stem: str, *, suffix: str = ".xml") -> None:
        """Write a letter or receipt for the adapter to send (``outbox/``; ``.json`` for a
        FHIR bundle)."""
        write_atomically(self.outbox, f"{stem}-{next(self._names)}{suffix}", data)
        self.stats.sent += 1

    async def watch(self, interval: float = 0.1) -> None:
        await asyncio.to_thread(self.read.mkdir, parents=True, exist_ok=True)
        while True:
            for path in await asyncio.to_thread(self._new_files):
                await self._read_one(path)
            await asyncio.sleep(interval)

    def _new_files(self) -> list[Path]:
        try:
            return sorted(
                p
                for p in self.inbox.iterdir()
                if p.suffix in (".xml", ".json") and not p.name.startswith(".")
            )
        except FileNotFoundError:
            return []

    async def _read_one(self, path: Path) -> None:
        try:
            data = await asyncio.to_thread(path.read_bytes)
            message: Any = (
                read_fhir(data)
                if path.suffix == ".json"
                else parse_medcom(data, registry=self.registry)
            )
        except (OSError, MessageError):
            return
        await asyncio.to_thread(os.replace, path, self.read / path.name)
        if isinstance(message, Receipt | Acknowledgement):
            if message.positive:
                self.stats.receipts += 1
            else:
                self.stats.negative += 1
            return
        if not isinstance(message, Correspondence | CareCommunication):
            return
        self.stats.letters += 1
        subject = message.subject if isinstance(message, Correspondence) else message.topic
        self.arrived(subject or "", message)
        if self.on_letter is not None:
            self.on_letter(message)

    def arrived(self, subject: str, message: Letter | None) -> None:
        """A letter with ``subject`` arrived: in the case system (``message``), or in the
        hub's inbox for the organisation's people (None). A CareCommunication converted to
        an XDIS91 has "<category>, <topic>" for its Subject (MedCom's C7): it is known by
        its topic, as it is in FHIR."""
        subject = category_and_topic(subject)[1] if subject else subject
        waiting = self._waiting.pop(subject, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(message)
        else:
            self._arrived[subject] = message
            if len(self._arrived) > 10_000:  # nobody waits for these; keep memory bounded
                self._arrived.pop(next(iter(self._arrived)))


class Desk:
    """The caseworkers of an organisation whose people take its letters in (the hub's
    ``letters_consumed_by = people``), as the simulation sees them: they look at the inbox
    (``GET /v1/inbox``, a read-only listing) and a letter there has arrived. They leave it
    waiting for a person in the caseworker TUI: nothing is fetched or acknowledged."""

    def __init__(self, hub: HubClient, mailroom: Mailroom) -> None:
        self.hub = hub
        self.mailroom = mailroom
        self._seen: set[str] = set()

    async def watch(self, interval: float = 0.5) -> None:
        try:
            while True:
                with contextlib.suppress(HubError):
                    for entry in await self.hub.inbox(limit=1000):
                        if entry["id"] in self._seen or entry.get("type") != "XDIS91":
                            continue
                        self._seen.add(entry["id"])
                        self.mailroom.arrived(str(entry.get("subject") or ""), None)
                await asyncio.sleep(interval)
        finally:
            await self.hub.close()


@dataclass(slots=True)
class EventWriter:
    """A municipal case system publishing events as JSON-lines files."""

    folder: Path
    prefix: str
    _count: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    written: int = 0

    def write(self, *events: dict[str, Any]) -> None:
        n = next(self._count)
        body = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
        write_atomically(self.folder, f"{self.prefix}-{n:06d}.jsonl", body.encode("utf-8"))
        self.written += len(events)

    def event_id(self) -> str:
        return f"{self.prefix}-{next(self._count)}"


class PartnerEventReader:
    """A municipal case system taking in partner events: reads the JSON-lines files its
    adapter writes, keeps each event once by its ``id`` (a page handed over again is
    recognised), and removes the files it has read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[str] = set()
        self.repeats = 0
        self.types: dict[str, int] = {}

    async def watch(self, interval: float = 0.2) -> None:
        while True:
            await asyncio.to_thread(self.read_once)
            await asyncio.sleep(interval)

    def read_once(self) -> int:
        """Take in every waiting file; how many new events there were."""
        try:
            files = sorted(
                p
                for p in self.folder.iterdir()
                if p.suffix == ".jsonl" and not p.name.startswith(".")
            )
        except FileNotFoundError:
            return 0
        new = 0
        for path in files:
            try:
                lines = path.read_text("utf-8").splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("id") in self.seen:
                    self.repeats += 1
                    continue
                self.seen.add(event["id"])
                self.types[event["type"]] = self.types.get(event["type"], 0) + 1
                new += 1
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return new
