"""The municipal adapter: PPR and family departments' case systems.

The case system publishes events as **JSON lines in a folder** (``[events] folder``): it
writes ``*.jsonl`` files (under another name first, then renamed), one event per line. The
adapter stores each event's requests in the durable outbox, then moves the file to
``processed/``. Lines it cannot use go to ``rejected/<file>`` with a
``<file>.reason.txt`` naming each line and why; the good lines of the same file are still
processed. Or the case system **posts the same lines to the adapter's webhook**
(``[webhook]``, :mod:`adapters.webhook`), which answers per line. Both go through
:meth:`MunicipalityAdapter.take_lines`: one way for events to flow. Letters for the
department arrive as files in the file drop's ``inbox/`` (:mod:`adapters.filedrop`), which
is also where the case system may drop its own XDIS91.

The other way, with ``[partner_events]``, the adapter follows the hub's partner-events feed
(other organisations' changes about the municipality's own children, under consent) and
hands each page to the case system, as JSON lines in a folder or POSTed to its webhook
(:mod:`adapters.partner_events`).

Every event has an ``id`` (unique in the case system; an event seen again is not sent
again) and a ``type``:

``case``             ``ref, child_cpr, kind, status, opened_on[, closed_on, title, contact]``
                     → ``PUT /v1/cases/{ref}`` (the contact defaults to ``[contact]``)
``appointment``      ``ref, child_cpr, starts_at, ends_at, status, with{name, role}
                     [, location, case_ref]`` → ``PUT /v1/appointments/{ref}``
``letter``           ``receiver_gln, child_cpr, child_name{family, given}, subject, text
                     [, ask_for_receipt, episode]`` → an XDIS91 through the hub
``consent``          ``ref, child_cpr, given_by_name, relation, form, sectors, valid_from
                     [, valid_until]`` (attested: the caseworker's word), or ``ref, child_cpr,
                     document`` (verified: the consent service's signed document, which holds
                     the rest) → ``POST /v1/children/{cpr}/consents``
``consent-revoked``  ``ref, child_cpr`` → ``DELETE`` of the consent the hub made for ``ref``
``coordinator``      ``child_cpr, organisation, contact`` → ``PUT .../coordinator``

A case or appointment event is judged with the hub's own entry model and rules
(:mod:`wire.entries`) before its line is answered, so ``accepted`` means the hub will take
it: ``kind`` is one of the hub's case kinds (``ppr-assessment``, ``ppr-counselling``,
``family-support``, ``family-investigation``, ...), ``status`` ``active`` or ``closed``;
dates are ISO 8601 (``2026-03-01``); a ``closed`` case needs ``closed_on`` and an
``active`` one has none (``closed-without-date``, ``active-with-closed-date``), and
``closed_on`` is not before ``opened_on`` (``invalid-period``); appointment times carry a
zone (``naive-time``) and end after they start; ``ref`` and ``case_ref`` are 1-64 letters,
digits, ``.``, ``_``, ``:`` or ``-`` (``invalid-ref``). A field of the wrong type or value
is ``invalid-entry``, naming the field.

Events about the same child reach the hub in the order written (a consent after the
case that allows recording it, a closing after the opening); other children's in parallel.
An event whose ``id`` was taken before (from the folder or the webhook) is a duplicate:
nothing new is sent, whatever the line holds now.

A consent's ``document`` is judged for its shape only (a compact JWS,
``consent-document-malformed``); the hub checks its signature, period and child. What the hub
refuses for good after a line was accepted (a signed document it does not trust, a case
reference of another child...) is written to ``rejected/refused-<event id>.txt`` with the
hub's code and sentence, so the case system hears of it; a refused letter comes back as an
XCTL01 in the file drop's ``inbox/`` instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from adapters.base import NAME_MAX, Adapter, path_segment
from adapters.errors import EventError, OutboxError
from adapters.filedrop import safe_name, write_atomically
from adapters.logsafe import where
from adapters.outbox import Item, ItemKind, Request
from adapters.partner_events import PartnerEventDelivery
from adapters.webhook import EventWebhook, LineResult
from messages.errors import IdentifierError, MessageError
from messages.identifiers import parse_cpr, parse_gln
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message
from messages.medcom.model import Party, Patient
from wire.entries import (
    REF_LENGTH,
    REF_PATTERN,
    AppointmentEntry,
    CaseEntry,
    EntryRefused,
    check_appointment,
    check_case,
    entry_problems,
)
from wire.errors import HubRefused
from wire.index import MAX_CONSENT_DOCUMENT_LENGTH

__all__ = ["MunicipalityAdapter"]

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)

_REQUIRED = {
    "case": ("ref", "child_cpr", "kind", "status", "opened_on"),
    "appointment": ("ref", "child_cpr", "starts_at", "ends_at", "status", "with"),
    "letter": ("receiver_gln", "child_cpr", "child_name", "subject", "text"),
    "consent": ("ref", "child_cpr"),  # and the attested fields, or a document
    "consent-revoked": ("ref", "child_cpr"),
    "coordinator": ("child_cpr", "organisation", "contact"),
}
_ATTESTED = ("given_by_name", "relation", "form", "sectors", "valid_from")
"""What an attested consent event needs besides ``ref`` and ``child_cpr``; a verified one
needs its ``document`` instead."""
_CONSENT_FIELDS = (*_ATTESTED, "valid_until")
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
EVENT_KEY = "event:"
"""The outbox key of an event's request: this prefix and the event's ``id``."""
_EVENT_TYPE = {ItemKind.CONSENT_REVOKE: "consent-revoked"}
"""An event type whose name is not its outbox item kind's."""


