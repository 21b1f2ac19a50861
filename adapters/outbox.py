"""The durable outbox: nothing an adapter accepted from its sector system is lost.

Every message and index update goes to the hub in two steps:

1. :meth:`Outbox.put` writes it to the adapter's SQLite file and returns once it is committed
   (concurrent puts share one transaction: one fsync for many). Its **identifiers are fixed
   here, before the first try** — an XDIS91's envelope and letter ids are in the stored body,
   an index update's reference is in its path — so every retry is the same request and the
   hub answers a repeat as a duplicate. (A letter the adapter wrote is sent in its
   organisation's format, which the hub says: :meth:`Outbox.rewrite` stores that form, and
   its FHIR ids, before its first try — :mod:`adapters.letterform`.) The ``key`` makes the
   put itself idempotent: a sector system that sends the same thing twice (say, an HL7
   resend after a lost ACK) gets the first item back, not a second one.
2. The sender task (:meth:`Outbox.run`) sends pending items, oldest first; items with the same
   ``order_key`` (one case, one appointment) strictly in order, others concurrently.

Each item has a kind (:class:`ItemKind`) and, in columns of its own, what it depends on: the
key of an earlier item it follows (``depends_on``) and the sector system's reference it
records (``ref``); see :class:`Request`. Just before an item is sent the adapter's
:class:`Preparer`, given at construction, completes it from them (the hub's id of a consent
to revoke) or refuses it (a referral's case whose letter was refused).

Outcomes of one attempt:

* **sent** — a 2xx answer; the body is emptied (no letter lingers in the adapter) and the
  row is kept as the key's memory until ``keep_sent`` has passed;
* **refused** — a 4xx problem: resending cannot help. The item stops, keeps its code and
  detail, and ``on_refused`` is told (the adapter turns it into an XCTL01 to the clinic,
  a line in a reason file...). A refusal in :data:`SETTLED` (the hub already has what the
  item would bring) is logged as news, not as a warning;
* **retrying** — no answer, a 5xx or a 429: tried again after an exponential backoff
  (``base_delay`` doubling up to ``max_delay``, ±20 % jitter). When the hub cannot be reached
  at all the whole outbox pauses with the same backoff instead of hammering it per item;
* **held** — the hub refuses our credential (a 401, a 403 ``forbidden``, or 429
  ``too-many-failures`` after such refusals): not the item's fault, so nothing is refused.
  The item stays pending, the whole outbox pauses with the same backoff, and
  :attr:`Outbox.credential_refused` is true (``/status`` says so) until the hub takes a
  request again — after an operator re-enables the token, or the adapter is restarted
  with a rotated one. Only content refusals are final.

:meth:`Outbox.put_many` may carry a :class:`ControlIdClaim`: an HL7 message's control id and
content digest, written in the same transaction as the message's items, which decides
whether the id is new, a resend of the same content (the items already stored are answered)
or reused for other content (:class:`~adapters.errors.ControlIdReused`, nothing stored). A
claim is kept as long as a sent item (``keep_sent``) and pruned with them. The notes the
adapter keeps about the message (its memo rows) may ride on the same transaction: one
message, one commit.

:meth:`Outbox.first_attempt` lets a caller wait (briefly) for an item's first outcome: the
MLLP listener answers ``AE`` when the hub refuses a referral outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from adapters.errors import ControlIdReused, OutboxError, OutboxFull
from adapters.localdb import LocalDb
from adapters.logsafe import where
from wire.client import HubClient
from wire.errors import CredentialRefused, HubError, HubRefused, HubUnavailable

__all__ = [
    "Attempt",
    "ControlIdClaim",
    "Item",
    "ItemKind",
    "ItemState",
    "Outbox",
    "OutboxSettings",
    "Preparer",
    "RefusedHandler",
    "Request",
    "SentHandler",
]

log = logging.getLogger(__name__)

#: The hub's 429 for an address that sent too many refused credentials: a credential
#: problem, not a busy hub (:mod:`coordinator.security.limits`).
FAILED_LOGINS = "too-many-failures"

SETTLED = frozenset({"already-receipted"})
"""Refusals that say the hub already has what the item would bring (a second positive
receipt for one letter): final, and nobody need be alarmed."""


class ItemState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    REFUSED = "refused"


class ItemKind(StrEnum):
    """What an item records at the hub (stored as its value; the metrics count by it)."""

    MESSAGE = "message"
    """A MedCom letter or receipt: ``POST /v1/messages``."""
    CASE = "case"
    """A case in the index: ``PUT /v1/cases/{ref}``."""
    APPOINTMENT = "appointment"
    """An appointment in the index: ``PUT /v1/appointments/{ref}``."""
    CONSENT = "consent"
    """A consent given: ``POST /v1/children/{cpr}/consents``; the hub answers its id, which
    the adapter remembers under the item's ``ref``."""
    CONSENT_REVOKE = "consent-revoke"
    """A consent revoked: ``DELETE`` of the path completed at send time with the hub's id of
    the consent named by the item's ``ref``."""
    COORDINATOR = "coordinator"
    """A child's coordinator: ``PUT /v1/children/{cpr}/coordinator``."""


