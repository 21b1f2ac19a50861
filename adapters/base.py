"""The adapter base: what every sector adapter does the same way.

Contract
--------
An :class:`Adapter` sits beside one organisation's sector system and talks to the hub with
that organisation's system token.

``await adapter.start()``
    Opens the adapter's SQLite file (outbox and state), starts its owned tasks — the outbox
    sender, the inbox poller, the file-drop scanner and the sector side (an MLLP listener, an
    events folder...) — and returns once the sector side accepts input (a listener is bound:
    :attr:`mllp_port` is known). Raises :class:`~adapters.errors.OutboxError` when the
    SQLite file cannot be opened and :class:`~adapters.errors.AdapterError` when the sector
    side cannot start (a port in use); nothing is left running then. The hub need not be up.

``await adapter.stop(grace)``
    Stops accepting from the sector system, lets in-flight work finish for up to
    ``grace`` seconds, cancels the owned tasks, closes the SQLite file and the HTTP
    session, and logs one summary line. Never raises: a step that fails is logged (which
    step, the error's code and type, never its message) and the other steps still run.
    Calling it twice is harmless. Anything accepted and not yet sent stays in the outbox
    and goes out on the next start.

``async with adapter:`` does both.

Guarantees
----------
* **Outgoing**: whatever the sector system handed over and was acknowledged to it (an HL7
  ``AA``, a file moved to ``sent/``, an event line processed) is in the durable outbox
  first; the outbox retries until the hub takes or refuses it (:mod:`adapters.outbox`).
* **Incoming**: a message is acknowledged to the hub only after :meth:`Adapter.deliver`
  handed it to the sector system; a message handed over but not yet acknowledged when the
  adapter stopped is not handed over a second time (the ids are remembered).
* **Receipts**: when a delivered letter's sender asked for a positive receipt, the adapter
  sends the XCTL03 itself once the letter is in the system's inbox — unless
  ``[filedrop] receipts = "system"``: then the system behind the file drop writes its own
  (:class:`~adapters.config.ReceiptsBy`). One receipt per letter: a second one is refused by
  the hub (``already-receipted``), which the adapter takes as final and quietly.
* **Refusals**: a letter the hub refuses for good (an unknown receiver, say) comes back to
  the system as an XCTL01 negative network receipt in its inbox, carrying the hub's code (a
  CareCommunication as its ``fatal-error`` Acknowledgement).
* **Format**: a letter the adapter writes itself (:meth:`Adapter.written_letter_request`)
  goes in the organisation's format at the hub, OIOXML or MedCom FHIR
  (:mod:`adapters.letterform`); receipts answer each letter in the format it came in.
* **Logs**: key=value lines without CPR numbers, tokens or letter text.
* **Health**: with ``[adapter] status_port`` the adapter serves ``GET /healthz`` (200 or 503),
  ``GET /status`` (:meth:`Adapter.health` as JSON: queue depth and counters) and
  ``GET /metrics`` (Prometheus text, :mod:`adapters.metrics`) on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from aiohttp import web

from adapters.config import AdapterConfig, ReceiptsBy
from adapters.errors import AdapterCredentialsRefused, AdapterError
from adapters.filedrop import FileDrop
from adapters.letterform import OWN_FORMAT, LetterForms
from adapters.localdb import LocalDb
from adapters.logsafe import where
from adapters.metrics import AdapterCounters, render
from adapters.outbox import SETTLED, Item, ItemKind, Outbox, Request
from messages.errors import MessageError, ReceiptRuleError, RefuseCode, SamspilError
from messages.fhir.answer import acknowledgement_for
from messages.fhir.build import build_fhir
from messages.fhir.model import AckCode, CareCommunication
from messages.fhir.read import FhirMessage, read_fhir
from messages.medcom.documents import MedcomMessage, build_message, parse_message
from messages.medcom.model import Correspondence
from messages.medcom.receipts import negative_network_receipt, receipt_for
from messages.medcom.registry import SchemaRegistry
from messages.medcom.routing import read_routing
from wire.client import FHIR_JSON, JSON, XML, HubClient, Json
from wire.errors import CredentialRefused, HubRefused, HubUnavailable

__all__ = ["NAME_MAX", "Adapter", "path_segment"]

NAME_MAX = 35
"""MedCom's limit on an organisation name in a letter (``Text1to35``)."""