class MunicipalityAdapter(Adapter):
    kind: ClassVar[str] = "municipality"
    default_case_kind: ClassVar[str] = "ppr-assessment"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.config.events is not None  # checked by AdapterConfig
        self.events = self.config.events
        self.events_processed = 0
        self.events_rejected = 0
        self.webhook: EventWebhook | None = None
        if self.config.webhook is not None:
            self.webhook = EventWebhook(
                self.config.webhook, self.take_lines, count=self._count_webhook
            )
        self.partner_events: PartnerEventDelivery | None = None
        if self.config.partner_events is not None:
            self.partner_events = PartnerEventDelivery(
                self.config.partner_events, hub=self.hub, db=self.db
            )

    async def _start_sector(self) -> None:
        for folder in (self.events.folder, self.events.processed, self.events.rejected):
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        if self.webhook is not None:
            await self.webhook.start()
        self._own(self._watch_events(), "events")
        if self.partner_events is not None:
            self._own(self.partner_events.run(), "partner-events")

    async def _stop_sector(self, grace: float) -> None:
        if self.webhook is not None:
            await self.webhook.stop()

    @property
    def webhook_port(self) -> int | None:
        """The port ``POST /events`` is served on (None: no webhook configured)."""
        return self.webhook.port if self.webhook is not None else None

    def _count_webhook(self, status: int) -> None:
        self.counters.webhook[status] += 1

    def health(self) -> dict[str, Any]:
        health = super().health()
        health.update(
            events=self.events_processed,
            events_rejected=self.events_rejected,
            events_duplicate=self.counters.events["duplicate"],
        )
        if self.partner_events is not None:
            health.update(self.partner_events.health())
        if self.webhook is not None:
            health.update(
                webhook_port=self.webhook.port,
                webhook_requests=sum(self.counters.webhook.values()),
            )
        return health

    # --- the folder -------------------------------------------------------------------------

    async def _watch_events(self) -> None:
        while True:
            await self.scan_events()
            await asyncio.sleep(self.events.poll_interval)

    async def scan_events(self) -> int:
        """Process every waiting ``*.jsonl`` file; how many files were handled."""
        files = await asyncio.to_thread(self._waiting)
        handled = 0
        for path in files:
            try:
                text = await asyncio.to_thread(path.read_text, "utf-8-sig")  # BOM or not
            except (OSError, UnicodeDecodeError) as exc:
                await asyncio.to_thread(
                    self._reject_file, path, [(0, "unreadable", f"cannot read it: {exc}")]
                )
                continue
            try:
                rejected = await self._process(path.name, text)
            except OutboxError as exc:
                log.warning("events: %s waits: %s", safe_name(path.name), exc.code)
                break
            if rejected:
                bad = {n for n, _, _ in rejected}
                lines = _lines(text)
                await asyncio.to_thread(
                    self._write_rejected, path.name, [lines[n - 1] for n in sorted(bad)], rejected
                )
            await asyncio.to_thread(os.replace, path, self.events.processed / path.name)
            handled += 1
        return handled

    def _waiting(self) -> list[Path]:
        try:
            paths = [
                p
                for p in self.events.folder.iterdir()
                if p.suffix == ".jsonl" and not p.name.startswith(".") and p.is_file()
            ]
        except FileNotFoundError:
            return []
        return sorted(paths, key=lambda p: (p.stat().st_mtime, p.name))

    async def _process(self, name: str, text: str) -> list[tuple[int, str, str]]:
        results = await self.take_lines(_lines(text), f"events:{safe_name(name)}")
        rejected = [(r.line, r.code or "", r.detail or "") for r in results if r.code]
        for number, code, _ in rejected:
            log.warning("events: %s line %d rejected: %s", safe_name(name), number, code)
        return rejected

    # --- lines, from the folder or the webhook ----------------------------------------------

    async def take_lines(self, lines: Sequence[bytes | str], origin: str) -> list[LineResult]:
        """Judge each line (the same mapping whichever way it came) and store the good ones'
        requests in the outbox in one transaction; one result per non-blank line, numbered
        from 1. Raises OutboxError (and stores nothing) when the outbox cannot take them."""
        judged = await asyncio.to_thread(self._judge, lines, origin)
        requests = [r for _, _, found in judged if isinstance(found, list) for r in found]
        stored = iter(await self.outbox.put_many(requests) if requests else [])
        results: list[LineResult] = []
        for number, event_id, found in judged:
            if isinstance(found, EventError):
                results.append(LineResult(number, "rejected", event_id, found.code, str(found)))
                continue
            fresh = [next(stored)[1] for _ in found]
            status = "accepted" if any(fresh) or not fresh else "duplicate"
            results.append(LineResult(number, status, event_id))
        for result in results:
            self.counters.events[result.status] += 1
        self.events_processed += sum(1 for r in results if r.status == "accepted")
        self.events_rejected += sum(1 for r in results if r.status == "rejected")
        return results

    def _judge(
        self, lines: Sequence[bytes | str], origin: str
    ) -> list[tuple[int, str | None, list[Request] | EventError]]:
        judged: list[tuple[int, str | None, list[Request] | EventError]] = []
        for number, raw in enumerate(lines, start=1):
            try:
                line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            except UnicodeDecodeError:
                judged.append((number, None, EventError("not UTF-8", code="invalid-encoding")))
                continue
            if not line.strip():
                continue
            event_id: str | None = None
            try:
                event = json.loads(line)
                if not isinstance(event, dict):
                    raise EventError("an event is a JSON object", code="not-an-object")
                _check_text(event)
                if isinstance(event.get("id"), str) and event["id"]:
                    event_id = event["id"]
                judged.append(
                    (number, event_id, self.requests_for(event, origin=f"{origin}:{number}"))
                )
            except EventError as exc:
                judged.append((number, event_id, exc))
            except (ValueError, RecursionError):  # not JSON, or nested beyond the parser
                judged.append((number, event_id, EventError("not JSON", code="invalid-json")))
            except Exception as exc:  # a field of a shape the mapping did not foresee
                log.warning("events: line %d unusable: %s", number, where(exc))
                judged.append(
                    (
                        number,
                        event_id,
                        EventError("a field has the wrong shape", code="invalid-event"),
                    )
                )
        return judged

    def _write_rejected(
        self, name: str, lines: list[str], reasons: list[tuple[int, str, str]]
    ) -> None:
        folder = self.events.rejected
        write_atomically(folder, name, ("\n".join(lines) + "\n").encode())
        self._write_reason(name, reasons)

    def _write_reason(self, name: str, reasons: list[tuple[int, str, str]]) -> None:
        text = "".join(f"line {n}: {code}: {sentence}\n" for n, code, sentence in reasons)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_atomically(
            self.events.rejected,
            f"{name}.reason.txt",
            f"file: {name}\nat: {stamp}\n{text}".encode(),
        )

    def _reject_file(self, path: Path, reasons: list[tuple[int, str, str]]) -> None:
        os.replace(path, self.events.rejected / path.name)
        self._write_reason(path.name, reasons)
        self.events_rejected += 1

    # --- one event --------------------------------------------------------------------------

    def requests_for(self, event: dict[str, Any], *, origin: str) -> list[Request]:
        """The outbox requests for one event. Raises EventError."""
        event_id, kind = event.get("id"), event.get("type")
        if not isinstance(event_id, str) or not event_id:
            raise EventError("an event needs an id", code="missing-id")
        if kind not in _REQUIRED:
            raise EventError(
                f"unknown event type (one of {', '.join(_REQUIRED)})", code="unknown-type"
            )
        signed = kind == "consent" and event.get("document") not in (None, "")
        required = (*_REQUIRED[kind], *(_ATTESTED if kind == "consent" and not signed else ()))
        missing = [f for f in required if event.get(f) in (None, "")]
        if missing:
            raise EventError(f"a {kind} event needs {', '.join(missing)}", code="missing-field")
        try:
            cpr = parse_cpr(str(event["child_cpr"])).digits
        except IdentifierError:
            raise EventError("child_cpr is not a valid CPR number", code="invalid-cpr") from None
        key = f"{EVENT_KEY}{event_id}"
        if kind == "case":
            payload = {
                "child_cpr": cpr,
                "kind": event["kind"],
                "status": event["status"],
                "opened_on": event["opened_on"],
                "closed_on": event.get("closed_on"),
                "contact": event.get("contact") or self.config.contact.as_json(),
            }
            if event.get("title"):
                payload["title"] = event["title"]
            ref = _checked_ref(event["ref"])
            _judge_entry(CaseEntry, check_case, payload)
            path = f"/v1/cases/{path_segment(ref)}"
            return [self._put(key, ItemKind.CASE, path, payload, f"child:{cpr}", origin)]
        if kind == "appointment":
            payload = {
                "child_cpr": cpr,
                "starts_at": event["starts_at"],
                "ends_at": event["ends_at"],
                "status": event["status"],
                "location": event.get("location"),
                "case_ref": event.get("case_ref"),
                "with": event["with"],
            }
            ref = _checked_ref(event["ref"])
            _judge_entry(AppointmentEntry, check_appointment, payload)
            path = f"/v1/appointments/{path_segment(ref)}"
            return [self._put(key, ItemKind.APPOINTMENT, path, payload, f"child:{cpr}", origin)]
        if kind == "letter":
            return [self._letter(key, cpr, event, origin)]
        if kind == "consent":
            # a signed document is the whole consent: the body HubClient.add_signed_consent
            # sends, under the event's idempotency key like any consent
            payload = (
                {"document": _checked_document(event["document"])}
                if signed
                else {f: event[f] for f in _CONSENT_FIELDS if event.get(f) is not None}
            )
            ref = str(event["ref"])
            return [
                self.json_request(
                    key,
                    ItemKind.CONSENT,
                    "POST",
                    f"/v1/children/{cpr}/consents",
                    payload,
                    order_key=f"child:{cpr}",
                    origin=origin,
                    ref=ref,
                )
            ]
        if kind == "consent-revoked":
            ref = str(event["ref"])
            return [
                Request(
                    key=key,
                    kind=ItemKind.CONSENT_REVOKE,
                    method="DELETE",
                    path=f"/v1/children/{cpr}/consents",  # + / the hub's id for ref, when sent
                    order_key=f"child:{cpr}",
                    origin=origin,
                    ref=ref,
                )
            ]
        payload = {"organisation": event["organisation"], "contact": event["contact"]}
        path = f"/v1/children/{cpr}/coordinator"
        return [self._put(key, ItemKind.COORDINATOR, path, payload, f"child:{cpr}", origin)]

    def _put(
        self, key: str, kind: ItemKind, path: str, payload: Any, order_key: str, origin: str
    ) -> Request:
        return self.json_request(
            key, kind, "PUT", path, payload, order_key=order_key, origin=origin
        )

    def _letter(self, key: str, cpr: str, event: dict[str, Any], origin: str) -> Request:
        try:
            receiver = parse_gln(str(event["receiver_gln"]))
        except IdentifierError:
            raise EventError("receiver_gln is not a valid GLN", code="invalid-gln") from None
        name = event["child_name"] if isinstance(event["child_name"], dict) else {}
        try:
            letter = new_correspondence(
                sender=Party(
                    ean=self.config.gln,
                    identifier=self.config.gln,
                    identifier_code="lokationsnummer",
                    organisation_name=self.config.name[:NAME_MAX],
                ),
                receiver=Party(
                    ean=receiver, identifier=receiver, identifier_code="lokationsnummer"
                ),
                patient=Patient(
                    surname=str(name.get("family") or "Ukendt"),
                    given_name=str(name.get("given")) if name.get("given") else None,
                    cpr=cpr,
                ),
                subject=str(event["subject"]),
                text=str(event["text"]),
                ask_for_receipt=bool(event.get("ask_for_receipt", True)),
                episode_of_care_identifier=event.get("episode"),
            )
        except MessageError as exc:
            raise EventError(exc.message, code=exc.code) from None
        request = self.written_letter_request(build_message(letter), letter, origin)
        return replace(request, key=key)

    # --- what the hub refused -----------------------------------------------------------------

    async def _refused(self, item: Item, error: HubRefused) -> None:
        """An event's request refused for good: the hub's code and sentence go to
        ``rejected/refused-<event id>.txt`` (a letter's come back as an XCTL01 instead)."""
        if item.kind is ItemKind.MESSAGE or not item.key.startswith(EVENT_KEY):
            await super()._refused(item, error)
            return
        event_id = item.key.removeprefix(EVENT_KEY)
        name = refusal_file_name(event_id)
        text = _refusal_text(event_id, item, error)
        await asyncio.to_thread(write_atomically, self.events.rejected, name, text.encode())
        log.info("refusal written to rejected/ item=%d code=%s", item.id, error.code)

    # --- consent ids ------------------------------------------------------------------------

    async def _sent(self, item: Item, result: Any) -> None:
        if (
            item.kind is ItemKind.CONSENT
            and item.ref is not None
            and isinstance(result, dict)
            and result.get("id")
        ):
            await self.db.remember(f"consent:{item.ref}", str(result["id"]))

    async def _prepare(self, item: Item) -> Item:
        if item.kind is not ItemKind.CONSENT_REVOKE or item.ref is None:
            return await super()._prepare(item)
        hub_id = await self.db.recall(f"consent:{item.ref}")
        if hub_id is None and ":" in item.ref:
            # a consent sent before the ref had a column was remembered under the part of
            # its ref after the last colon (schema version 0, adapters/localdb.py)
            hub_id = await self.db.recall(f"consent:{item.ref.rsplit(':', 1)[-1]}")
        if hub_id is None:
            raise HubRefused(
                "the hub never recorded this consent, so it cannot be revoked there",
                code="unknown-consent",
            )
        return replace(item, path=f"{item.path}/{hub_id}")