@dataclass(frozen=True, slots=True)
class Request:
    """What to send: an HTTP request to the hub, and how to tell it apart from others.

    ``key`` is the idempotency key (stored once); ``order_key`` groups items that must
    reach the hub in the order they were put (defaults to ``key``); ``origin`` says where it
    came from (for the logs only). What an item depends on is in columns of its own:

    ``depends_on``
        The key of an earlier item with the same ``order_key`` that this one follows: a
        referral's case after its letter. When that item was refused, this one is refused
        too, unsent (the adapter's :class:`Preparer` decides).
    ``ref``
        The sector system's reference of what the item records (a consent's ``ref``): the
        hub's id answered for a consent is remembered under it, and a revocation is sent to
        the id remembered for it.
    """

    key: str
    kind: ItemKind
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None
    order_key: str = ""
    origin: str = ""
    depends_on: str | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class ControlIdClaim:
    """An HL7 message's claim on its control id, stored with its items.

    ``key`` is what the control id is unique within (the sending facility and ``MSH-10``),
    ``digest`` the message's content (:func:`messages.hl7.parse.content_digest`). In the
    transaction that stores the items: no claim under ``key`` yet — recorded (new); the same
    digest — a resend, whose items are stored once (``INSERT OR IGNORE`` by key) and whose
    notes are not written again (its first item was there already: ``(id, False)``); another
    digest — :class:`~adapters.errors.ControlIdReused`, and nothing of the put is written.
    """

    key: str
    digest: str


@dataclass(frozen=True, slots=True)
class Item:
    """A stored request with its outbox state."""

    id: int
    key: str
    order_key: str
    kind: ItemKind
    origin: str
    method: str
    path: str
    content_type: str | None
    body: bytes | None
    state: ItemState
    attempts: int
    next_try: float
    code: str | None = None
    detail: str | None = None
    result: Any = None
    depends_on: str | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of an item's (first) attempt."""

    state: ItemState
    retrying: bool = False
    code: str | None = None
    detail: str | None = None
    result: Any = None


class Preparer(Protocol):
    """Called just before an item is sent, to fill in what was unknown when it was stored
    (a hub id from an earlier answer); raising :class:`HubRefused` refuses the item unsent."""

    def __call__(self, item: Item) -> Awaitable[Item]: ...


class RefusedHandler(Protocol):
    """Told about an item the hub refused for good (a 4xx answer)."""

    def __call__(self, item: Item, error: HubRefused) -> Awaitable[None]: ...


class SentHandler(Protocol):
    """Told about an item the hub took, with its JSON answer."""

    def __call__(self, item: Item, result: Any) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    max_pending: int = 100_000
    """Most unsent items held; beyond it :meth:`Outbox.put` raises OutboxFull."""
    concurrency: int = 32
    """Most requests in flight to the hub at once."""
    base_delay: float = 0.5
    max_delay: float = 60.0
    keep_sent: float = 7 * 24 * 3600.0
    """Seconds a sent item's key is remembered (duplicates within it are recognised)."""
    window: int = 512
    """Pending items considered per scheduling round."""
    memory_items: int = 10_000
    """Pending items (with their bodies) kept in memory for sending; more wait on disk."""


@dataclass(slots=True)
class OutboxStats:
    stored: int = 0
    duplicates: int = 0
    sent: int = 0
    refused: int = 0
    retries: int = 0
    hub_down_since: float | None = None
    last_error: str | None = None
    credential_refused_since: float | None = None
    credential_code: str | None = None