log = logging.getLogger(__name__)

PEOPLE_TAKE_LETTERS = "letters-consumed-by-people"
"""The hub's 409 code when the organisation's people take its letters in (the caseworker
app): the adapter pauses its inbox, losing nothing, and asks again now and then."""
PEOPLE_PAUSE_SECONDS = 30.0
PEOPLE_WARNING = (
    "the organisation's letters are taken in by its people in the Samspil app: this adapter "
    "does not fetch them (sending goes on)"
)


def path_segment(ref: str) -> str:
    """A sector system's reference as one segment of a hub path (``/``, ``?``... escaped)."""
    return quote(ref, safe="")


class Adapter:
    """Base of the sector adapters; subclasses add their sector side (see the module doc)."""

    kind: ClassVar[str] = "adapter"
    default_case_kind: ClassVar[str] = ""

    def __init__(self, config: AdapterConfig, *, registry: SchemaRegistry | None = None) -> None:
        self.config = config
        self.registry = registry or SchemaRegistry()
        self.hub = HubClient(
            config.hub_url,
            config.token,
            connections=config.outbox.concurrency,
            ca_file=config.ca_file,
            client_cert=config.client_cert,
            client_key=config.client_key,
        )
        self.db = LocalDb(config.data_dir / "adapter.sqlite")
        self.letter_forms = LetterForms(self.hub, config.gln, registry=self.registry)
        self.outbox = Outbox(
            self.db,
            self.hub,
            config.outbox,
            prepare=self._prepare,
            on_refused=self._counted_refusal,
            on_sent=self._counted_sending,
        )
        assert config.filedrop is not None  # checked by AdapterConfig
        self.filedrop = FileDrop(
            config.filedrop,
            registry=self.registry,
            own_gln=config.gln,
            submit=self._submit_file,
            network_gln=config.network_gln,
        )
        self.counters = AdapterCounters()
        self.delivered = 0
        self.delivery_failures = 0
        self.started_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._status_runner: web.AppRunner | None = None
        self.status_port: int | None = None
        """The port ``/healthz``, ``/status`` and ``/metrics`` are served on, once started."""
        self._stopped = True
        self.letters_taken_by_people = False
        """Set while the hub says the organisation's people take its letters in (409
        ``letters-consumed-by-people``): the inbox is not polled, only asked again."""
        self.people_pause = PEOPLE_PAUSE_SECONDS
        self._hub_ok = True
        """Set while the hub refuses the adapter's credentials (401/403): shown on
        ``/status`` (``warnings``), ``/healthz`` answers 503, and logged at every refusal."""

    @property
    def case_kind(self) -> str:
        return self.config.case_kind or self.default_case_kind

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.name!r}, {self.config.gln})"

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self.started_at = time.time()
        await asyncio.to_thread(self.filedrop.ensure_folders)
        await self.db.open()
        await self.outbox.open()
        self._stopped = False
        try:
            await self._check_credentials()
            await self._start_sector()
            if self.config.status_port is not None:
                await self._start_status(self.config.status_port)
        except BaseException:
            await self.stop()
            raise
        self._own(self.outbox.run(), "outbox")
        self._own(self._poll_inbox(), "inbox")
        self._own(self.filedrop.run(), "filedrop")
        self._own(self._housekeeping(), "housekeeping")
        log.info("adapter started kind=%s org=%s hub=%s", self.kind, self.config.gln, self.hub)

    async def stop(self, grace: float = 5.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self._stop_step("sector", self._stop_sector(grace))
        await self._stop_step("drain", self.outbox.drain(min(grace, 2.0)))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)  # _task_ended logged them
        self._tasks.clear()
        if self._status_runner is not None:
            await self._stop_step("status", self._status_runner.cleanup())
            self._status_runner = None
        await self._stop_step("outbox", self.outbox.close())
        await self._stop_step("hub", self.hub.close())
        await self._stop_step("database", self.db.close())
        stats = self.outbox.stats
        log.info(
            "adapter stopped kind=%s org=%s stored=%d sent=%d refused=%d pending=%d delivered=%d",
            self.kind,
            self.config.gln,
            stats.stored,
            stats.sent,
            stats.refused,
            self.outbox.depth,
            self.delivered,
        )

    async def _stop_step(self, step: str, work: Awaitable[object]) -> None:
        """One step of :meth:`stop`: a failure is logged (the error's code and where it was
        raised, never its message) and the next step still runs."""
        try:
            await work
        except Exception as exc:
            log.error(
                "adapter stop step=%s failed kind=%s org=%s code=%s error=%s",
                step,
                self.kind,
                self.config.gln,
                exc.code if isinstance(exc, SamspilError) else "-",
                where(exc),
            )

    async def __aenter__(self) -> Adapter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _own(self, work: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work, name=f"{self.kind}-{name}")
        task.add_done_callback(self._task_ended)
        self._tasks.append(task)

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("adapter task %s ended: %s", task.get_name(), where(error))

    async def _housekeeping(self, every: float = 3600.0) -> None:
        """Forget sent items whose keys are past ``keep_sent``, once an hour."""
        while True:
            await asyncio.sleep(every)
            removed = await self.outbox.prune()
            if removed:
                log.info("outbox pruned items=%d", removed)

    async def _start_sector(self) -> None:
        """Start the sector side (subclasses)."""

    async def _stop_sector(self, grace: float) -> None:
        """Stop accepting from the sector side (subclasses)."""

    # --- health ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """State, queue depth and counters: what ``/status`` shows and the simulation prints."""
        stats = self.outbox.stats
        refused = self.outbox.credential_refused
        warnings = [self.outbox.credential_warning] if refused else []
        if self.letters_taken_by_people:
            warnings.append(PEOPLE_WARNING)
        state = "unauthorized" if refused else "degraded" if stats.hub_down_since else "ok"
        return {
            "kind": self.kind,
            "organisation": self.config.gln,
            "status": state,
            "warnings": warnings,
            "hub_reachable": stats.hub_down_since is None and self._hub_ok,
            "credential_refused": refused,
            "letters_consumed_by": "people" if self.letters_taken_by_people else "system",
            "outbox_depth": self.outbox.depth,
            "stored": stats.stored,
            "sent": stats.sent,
            "refused": stats.refused,
            "retries": stats.retries,
            "duplicates": stats.duplicates,
            "delivered": self.delivered,
            "delivery_failures": self.delivery_failures,
            "files_sent": self.filedrop.sent,
            "files_rejected": self.filedrop.rejected,
            "uptime_seconds": round(time.time() - self.started_at, 1),
        }

    def metrics(self) -> str:
        """Prometheus text: what ``GET /metrics`` serves (:mod:`adapters.metrics`)."""
        return render(self.health(), self.counters)

    async def _start_status(self, port: int) -> None:
        async def healthz(request: web.Request) -> web.Response:
            health = self.health()
            return web.json_response(
                {"status": health["status"]}, status=200 if health["status"] == "ok" else 503
            )

        async def status(request: web.Request) -> web.Response:
            return web.json_response(self.health())

        async def metrics(request: web.Request) -> web.Response:
            return web.Response(
                text=self.metrics(),
                content_type="text/plain",
                charset="utf-8",
                headers={"X-Content-Type-Options": "nosniff"},
            )

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/status", status)
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._status_runner = runner
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.status_port = int(runner.addresses[0][1])
        log.info("status served on 127.0.0.1:%d (/healthz, /status, /metrics)", self.status_port)

    # --- outgoing ---------------------------------------------------------------------------

    @staticmethod
    def letter_request(body: bytes, message: MedcomMessage, origin: str) -> Request:
        """The outbox request for a MedCom message; keyed by envelope and letter ids."""
        letter_id = message.letter_identifier
        sender = message.sender.ean if hasattr(message, "sender") else message.sender_ean
        key = f"msg:{sender}:{message.envelope.identifier}:{letter_id}"
        return Request(
            key=key,
            kind=ItemKind.MESSAGE,
            method="POST",
            path="/v1/messages",
            body=body,
            content_type=XML,
            origin=origin,
        )

    @classmethod
    def written_letter_request(cls, body: bytes, letter: MedcomMessage, origin: str) -> Request:
        """The outbox request for a letter the adapter wrote (not its system): sent in the
        organisation's format at the hub, OIOXML or MedCom FHIR (:mod:`adapters.letterform`)."""
        return replace(cls.letter_request(body, letter, origin), content_type=OWN_FORMAT)

    @staticmethod
    def json_request(
        key: str,
        kind: ItemKind,
        method: str,
        path: str,
        payload: Any,
        *,
        order_key: str,
        origin: str,
        ref: str | None = None,
    ) -> Request:
        return Request(
            key=key,
            kind=kind,
            method=method,
            path=path,
            body=json.dumps(payload, ensure_ascii=False).encode(),
            content_type=JSON,
            order_key=order_key,
            origin=origin,
            ref=ref,
        )

    @staticmethod
    def fhir_request(body: bytes, message: FhirMessage, origin: str) -> Request:
        """The outbox request for a MedCom FHIR bundle; keyed by its sender and Bundle.id."""
        return Request(
            key=f"fhir:{message.sender.gln}:{message.bundle_id}",
            kind=ItemKind.MESSAGE,
            method="POST",
            path="/v1/messages",
            body=body,
            content_type=FHIR_JSON,
            origin=origin,
        )

    async def _submit_file(
        self, data: bytes, message: MedcomMessage | FhirMessage, origin: str
    ) -> None:
        if isinstance(message, MedcomMessage):
            await self.outbox.put(self.letter_request(data, message, origin))
        else:
            await self.outbox.put(self.fhir_request(data, message, origin))

    async def _prepare(self, item: Item) -> Item:
        """Fill in what was not known when the item was stored: a letter the adapter wrote
        gets its organisation's format, kept for every later try (:mod:`adapters.letterform`);
        subclasses add theirs."""
        if item.content_type != OWN_FORMAT or item.body is None:
            return item
        body, content_type = await self.letter_forms.form(item.body)
        return await self.outbox.rewrite(item, body=body, content_type=content_type)

    async def _counted_sending(self, item: Item, result: Any) -> None:
        self.counters.sent[item.kind] += 1
        self.counters.hub_answered()
        await self._sent(item, result)

    async def _check_credentials(self, within: float = 5.0) -> None:
        """A hub that refuses the adapter's credentials is a start-up error (the sector
        system's messages would all be refused); a hub that does not answer is not: the
        outbox keeps what comes until it does, and ``/status`` warns if it then refuses."""
        try:
            async with asyncio.timeout(within):
                await self.hub.inbox(wait=0, limit=1)
        except CredentialRefused as exc:
            if exc.status:
                raise AdapterCredentialsRefused(
                    f"the hub at {self.config.hub_url} refuses this adapter's credentials "
                    f"({exc.status} {exc.code}): check [hub] token / token_file / client_cert "
                    "and [organisation] gln"
                ) from None
            log.warning("credentials not checked at start-up: the hub said %s", exc.code)
        except HubRefused as exc:  # the credential works; the people take the letters in
            if exc.code != PEOPLE_TAKE_LETTERS:
                raise
            self._letters_taken_by_people(True)
        except (HubUnavailable, TimeoutError):
            log.warning("hub not reachable at start-up; credentials checked once it answers")

    async def _counted_refusal(self, item: Item, error: HubRefused) -> None:
        if error.code in SETTLED:
            # the letter has its receipt (the system's or ours): nothing was lost
            log.info("receipt item=%d not needed: the letter already has one", item.id)
            self.counters.hub_answered()
            return
        self.counters.refused[item.kind] += 1
        if error.status:  # the hub answered (a refusal before sending has no status)
            self.counters.hub_answered()
        await self._refused(item, error)

    async def _sent(self, item: Item, result: Any) -> None:
        """An item the hub took (subclasses may remember what it answered)."""

    async def _refused(self, item: Item, error: HubRefused) -> None:
        """A letter refused for good goes back to the system as an XCTL01 (a FHIR letter as
        a negative Acknowledgement)."""
        if item.kind is not ItemKind.MESSAGE or item.body is None:
            return
        if item.content_type == FHIR_JSON:
            await self._refused_fhir(item, item.body, error)
            return
        try:
            routing = read_routing(item.body, registry=self.registry)
        except MessageError:
            return
        if routing.type.is_receipt:
            return  # a receipt is never receipted
        code = (
            RefuseCode(error.code)
            if error.code in {c.value for c in RefuseCode}
            else RefuseCode.NOT_SPECIFIED
        )
        receipt = negative_network_receipt(
            routing,
            network_id=self.config.network_gln,
            refuse_code=code,
            text=f"Samspil kunne ikke aflevere brevet: {error.code}",
            now=datetime.now(UTC),
        )
        name = f"XCTL01_refused_{routing.envelope_identifier}.xml"
        await self.filedrop.write_inbox(name, build_message(receipt))
        log.info("refusal returned as XCTL01 item=%d code=%s", item.id, error.code)

    async def _refused_fhir(self, item: Item, body: bytes, error: HubRefused) -> None:
        """MedCom FHIR has no network receipt: a CareCommunication refused for good comes
        back as the ``fatal-error`` Acknowledgement of it, carrying the hub's code."""
        try:
            message = read_fhir(body)
        except MessageError:
            return
        if not isinstance(message, CareCommunication):
            return  # an Acknowledgement is never acknowledged
        ack = acknowledgement_for(
            message,
            now=datetime.now(UTC),
            code=AckCode.FATAL_ERROR,
            details=f"Samspil kunne ikke aflevere brevet: {error.code}",
        )
        name = f"XCTL01_refused_{message.bundle_id}.json"
        await self.filedrop.write_inbox(name, build_fhir(ack))
        log.info("refusal returned as an Acknowledgement item=%d code=%s", item.id, error.code)

    # --- incoming ---------------------------------------------------------------------------

    async def deliver(self, entry: Json, body: bytes) -> None:
        """Hand one message to the sector system; raise to have it tried again later.

        The default writes it to the file drop's ``inbox/`` (named after the hub's id) and,
        for a letter whose sender asked for one, stores the XCTL03 in the outbox.
        """
        if entry.get("format") == "fhir":  # the organisation speaks FHIR (JSON, from the hub)
            await self.filedrop.write_inbox(f"{entry['type']}_{entry['id']}.json", body)
            await self._acknowledgement(entry, body)
            return
        await self.filedrop.write_inbox(f"{entry['type']}_{entry['id']}.xml", body)
        await self._positive_receipt(entry, body)

    async def _acknowledgement(self, entry: Json, body: bytes) -> None:
        """A FHIR letter is always acknowledged (MedCom's FHIR messaging): the adapter sends
        the Acknowledgement, unless the system behind the file drop writes its own."""
        if entry["type"] != "XDIS91" or self.filedrop.config.receipts is ReceiptsBy.SYSTEM:
            return
        try:
            message = read_fhir(body)
        except MessageError:
            return
        if not isinstance(message, CareCommunication):
            return
        ack = acknowledgement_for(message, now=datetime.now(UTC))
        request = self.fhir_request(build_fhir(ack), ack, f"receipt:{entry['id']}")
        await self.outbox.put(replace(request, key=f"receipt:{entry['id']}"))

    async def _positive_receipt(self, entry: Json, body: bytes) -> None:
        if entry["type"] != "XDIS91" or self.filedrop.config.receipts is ReceiptsBy.SYSTEM:
            return
        try:
            letter = parse_message(body, registry=self.registry)
        except MessageError:
            return
        if not isinstance(letter, Correspondence) or not letter.envelope.wants_positive_receipt:
            return
        try:
            receipt = receipt_for(letter)
        except ReceiptRuleError:
            return
        request = self.letter_request(build_message(receipt), receipt, f"receipt:{entry['id']}")
        # keyed by the hub's id: a letter handed over twice is receipted once
        await self.outbox.put(replace(request, key=f"receipt:{entry['id']}"))

    async def _poll_inbox(self) -> None:
        failures = 0
        postponed: dict[str, float] = {}
        while True:
            try:
                entries = await self.hub.inbox(wait=self.config.poll_wait, limit=50)
                failures = 0
                self._hub_ok = True
                self.counters.hub_answered()
                self.outbox.note_credential_accepted()
            except CredentialRefused as exc:  # paused, never dropped: see Outbox
                failures += 1
                self._hub_ok = True  # the hub answered; it refuses who we are
                self.outbox.note_credential_refused(exc)
                await asyncio.sleep(min(self.config.outbox.max_delay, 0.2 * 2 ** min(failures, 8)))
                continue
            except HubUnavailable:
                failures += 1
                self._hub_ok = False
                ceiling = self.config.outbox.max_delay
                await asyncio.sleep(min(ceiling, 0.2 * 2 ** min(failures, 8)))
                continue
            except HubRefused as exc:
                if exc.code == PEOPLE_TAKE_LETTERS:
                    self._letters_taken_by_people(True)
                    await asyncio.sleep(self.people_pause)
                    continue
                log.error("inbox refused by the hub: %s (%d)", exc.code, exc.status)
                await asyncio.sleep(30.0)
                continue
            self._letters_taken_by_people(False)
            now = time.monotonic()
            ready = [e for e in entries if postponed.get(e["id"], 0.0) <= now]
            for entry in ready:
                try:
                    await self._take(entry)
                    postponed.pop(entry["id"], None)
                except CredentialRefused as exc:
                    self.outbox.note_credential_refused(exc)
                    break
                except HubUnavailable:
                    break
                except HubRefused as exc:
                    if exc.code == PEOPLE_TAKE_LETTERS:  # changed since the poll: stop here
                        self._letters_taken_by_people(True)
                        break
                    log.warning("inbox message %s: %s", entry["id"], exc.code)
                    postponed[entry["id"]] = now + 30.0
                except AdapterError as exc:
                    self.delivery_failures += 1
                    log.warning("inbox message %s not handed over: %s", entry["id"], exc.code)
                    postponed[entry["id"]] = now + 5.0
                except OSError as exc:
                    self.delivery_failures += 1
                    log.warning("inbox message %s not handed over: %s", entry["id"], exc.strerror)
                    postponed[entry["id"]] = now + 5.0
            if entries and not ready:
                await asyncio.sleep(1.0)

    def _letters_taken_by_people(self, now: bool) -> None:
        """Say once when the organisation's people start (or stop) taking its letters in:
        the adapter then neither fetches nor acknowledges any, and asks again every
        ``people_pause`` seconds (it still sends)."""
        if now == self.letters_taken_by_people:
            return
        self.letters_taken_by_people = now
        if now:
            log.warning(
                "inbox paused org=%s: its letters are taken in by its people in the Samspil "
                "app (letters_consumed_by=people), not by this adapter; sending goes on, the "
                "hub is asked again every %.0f s",
                self.config.gln,
                self.people_pause,
            )
        else:
            log.info(
                "inbox resumed org=%s: its letters are taken in by this adapter", self.config.gln
            )

    async def _take(self, entry: Json) -> None:
        """Fetch, hand over (once), then acknowledge to the hub."""
        if not await self._was_delivered(entry["id"]):
            body = await self.hub.fetch(entry["id"])
            await self.deliver(entry, body)
            await self._mark(entry["id"], acked=False)
            self.delivered += 1
            self.counters.delivered[entry["type"]] += 1
        await self.hub.ack(entry["id"])
        await self._mark(entry["id"], acked=True)

    async def _was_delivered(self, message_id: str) -> bool:
        def get(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT 1 FROM delivered WHERE message_id = ?", (message_id,)
            ).fetchone()
            return row is not None

        return await self.db.run(get)

    async def _mark(self, message_id: str, *, acked: bool) -> None:
        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO delivered (message_id, at, acked) VALUES (?, ?, ?) "
                "ON CONFLICT (message_id) DO UPDATE SET acked = excluded.acked",
                (message_id, time.time(), int(acked)),
            )

        await self.db.run(put)