def refusal_file_name(event_id: str) -> str:
    """``refused-<event id>.txt``: the id as it is when it is a plain file name (letters,
    digits, ``.``, ``_``, ``-``, 100 at most), else made one and told apart by a digest."""
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", event_id)[:100]
    if plain != event_id:
        plain += "-" + hashlib.sha256(event_id.encode()).hexdigest()[:12]
    return f"refused-{plain}.txt"


def _refusal_text(event_id: str, item: Item, error: HubRefused) -> str:
    """What a refusal file says: the event, where it came from, when, and the hub's code and
    sentence on the line the event had (as a rejected line's reason file says it)."""
    source, _, line = item.origin.rpartition(":")
    door, _, name = source.partition(":")
    where_from = {"events": "file", "webhook": "webhook batch"}.get(door, "from")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    sentence = " ".join((error.detail or "no detail").split())  # one line
    return (
        f"event: {event_id}\n"
        f"type: {_EVENT_TYPE.get(item.kind, item.kind.value)}\n"
        f"{where_from}: {name or source}\n"
        f"at: {stamp}\n"
        f"line {line or 0}: {error.code}: refused by the hub: {sentence}\n"
    )


def _checked_document(value: Any) -> str:
    """A consent event's ``document``, when it has the shape of a compact JWS (the hub checks
    everything else)."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_CONSENT_DOCUMENT_LENGTH
        or not _COMPACT_JWS.fullmatch(value)
    ):
        raise EventError(
            "document is the consent service's signed document as issued: a compact JWS, "
            f"three base64url parts header.payload.signature, {MAX_CONSENT_DOCUMENT_LENGTH} "
            "characters at most",
            code="consent-document-malformed",
        )
    return value


def _lines(text: str) -> list[str]:
    """JSON lines end at a line feed (a carriage return before it is dropped) and nowhere
    else: JSON strings may hold U+2028, NEL and the like unescaped, which ``str.splitlines``
    would cut."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _check_text(event: dict[str, Any]) -> None:
    """Refuse strings that are not text: a JSON escape may stand for an unpaired surrogate
    (U+D800..U+DFFF), which no UTF-8 request body or database row can hold."""
    try:
        json.dumps(event, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise EventError(
            "a string holds an unpaired surrogate (U+D800..U+DFFF): not text", code="invalid-text"
        ) from None


def _checked_ref(value: Any) -> str:
    ref = str(value)
    if not REF_PATTERN.fullmatch(ref):
        raise EventError(
            f"ref is 1-{REF_LENGTH} letters, digits, '.', '_', ':' or '-'", code="invalid-ref"
        )
    return ref


def _judge_entry(model: type[E], rule: Callable[[E], None], payload: dict[str, Any]) -> None:
    """Judge an index entry with the hub's own model and rules (:mod:`wire.entries`), so the
    case system hears of an entry the hub would refuse on the event's own line, with the
    hub's code, instead of an ``accepted`` that the hub then refuses for good."""
    try:
        rule(model.model_validate(payload))
    except ValidationError as exc:
        raise EventError(
            f"not a valid entry: {entry_problems(exc)}", code="invalid-entry"
        ) from None
    except EntryRefused as exc:
        raise EventError(exc.message, code=exc.code) from None