_COLUMNS = (
    "id, key, order_key, kind, origin, method, path, content_type, body, state, attempts, "
    "next_try, code, detail, result, depends_on, ref"
)


def _item(row: tuple[Any, ...]) -> Item:
    try:
        kind = ItemKind(row[3])
    except ValueError:
        raise OutboxError(
            f"outbox item {row[0]} has a kind this adapter does not know",
            code="outbox-unknown-kind",
        ) from None
    return Item(
        id=row[0],
        key=row[1],
        order_key=row[2],
        kind=kind,
        origin=row[4],
        method=row[5],
        path=row[6],
        content_type=row[7],
        body=row[8],
        state=ItemState(row[9]),
        attempts=row[10],
        next_try=row[11],
        code=row[12],
        detail=row[13],
        result=json.loads(row[14]) if row[14] else None,
        depends_on=row[15],
        ref=row[16],
    )


@dataclass(slots=True)
class _Put:
    requests: list[Request]
    done: asyncio.Future[list[tuple[int, bool]]]
    claim: ControlIdClaim | None = None
    notes: Mapping[str, str | None] | None = None
    rewrite: tuple[int, bytes, str] | None = None  # a pending item's new (id, body, type)


_Stored = list[tuple[int, bool]] | ControlIdReused
"""What one put came to in a group's transaction: its items (id, newly stored), or the
refusal of its control id claim (nothing of it written)."""


@dataclass(slots=True)
class _Settle:
    item_id: int
    state: ItemState
    attempts: int
    next_try: float
    code: str | None
    detail: str | None
    result: str | None


@dataclass(slots=True)
class _Waiters:
    futures: dict[int, list[asyncio.Future[Attempt]]] = field(default_factory=dict)

    def add(self, item_id: int) -> asyncio.Future[Attempt]:
        future: asyncio.Future[Attempt] = asyncio.get_running_loop().create_future()
        self.futures.setdefault(item_id, []).append(future)
        return future

    def resolve(self, item_id: int, attempt: Attempt) -> None:
        for future in self.futures.pop(item_id, []):
            if not future.done():
                future.set_result(attempt)


class Outbox:
    """The durable outbox of one adapter. :meth:`open`, then run :meth:`run` as a task."""

    def __init__(
        self,
        db: LocalDb,
        hub: HubClient,
        settings: OutboxSettings | None = None,
        *,
        prepare: Preparer | None = None,
        on_refused: RefusedHandler | None = None,
        on_sent: SentHandler | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.hub = hub
        self.settings = settings or OutboxSettings()
        self.stats = OutboxStats()
        self._prepare = prepare
        self._on_refused = on_refused
        self._on_sent = on_sent
        self._clock = clock
        self._pending = 0
        self._puts: asyncio.Queue[_Put] = asyncio.Queue()
        self._settles: list[_Settle] = []
        self._wake = asyncio.Event()
        self._waiters = _Waiters()
        self._in_flight: dict[int, str] = {}  # item id -> order key
        self._unsynced: set[int] = set()  # settled in memory, not yet committed
        self._mem: dict[int, Item] = {}  # pending items to send, in id order
        self._loaded_upto = 0  # highest id ever taken into memory
        self._overflow = False  # pending items on disk that are not in memory
        self._hub_pause_until = 0.0
        self._hub_failures = 0
        self._writer: asyncio.Task[None] | None = None

    # --- storing --------------------------------------------------------------------------

    async def open(self) -> Outbox:
        def count(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
            return int(row[0])

        self._pending = await self.db.run(count)
        await self._load_more()
        self._writer = asyncio.create_task(self._write_forever(), name="outbox-writer")
        return self

    async def _load_more(self) -> None:
        """Take pending items from disk into memory (at start-up, and after an overflow)."""
        room = self.settings.memory_items - len(self._mem)
        upto = self._loaded_upto

        def load(conn: sqlite3.Connection) -> list[Item]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND id > ? "  # noqa: S608
                "ORDER BY id LIMIT ?",
                (upto, room),
            ).fetchall()
            return [_item(r) for r in rows]

        for item in await self.db.run(load):
            self._mem[item.id] = item
            self._loaded_upto = max(self._loaded_upto, item.id)
        self._overflow = self._pending > len(self._mem) + len(self._in_flight)

    def _remember(self, request: Request, item_id: int) -> None:
        if self._overflow or len(self._mem) >= self.settings.memory_items:
            self._overflow = True
            return
        self._mem[item_id] = Item(
            id=item_id,
            key=request.key,
            order_key=request.order_key or request.key,
            kind=request.kind,
            origin=request.origin,
            method=request.method,
            path=request.path,
            content_type=request.content_type,
            body=request.body,
            state=ItemState.PENDING,
            attempts=0,
            next_try=0.0,
            depends_on=request.depends_on,
            ref=request.ref,
        )
        self._loaded_upto = max(self._loaded_upto, item_id)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    @property
    def hub_reachable(self) -> bool:
        """False from a failed connection to the hub until the next request it answers."""
        return self.stats.hub_down_since is None

    @property
    def credential_refused(self) -> bool:
        """True from the hub's refusal of our token or certificate (401/403) until the hub
        takes a request again: nothing is sent meanwhile, nothing is dropped."""
        return self.stats.credential_refused_since is not None

    @property
    def credential_warning(self) -> str:
        """What ``/status`` says while the hub refuses our credential."""
        return (
            f"hub refuses our credential ({self.stats.credential_code}): sending paused, "
            f"{self._pending} items held; rotate or enable the organisation's token "
            "(samspil org token|enable), or check [hub] token / token_file / client_cert "
            "and [organisation] gln"
        )

    def note_credential_refused(self, exc: HubError) -> None:
        """The hub refused our credential (here, or on another of the adapter's calls):
        logged every time, loudly the first."""
        self.stats.credential_code = f"{exc.status} {exc.code}"
        if self.stats.credential_refused_since is None:
            self.stats.credential_refused_since = self._clock()
            log.error("%s", self.credential_warning)
        else:
            log.warning("hub still refuses our credential (%s)", self.stats.credential_code)
        self.stats.hub_down_since = None  # the hub answered: it is reachable

    def note_credential_accepted(self) -> None:
        """The hub took a request made with our credential."""
        if self.stats.credential_refused_since is not None:
            self.stats.credential_refused_since = None
            self.stats.credential_code = None
            self._hub_failures = 0
            self._hub_pause_until = 0.0
            log.warning("hub accepts our credential again: sending resumed")
            self._wake.set()

    @property
    def depth(self) -> int:
        """Items not yet sent (nor refused)."""
        return self._pending

    async def put(self, request: Request) -> tuple[int, bool]:
        """Store one request durably: ``(item id, newly stored)``. Raises OutboxFull /
        OutboxError when it cannot be stored."""
        return (await self.put_many([request]))[0]

    async def put_many(
        self,
        requests: list[Request],
        *,
        claim: ControlIdClaim | None = None,
        notes: Mapping[str, str | None] | None = None,
    ) -> list[tuple[int, bool]]:
        """Store several requests in one transaction (all or none), with ``claim`` when one
        is given (see :class:`ControlIdClaim`; a claim with no requests is stored alone) and
        the adapter's ``notes`` that go with them (:meth:`LocalDb.remember` facts by name;
        None forgets one).

        Raises :class:`ControlIdReused` when the claim's key was claimed for other content
        (nothing stored), OutboxFull / OutboxError when it cannot be stored."""
        if self._writer is None:
            raise OutboxError("the outbox is not open")
        if self._pending + len(requests) > self.settings.max_pending:
            raise OutboxFull(
                f"the outbox already holds {self._pending} unsent items "
                f"(limit {self.settings.max_pending})"
            )
        done: asyncio.Future[list[tuple[int, bool]]] = asyncio.get_running_loop().create_future()
        await self._puts.put(_Put(requests, done, claim, notes))
        return await done

    async def rewrite(self, item: Item, *, body: bytes, content_type: str) -> Item:
        """Fix the form a pending item is sent in (a letter in its organisation's format:
        :mod:`adapters.letterform`), committed before it is sent: every later try, and a
        resend after a restart, sends these bytes. The item as it now is."""

        if self._writer is None:
            raise OutboxError("the outbox is not open")
        done: asyncio.Future[list[tuple[int, bool]]] = asyncio.get_running_loop().create_future()
        # in the next group's transaction, beside the puts and settles of the moment
        await self._puts.put(_Put([], done, rewrite=(item.id, body, content_type)))
        await done
        if item.id in self._mem:
            self._mem[item.id] = replace(self._mem[item.id], body=body, content_type=content_type)
        return replace(item, body=body, content_type=content_type)

    async def _write_forever(self) -> None:
        """Group commit: everything queued is written in one transaction."""
        while True:
            batch = [await self._puts.get()]
            while not self._puts.empty():
                batch.append(self._puts.get_nowait())
            settles, self._settles = self._settles, []
            now = self._clock()
            results: Sequence[_Stored | None]
            try:
                results = await self.db.run(
                    functools.partial(_write, batch=batch, settles=settles, now=now)
                )
            except OutboxError as exc:
                log.error("outbox: cannot write to %s: %s", self.db.path.name, exc.message)
                await self._unwritten(batch, settles, exc)
                continue
            except Exception as exc:  # one request the database cannot take
                log.error(
                    "outbox: a group could not be written (%s); writing it put by put", where(exc)
                )
                try:
                    results = await self._write_apart(batch, settles, now)
                except OutboxError as failure:
                    await self._unwritten(batch, settles, failure)
                    continue
            self._unsynced.difference_update(s.item_id for s in settles)
            if settles:
                self._wake.set()
            fresh = 0
            for put, result in zip(batch, results, strict=True):
                if result is None:  # refused on its own: its caller has the error
                    continue
                if isinstance(result, ControlIdReused):
                    if not put.done.done():
                        put.done.set_exception(result)
                    continue
                for request, (item_id, new) in zip(put.requests, result, strict=True):
                    if new:
                        self._remember(request, item_id)
                fresh += sum(1 for _, new in result if new)
                # one hand-over already stored (a resend): its first item was there
                self.stats.duplicates += 1 if result and not result[0][1] else 0
                if not put.done.done():
                    put.done.set_result(result)
            self._pending += fresh
            self.stats.stored += fresh
            if fresh:
                self._wake.set()

    async def _unwritten(self, batch: list[_Put], settles: list[_Settle], exc: OutboxError) -> None:
        """A group the database did not take: each put that stores something fails with
        ``exc`` (its caller keeps the request); the settles wait for the next group."""
        self.stats.last_error = exc.message
        for put in batch:
            if put.done.done():
                continue
            if put.requests or put.claim is not None or put.rewrite is not None:
                put.done.set_exception(exc)
            else:
                put.done.set_result([])
        self._settles = settles + self._settles
        await asyncio.sleep(0.1)

    async def _write_apart(
        self, batch: list[_Put], settles: list[_Settle], now: float
    ) -> list[_Stored | None]:
        """Write a group that failed as a whole one put at a time, so that one request the
        database cannot store (text it cannot encode, say) fails alone and the writer lives
        on. Raises :class:`OutboxError` when even the settles alone cannot be written."""
        try:
            await self.db.run(functools.partial(_write, batch=[], settles=settles, now=now))
        except OutboxError:
            raise
        except Exception as exc:
            raise OutboxError(f"the outbox cannot record progress ({where(exc)})") from None
        results: list[_Stored | None] = []
        for put in batch:
            try:
                done = await self.db.run(
                    functools.partial(_write, batch=[put], settles=[], now=now)
                )
            except Exception as exc:  # this put alone is refused
                refusal = OutboxError(
                    f"the outbox cannot store this item ({where(exc)})", code="outbox-unstorable"
                )
                if not put.done.done():
                    put.done.set_exception(refusal)
                results.append(None)
                continue
            results.append(done[0])
        return results

    def _queue_settle(self, settle: _Settle) -> None:
        """State changes ride on the next group commit (a settle alone triggers one)."""
        self._settles.append(settle)
        self._unsynced.add(settle.item_id)
        if self._puts.empty():
            self._puts.put_nowait(_Put([], asyncio.get_running_loop().create_future()))

    # --- reading --------------------------------------------------------------------------

    async def item(self, item_id: int) -> Item | None:
        def get(conn: sqlite3.Connection) -> Item | None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (item_id,)).fetchone()  # noqa: S608
            return None if row is None else _item(row)

        return await self.db.run(get)

    async def state_of(self, key: str) -> ItemState | None:
        """The state of the item stored under ``key`` (None: no such item)."""

        def get(conn: sqlite3.Connection) -> ItemState | None:
            row = conn.execute("SELECT state FROM outbox WHERE key = ?", (key,)).fetchone()
            return None if row is None else ItemState(row[0])

        return await self.db.run(get)

    async def items(self, state: ItemState | None = None, limit: int = 1000) -> list[Item]:
        def get(conn: sqlite3.Connection) -> list[Item]:
            if state is None:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM outbox ORDER BY id LIMIT ?",  # noqa: S608
                    (limit,),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE state = ? ORDER BY id LIMIT ?",  # noqa: S608
                    (state.value, limit),
                ).fetchall()
            return [_item(r) for r in rows]

        return await self.db.run(get)

    async def first_attempt(self, item_id: int, within: float) -> Attempt | None:
        """The outcome of the item's first attempt (or its settled state, if it has one),
        or None when none came within ``within`` seconds."""
        future = self._waiters.add(item_id)
        current = self._mem.get(item_id)
        if current is None:  # settled already, or waiting on disk
            current = await self.item(item_id)
        if current is not None and (current.state is not ItemState.PENDING or current.attempts):
            self._waiters.resolve(item_id, _attempt_of(current))
        try:
            async with asyncio.timeout(within):
                return await asyncio.shield(future)
        except TimeoutError:
            return None

    # --- sending --------------------------------------------------------------------------

    async def run(self) -> None:
        """Send forever (cancel to stop; in-flight requests are cancelled and retried on the
        next start — the hub recognises a repeat)."""
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                delay = await self._dispatch(tasks)
                self._wake.clear()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the wake-up does, and stop() would wait forever
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self, within: float) -> bool:
        """Wait until nothing is pending (True) or ``within`` seconds pass (False)."""
        deadline = time.monotonic() + within
        while self._pending or self._in_flight or self._unsynced:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def _dispatch(self, tasks: set[asyncio.Task[None]]) -> float:
        """Start what may be sent now; return how long to sleep before looking again."""
        now = self._clock()
        if now < self._hub_pause_until:
            return self._hub_pause_until - now
        free = self.settings.concurrency - len(self._in_flight)
        if free <= 0 or not self._pending:
            return 1.0
        if self._overflow and len(self._mem) < self.settings.memory_items // 2:
            await self._load_more()
        busy_keys = set(self._in_flight.values())
        seen: set[str] = set()
        chosen: list[Item] = []
        soonest = 1.0
        for item in itertools.islice(self._mem.values(), self.settings.window):
            order_key = item.order_key
            first_of_key = order_key not in seen
            seen.add(order_key)
            if not first_of_key or order_key in busy_keys or item.id in self._in_flight:
                continue
            if item.next_try > now:
                soonest = min(soonest, item.next_try - now)
                continue
            chosen.append(item)
            busy_keys.add(order_key)
            self._in_flight[item.id] = order_key
            if len(chosen) >= free:
                break
        for item in chosen:
            task = asyncio.create_task(self._send(item))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return soonest

    async def _send(self, item: Item) -> None:
        try:
            if self._prepare is not None:
                item = await self._prepare(item)
            _, parsed, _ = await self.hub.call(
                item.method,
                item.path,
                body=item.body,
                content_type=item.content_type,
                idempotency_key=_idempotency_key(item) if item.method == "POST" else None,
            )
        except CredentialRefused as exc:  # not the item's fault: hold everything
            self._settle_credential(item, exc)
        except HubRefused as exc:
            await self._settle_refused(item, exc)
        except HubUnavailable as exc:
            if exc.code == FAILED_LOGINS:
                self._settle_credential(item, exc)
            else:
                self._settle_retry(item, exc)
        except Exception as exc:  # a bug must not stop the outbox: retry, and say so
            log.error("outbox item %d (%s): unexpected %s", item.id, item.kind, where(exc))
            self._settle_retry(item, HubUnavailable(f"unexpected {type(exc).__name__}"))
        else:
            await self._settle_sent(item, parsed)
        finally:
            self._in_flight.pop(item.id, None)
            self._wake.set()

    async def _settle_sent(self, item: Item, parsed: Any) -> None:
        self.note_credential_accepted()
        self._hub_failures = 0
        self._hub_pause_until = 0.0
        self.stats.hub_down_since = None
        self.stats.sent += 1
        self._pending -= 1
        self._mem.pop(item.id, None)
        result = json.dumps(parsed) if parsed is not None else None
        self._queue_settle(
            _Settle(item.id, ItemState.SENT, item.attempts + 1, 0, None, None, result)
        )
        if self._on_sent is not None:
            try:
                await self._on_sent(item, parsed)
            except Exception as failure:
                log.error(
                    "outbox item %d (%s): on_sent failed: %s", item.id, item.kind, where(failure)
                )
        self._waiters.resolve(item.id, Attempt(ItemState.SENT, result=parsed))

    async def _settle_refused(self, item: Item, exc: HubRefused) -> None:
        self.note_credential_accepted()  # a refusal of the content: the credential passed
        self._hub_failures = 0
        self.stats.refused += 1
        self._pending -= 1
        self._mem.pop(item.id, None)
        log.log(
            logging.INFO if exc.code in SETTLED else logging.WARNING,
            "outbox item %d (%s from %s) refused by the hub: %s (%s)",
            item.id,
            item.kind,
            item.origin or "-",
            exc.code,
            exc.status,
        )
        self._queue_settle(
            _Settle(item.id, ItemState.REFUSED, item.attempts + 1, 0, exc.code, exc.message, None)
        )
        if self._on_refused is not None:
            try:
                await self._on_refused(item, exc)
            except Exception as failure:
                log.error(
                    "outbox item %d (%s): on_refused failed: %s",
                    item.id,
                    item.kind,
                    where(failure),
                )
        self._waiters.resolve(
            item.id, Attempt(ItemState.REFUSED, code=exc.code, detail=exc.message)
        )

    def _settle_credential(self, item: Item, exc: HubError) -> None:
        """The hub refused our credential: the item stays pending, and the whole outbox
        pauses (backing off up to ``max_delay``) until a request gets through again."""
        self.note_credential_refused(exc)
        now = self._clock()
        self._hub_failures += 1
        self._hub_pause_until = max(self._hub_pause_until, now + self._backoff(self._hub_failures))
        self.stats.retries += 1
        self.stats.last_error = exc.message
        attempts = item.attempts + 1
        self._queue_settle(
            _Settle(item.id, ItemState.PENDING, attempts, now, exc.code, exc.message, None)
        )
        if item.id in self._mem:
            self._mem[item.id] = replace(
                self._mem[item.id], attempts=attempts, code=exc.code, detail=exc.message
            )
        self._waiters.resolve(
            item.id,
            Attempt(ItemState.PENDING, retrying=True, code=exc.code, detail=exc.message),
        )

    def _settle_retry(self, item: Item, exc: HubUnavailable) -> None:
        now = self._clock()
        attempts = item.attempts + 1
        self.stats.retries += 1
        self.stats.last_error = exc.message
        delay = self._backoff(attempts)
        if exc.status == 0:  # the hub cannot be reached at all: pause everything
            self._hub_failures += 1
            if self.stats.hub_down_since is None:
                self.stats.hub_down_since = now
                log.warning("hub unreachable; outbox holds %d items and retries", self._pending)
            self._hub_pause_until = max(
                self._hub_pause_until, now + self._backoff(self._hub_failures)
            )
        self._queue_settle(
            _Settle(item.id, ItemState.PENDING, attempts, now + delay, exc.code, exc.message, None)
        )
        if item.id in self._mem:
            self._mem[item.id] = replace(
                self._mem[item.id],
                attempts=attempts,
                next_try=now + delay,
                code=exc.code,
                detail=exc.message,
            )
        self._waiters.resolve(
            item.id,
            Attempt(ItemState.PENDING, retrying=True, code=exc.code, detail=exc.message),
        )

    def _backoff(self, attempts: int) -> float:
        s = self.settings
        delay = min(s.max_delay, s.base_delay * 2 ** min(attempts - 1, 30))
        return float(delay * random.uniform(0.8, 1.2))

    async def prune(self) -> int:
        """Forget sent and refused items settled more than ``keep_sent`` ago, and control
        id claims made more than ``keep_sent`` ago (a claim is never older than the items it
        was stored with: it goes with them or before them, never while a younger item is
        kept); how many items were removed."""
        horizon = self._clock() - self.settings.keep_sent

        def delete(conn: sqlite3.Connection) -> tuple[int, int]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                items = conn.execute(
                    "DELETE FROM outbox WHERE state != 'pending' AND settled_at < ?", (horizon,)
                ).rowcount
                claims = conn.execute(
                    "DELETE FROM hl7_control_ids WHERE at < ?", (horizon,)
                ).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return items, claims

        items, claims = await self.db.run(delete)
        if claims:
            log.info("hl7 control ids pruned count=%d", claims)
        return items


def _attempt_of(item: Item) -> Attempt:
    return Attempt(
        item.state,
        retrying=item.state is ItemState.PENDING,
        code=item.code,
        detail=item.detail,
        result=item.result,
    )


def _claim(conn: sqlite3.Connection, claim: ControlIdClaim, *, now: float) -> bool:
    """Record ``claim`` in the open transaction: True when its key is new (recorded) or was
    claimed for the same content (a resend), False when for other content (nothing
    written)."""
    # a new key (the usual case) costs one statement: each one is a trip to SQLite and back
    # for the database thread, and a wait for the interpreter lock the event loop holds
    inserted = conn.execute(
        "INSERT OR IGNORE INTO hl7_control_ids (key, digest, at) VALUES (?, ?, ?)",
        (claim.key, claim.digest, now),
    ).rowcount
    if inserted == 1:
        return True
    row = conn.execute("SELECT digest FROM hl7_control_ids WHERE key = ?", (claim.key,)).fetchone()
    return row is not None and bool(row[0] == claim.digest)


def _write(
    conn: sqlite3.Connection, *, batch: list[_Put], settles: list[_Settle], now: float
) -> list[_Stored]:
    results: list[_Stored] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for settle in settles:
            conn.execute(
                "UPDATE outbox SET state = ?, attempts = ?, next_try = ?, code = ?, detail = ?, "
                "result = ?, settled_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END, "
                "body = CASE WHEN ? = 'sent' THEN NULL ELSE body END WHERE id = ?",
                (
                    settle.state.value,
                    settle.attempts,
                    settle.next_try,
                    settle.code,
                    settle.detail,
                    settle.result,
                    settle.state.value,
                    now,
                    settle.state.value,
                    settle.item_id,
                ),
            )
        for put in batch:
            if put.rewrite is not None:
                item_id, body, content_type = put.rewrite
                conn.execute(
                    "UPDATE outbox SET body = ?, content_type = ? "
                    "WHERE id = ? AND state = 'pending'",
                    (body, content_type, item_id),
                )
                results.append([])
                continue
            if put.claim is not None and not _claim(conn, put.claim, now=now):
                results.append(
                    ControlIdReused(
                        "MSH-10 (message control id) was used before by this sending "
                        "facility for a different message; send a new message with a new "
                        "control id"
                    )
                )
                continue
            stored: list[tuple[int, bool]] = []
            for r in put.requests:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO outbox (key, order_key, kind, origin, method, path, "
                    "content_type, body, created_at, depends_on, ref) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.key,
                        r.order_key or r.key,
                        r.kind.value,
                        r.origin,
                        r.method,
                        r.path,
                        r.content_type,
                        r.body,
                        now,
                        r.depends_on,
                        r.ref,
                    ),
                )
                if cursor.rowcount == 1:
                    stored.append((int(cursor.lastrowid or 0), True))
                else:
                    row = conn.execute("SELECT id FROM outbox WHERE key = ?", (r.key,)).fetchone()
                    stored.append((int(row[0]), False))
            if not stored or stored[0][1]:  # a resend's notes were written the first time
                for name, value in (put.notes or {}).items():
                    if value is None:
                        conn.execute("DELETE FROM memo WHERE name = ?", (name,))
                    else:
                        conn.execute(
                            "INSERT OR REPLACE INTO memo (name, value) VALUES (?, ?)",
                            (name, value),
                        )
            results.append(stored)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return results


def _idempotency_key(item: Item) -> str:
    """The ``Idempotency-Key`` of a stored POST: a digest of the key fixed when it was stored,
    so every retry carries the same one and nothing of the sector system's ids leaves."""
    return hashlib.sha256(item.key.encode()).hexdigest()
