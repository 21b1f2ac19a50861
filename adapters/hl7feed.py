"""The HL7 v2 side shared by the GP and psychiatry adapters: an MLLP listener whose messages
become index updates (and, for the GP, letters), each answered with an ACK.

What becomes what (the fields each object is read from are documented in
:mod:`messages.hl7.model`):

=====================  ==================================================================
``SIU^S12``..``S15``   ``PUT /v1/appointments/{SCH-2}``: booked, or cancelled for ``S15``;
                       linked to the case ``PV1-19`` names when the adapter knows it (below)
``ADT^A04``            ``PUT /v1/cases/{PV1-19}``: the organisation's case, ``active``
``ADT^A03``            the same case, ``closed`` (opened on the date its A04 said)
``REF^I12``            GP only (:mod:`adapters.gp`)
``QBP^Q11``            a query, answered ``RSP^K11`` from the hub's overview; nothing is
                       stored, no control id claimed (:mod:`adapters.hl7query`)
=====================  ==================================================================

Appointments and visit numbers: ``PV1-19`` links an appointment to the case an ``A04`` or
``A03`` registered under that number (the adapter remembers which it registered). Most clinic
systems put their own visit number in ``PV1-19``, often one no case was registered for, so
such an appointment is not refused: it is sent **without** a case, and the adapter keeps a
note of it; when an ``A04``/``A03`` later registers that case for the same child (within the
outbox's ``keep_sent``), the appointment's latest state is sent again linked to it, after
the case. A visit number that names another child's case is still the hub's
``unknown-case-ref`` (``AE``): that is a conflict, not a missing case.

The ACK (``MSA-1``):

* ``AA`` — stored in the durable outbox, and its primary request (a referral's letter, any
  other message's one update) not refused by the hub within ``ack_wait`` seconds. When
  the hub is reachable the ACK waits that long for its first answer, so an ``AA`` normally
  means the hub has it; when it is not, the ACK does not wait: the outbox delivers later;
* ``AE`` — the message is wrong (unreadable field, an invalid CPR, an unsupported type), or
  the hub refused what it carried (an unknown receiver, say); ``ERR-5`` holds the code;
* ``AR`` — temporarily unable, nothing stored: the outbox cannot store the message **and**
  the hub cannot take it directly, or the hub refuses the organisation's credential
  (``ERR-3`` 207, ``ERR-5`` ``credential-refused``: a token rotated, expired or disabled; what
  the outbox holds waits, nothing is dropped). The sender should send it again later,
  unchanged. ``AR`` also rejects what cannot be processed at all (HL7 v2.5 §2.9.2): an
  ``MSH-12`` version that is not 2.x (``unsupported-version``), and a frame without a
  readable ``MSH`` (``MSA-2`` empty: there is no control id to repeat).

Every frame is answered and the connection stays open: garbage after a readable ``MSH``
(``bad-segment``) or two messages in one frame (``multiple-messages``) get an ``AE`` built
from the ``MSH`` alone, ``MSA-2`` its control id (:func:`messages.hl7.mapping.receive`).

Updates about the same child reach the hub in the order the messages came (an episode's
start before its appointments and its end); other children's go in parallel. Each stored
request is keyed by the sending facility and ``MSH-10``: a message sent again
after a lost ACK is recognised and answered as the first time, not stored twice.

A control id is the message's identity, so the adapter also keeps a digest of the content
it carried (:func:`messages.hl7.parse.content_digest`: every segment and field except
``MSH-7``, the date/time an engine may restamp on a resend). The same sending facility and
control id with the same content is a resend (``AA`` again, nothing stored twice); with
different content it is answered ``AE`` ``control-id-reused`` and nothing is sent: the
second message would otherwise be lost without a word behind the first one's key. Only
messages that get as far as being stored claim their control id (one refused for its
content may be corrected and sent again under the same id), and the digests are forgotten
with the outbox's memory of the keys (``keep_sent``).

One message, one commit: the claim is written in the outbox's transaction with the message's
items (:class:`adapters.outbox.ControlIdClaim`), which decides whether it is new, a resend
or a reused id; a failed write leaves neither. A message is mapped first and its claim
decided in that transaction, so the usual message costs no read before it is stored: a
resend stores nothing again and writes no notes (its items were there), and is answered
from its first stored item; a reused id stores nothing. Only a message its mapping refuses
reads its claim (:meth:`adapters.localdb.LocalDb.control_id_digest`): a resend of one
stored before is answered as it was, not refused by what changed since. A message with the
same control id arriving meanwhile on another connection waits for the first
(:meth:`~adapters.localdb.LocalDb.hold_control_id`). A message answered ``AR``
``credential-refused`` stores its claim alone: its resend is recognised and stored then.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from adapters.base import Adapter, path_segment
from adapters.errors import AdapterError, ControlIdReused, OutboxError
from adapters.hl7query import OverviewQueries, is_query_frame
from adapters.letterform import OWN_FORMAT
from adapters.mllp_listener import MllpListener
from adapters.outbox import ControlIdClaim, ItemKind, ItemState, Request
from messages.errors import Hl7Error
from messages.hl7.ack import ack_code_for, ack_for
from messages.hl7.mapping import DomainObject, encode, receive
from messages.hl7.model import (
    COPENHAGEN,
    AckCode,
    Appointment,
    AppointmentStatus,
    CareEpisodeEvent,
    EpisodeEventKind,
    Referral,
)
from messages.hl7.parse import Hl7Message, content_digest
from wire.errors import HubRefused, HubUnavailable

__all__ = ["Hl7Adapter"]

log = logging.getLogger(__name__)


def local_date(moment: datetime) -> str:
    return moment.astimezone(COPENHAGEN).date().isoformat()


class Hl7Adapter(Adapter):
    """An adapter with an MLLP listener for its sector system's HL7 v2 feed."""

    kind: ClassVar[str] = "hl7"
    accepts_referrals: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mllp = self.config.mllp
        assert mllp is not None  # checked by AdapterConfig
        self.queries = OverviewQueries(self.hub)
        self.listener = MllpListener(
            self._frame,
            host=mllp.host,
            port=mllp.port,
            max_frame=mllp.max_frame,
            name=f"{self.kind}-mllp",
            idle_timeout=mllp.idle_timeout,
            frame_timeout=mllp.frame_timeout,
            write_timeout=mllp.write_timeout,
            max_connections=mllp.max_connections,
        )
        self.acks: dict[str, int] = {"AA": 0, "AE": 0, "AR": 0}

    @property
    def mllp_port(self) -> int:
        return self.listener.port

    async def _start_sector(self) -> None:
        try:
            await self.listener.start()
        except OSError as exc:
            raise AdapterError(
                f"the MLLP listener cannot bind {self.listener.host}:{self.listener.port}: "
                f"{exc.strerror}",
                code="mllp-bind",
            ) from None
        self._own(self._forget_unlinked(), "appointment-notes")

    async def _stop_sector(self, grace: float) -> None:
        await self.listener.stop(grace)

    def health(self) -> dict[str, Any]:
        health = super().health()
        stats = self.listener.stats
        health.update(
            mllp_port=self.listener.port,
            hl7_messages=stats.messages,
            acks=dict(self.acks),
            oversize_frames=stats.oversize_frames,
            unreadable=stats.unreadable,
            mllp_open_connections=stats.open_connections,
            mllp_closed_for_timeouts=stats.idle_timeouts
            + stats.frame_timeouts
            + stats.write_timeouts,
            mllp_evicted=stats.evicted,
            mllp_refused=stats.refused,
            queries=dict(self.queries.answered),
        )
        return health

    # --- one message ------------------------------------------------------------------------

    async def _frame(self, payload: bytes) -> bytes | None:
        """A query is answered from the hub (nothing stored); anything else is the feed's."""
        if is_query_frame(payload):
            return await self.queries.answer(payload)
        return await self.handle_hl7(payload)

    async def handle_hl7(self, payload: bytes) -> bytes | None:
        """The ACK for one received frame; every frame gets one (see the module docstring)."""
        received = receive(payload)
        msg = received.message
        if msg is None:
            code = received.error.code if received.error else "unreadable"
            self.listener.stats.unreadable += 1
            log.warning("hl7 unreadable ack=AR code=%s", code)
            return self._answer(received.ack, AckCode.REJECT)
        if received.error is not None or received.result is None:
            answer = ack_code_for(received.error) if received.error else AckCode.ERROR
            log.warning(
                "hl7 refused event=%s ack=%s code=%s",
                msg.event,
                answer.value,
                received.error.code if received.error else "-",
            )
            return self._answer(received.ack, answer)
        claim = ControlIdClaim(_control_key(msg), content_digest(msg))
        async with self.db.hold_control_id(claim.key):
            return await self._handle_claimed(received.result, msg, claim)

    async def _handle_claimed(
        self, result: DomainObject, msg: Hl7Message, claim: ControlIdClaim
    ) -> bytes:
        """The ACK for a readable message, its control id held (see the module docstring)."""
        notes: dict[str, str | None] = {}
        try:
            requests = await self.requests_for(result, msg, notes=notes)
        except Hl7Error as exc:  # nothing claimed: it may come back corrected under its id
            # ... unless it is a resend of one stored before, whose answer stands
            known = await self._known(result, msg, claim)
            if known is not None:
                return known
            log.warning("hl7 refused event=%s ack=AE code=%s", msg.event, exc.code)
            return self._answer(ack_for(msg, AckCode.ERROR, exc), AckCode.ERROR)
        except OutboxError as exc:  # the adapter's database: temporary, send it again
            log.error("hl7 not stored event=%s ack=AR code=%s", msg.event, exc.code)
            busy = "temporarily unable to store the message; send it again later"
            return self._answer(ack_for(msg, AckCode.REJECT, busy), AckCode.REJECT)
        except Exception as exc:  # a bug must not leave the sender without an answer
            log.error("hl7 mapping failed event=%s error=%s", msg.event, type(exc).__name__)
            known = await self._known(result, msg, claim)
            if known is not None:
                return known
            internal = Hl7Error("the message could not be processed here", code="internal")
            return self._answer(ack_for(msg, AckCode.ERROR, internal), AckCode.ERROR)
        try:
            code, reason, resend = await self._store(requests, claim, notes)
        except ControlIdReused:
            return self._reused(msg)
        if resend:  # counted by the outbox as a duplicate
            log.info("hl7 resend event=%s ack=%s", msg.event, code.value)
        elif code is AckCode.ACCEPT:
            await self._linked(requests)
            log.info("hl7 event=%s ack=%s", msg.event, code.value)
        else:
            log.info("hl7 event=%s ack=%s", msg.event, code.value)
        return self._answer(ack_for(msg, code, reason), code)

    async def _known(
        self, result: DomainObject, msg: Hl7Message, claim: ControlIdClaim
    ) -> bytes | None:
        """The answer to a message its mapping refuses when its control id was claimed
        before: a resend of a stored message is answered from its stored item, a reused id
        ``AE`` ``control-id-reused``; None when the id is new (or cannot be read now)."""
        try:
            known = await self.db.control_id_digest(
                claim.key, item_key=self._key(msg, self._first_item(result))
            )
        except OutboxError as exc:
            log.error("control id not checked: %s", exc.code)
            return None
        if known is None:
            return None
        if known.digest != claim.digest:
            return self._reused(msg)
        if known.item_id is None:  # claimed alone (answered AR before): nothing stands
            return None
        self.outbox.stats.duplicates += 1
        code, reason = (
            self._credential_refused()
            if self.outbox.credential_refused
            else await self._first_answer(known.item_id, self.outbox.hub_reachable)
        )
        log.info("hl7 resend event=%s ack=%s", msg.event, code.value)
        return self._answer(ack_for(msg, code, reason), code)

    def _first_item(self, result: DomainObject) -> str:
        """What the first request a message becomes is keyed by, after its control id
        (:meth:`_key`): the one :meth:`requests_for` puts first."""
        if isinstance(result, Appointment):
            return "appointment"
        if isinstance(result, CareEpisodeEvent):
            return "case"
        return "letter"

    def _reused(self, msg: Hl7Message) -> bytes:
        log.warning("hl7 refused event=%s ack=AE code=%s", msg.event, ControlIdReused.code)
        reused = Hl7Error(
            "MSH-10 (message control id) was used before by this sending facility for a "
            "different message; send a new message with a new control id",
            segment="MSH",
            code=ControlIdReused.code,
        )
        return self._answer(ack_for(msg, AckCode.ERROR, reused), AckCode.ERROR)

    async def _forget_unlinked(self, every: float = 3600.0) -> None:
        """Appointments still waiting for their case after ``keep_sent`` stay unlinked.
        (Control id claims are pruned with the outbox's sent items: :meth:`Outbox.prune`.)"""
        while True:
            await asyncio.sleep(every)
            horizon = time.time() - self.config.outbox.keep_sent
            try:
                for name, value in (await self.db.recall_prefix("unlinked:")).items():
                    if json.loads(value).get("at", 0) < horizon:
                        await self.db.forget(name)
            except OutboxError as exc:
                log.error("appointment notes not pruned: %s", exc.code)

    def _answer(self, er7: str, code: AckCode) -> bytes:
        self.acks[code.value] += 1
        return encode(er7)

    async def _store(
        self, requests: list[Request], claim: ControlIdClaim, notes: dict[str, str | None]
    ) -> tuple[AckCode, str | Hl7Error | None, bool]:
        """Store the message's requests with its control id claim and its notes, in one
        transaction, and say what the ACK is, and whether the message was a resend (its
        items were stored before: answered from them). Raises :class:`ControlIdReused`
        (nothing stored)."""
        if self.outbox.credential_refused:  # nothing stored: the sender keeps it and resends
            try:  # the claim is kept, so the resend is recognised as one
                await self.outbox.put_many([], claim=claim)
            except OutboxError as exc:
                log.error("control id not claimed: %s", exc.code)
            return (*self._credential_refused(), False)
        hub_up = self.outbox.hub_reachable
        try:
            stored = await self.outbox.put_many(requests, claim=claim, notes=notes)
        except OutboxError as exc:
            log.error("outbox cannot store: %s; trying the hub directly", exc.code)
            return (*await self._direct(requests), False)
        # the message's primary request (the letter of a referral, the one update of any
        # other message) decides; what follows it (a referral's case entry) goes on its own
        first_id, first_stored_now = stored[0]
        return (*await self._first_answer(first_id, hub_up), not first_stored_now)

    async def _first_answer(
        self, item_id: int, hub_up: bool
    ) -> tuple[AckCode, str | Hl7Error | None]:
        """``AA``, unless the hub refuses the stored item within ``ack_wait`` (``AE``); no
        wait when the hub was not reachable."""
        mllp = self.config.mllp
        assert mllp is not None
        if not hub_up or mllp.ack_wait <= 0:
            return AckCode.ACCEPT, None
        attempt = await self.outbox.first_attempt(item_id, mllp.ack_wait)
        if attempt is not None and attempt.state is ItemState.REFUSED:
            code = attempt.code or "hub-refused"
            return AckCode.ERROR, Hl7Error(f"the hub refused it: {code}", code=code, segment=None)
        return AckCode.ACCEPT, None

    @staticmethod
    def _credential_refused() -> tuple[AckCode, Hl7Error]:
        return AckCode.REJECT, Hl7Error(
            "the hub refuses this system's credential; nothing was stored: "
            "send the message again later",
            code="credential-refused",
            segment=None,
        )

    async def _direct(self, requests: list[Request]) -> tuple[AckCode, str | Hl7Error | None]:
        """The outbox failed: only a hub that takes everything now saves an AA."""
        for request in requests:
            try:
                body, content_type = request.body, request.content_type
                if content_type == OWN_FORMAT and body is not None:
                    body, content_type = await self.letter_forms.form(body)
                await self.hub.call(
                    request.method, request.path, body=body, content_type=content_type
                )
            except HubRefused as exc:
                return AckCode.ERROR, Hl7Error(f"the hub refused it: {exc.code}", code=exc.code)
            except HubUnavailable:
                return (
                    AckCode.REJECT,
                    "temporarily unable to store or forward the message; send it again later",
                )
        return AckCode.ACCEPT, None

    # --- mapping ----------------------------------------------------------------------------

    def _key(self, msg: Hl7Message, what: str) -> str:
        return f"hl7:{msg.routing.sending_facility}:{msg.control_id}:{what}"

    async def requests_for(
        self, result: DomainObject, msg: Hl7Message, *, notes: dict[str, str | None]
    ) -> list[Request]:
        """The outbox requests one message becomes. Raises Hl7Error for what cannot be sent.

        ``notes`` is filled with the small facts the message leaves behind (a case's opening
        day, an appointment waiting for its case: memo name to value, None to forget it),
        stored in the transaction that stores the requests (:meth:`Outbox.put_many`)."""
        if isinstance(result, Appointment):
            return [await self.appointment_request(result, msg, notes=notes)]
        if isinstance(result, CareEpisodeEvent):
            case = await self.case_request(result, msg, notes=notes)
            return [case, *await self._links(result, case.key)]
        return await self.referral_requests(result, msg)

    async def referral_requests(self, referral: Referral, msg: Hl7Message) -> list[Request]:
        raise Hl7Error(
            f"this adapter does not take {msg.event} messages",
            segment="MSH",
            code="unsupported-message",
        )

    async def appointment_request(
        self, appointment: Appointment, msg: Hl7Message, *, notes: dict[str, str | None]
    ) -> Request:
        """The appointment's ``PUT``, linked to its case when the adapter knows the case.

        ``PV1-19`` links an appointment to the case an ``ADT^A04``/``A03`` registered under
        that visit number. A visit number the adapter has registered no case for (most
        clinic systems put their own visit number there) does not refuse the appointment:
        it goes to the hub without a case, and the adapter remembers it (for ``keep_sent``)
        so that an ``A04``/``A03`` registering that case for the same child later links it.
        """
        case_ref = appointment.case_ref
        if case_ref is not None and await self.db.recall(_opened(case_ref)) is None:
            appointment = replace(appointment, case_ref=None)
        request = self._appointment_put(appointment, self._key(msg, "appointment"), msg.event)
        note = _unlinked(request.path)
        if case_ref is not None and appointment.case_ref is None:
            payload = json.loads(request.body or b"{}")
            payload["case_ref"] = case_ref
            pending = {"at": time.time(), "payload": payload, "event": msg.event}
            notes[note] = json.dumps(pending)  # the appointment's latest
            log.info("hl7 appointment without a known case event=%s", msg.event)
        else:  # newer news: an old note is stale (forgotten with the store, unread)
            notes[note] = None
        return request

    async def _links(self, event: CareEpisodeEvent, case_key: str) -> list[Request]:
        """The appointments that named this case before it was registered, linked now
        (sent after the case: same order key). Only the same child's."""
        links = []
        prefix = _unlinked("")
        for name, value in (await self.db.recall_prefix(prefix)).items():
            pending = json.loads(value)
            payload = pending["payload"]
            if payload.get("case_ref") != event.case_ref:
                continue
            if payload.get("child_cpr") != event.child_cpr.digits:
                continue
            links.append(
                self.json_request(
                    f"{case_key}:link:{name}",
                    ItemKind.APPOINTMENT,
                    "PUT",
                    name.removeprefix(prefix),
                    payload,
                    order_key=f"child:{event.child_cpr.digits}",
                    origin=f"hl7:{pending.get('event', '')}",
                )
            )
        return links

    async def _linked(self, requests: list[Request]) -> None:
        """Stored: the appointments they link are no longer waiting for their case."""
        for request in requests:
            _, found, name = request.key.partition(":link:")
            if not found:
                continue
            try:
                await self.db.forget(name)
            except OutboxError as exc:  # linked again at the next A04/A03: harmless
                log.error("appointment note not forgotten: %s", exc.code)

    def _appointment_put(self, appointment: Appointment, key: str, event: str) -> Request:
        cancelled = appointment.status is AppointmentStatus.CANCELLED
        payload: dict[str, Any] = {
            "child_cpr": appointment.child_cpr.digits,
            "starts_at": appointment.start.isoformat(),
            "ends_at": appointment.end.isoformat(),
            "status": "cancelled" if cancelled else "booked",
            "location": appointment.location or None,
            "case_ref": appointment.case_ref,
            "with": {
                "name": str(appointment.with_whom.name) or "ukendt",
                "role": appointment.with_whom.role or "behandler",
            },
        }
        ref = appointment.appointment_id
        return self.json_request(
            key,
            ItemKind.APPOINTMENT,
            "PUT",
            f"/v1/appointments/{path_segment(ref)}",
            payload,
            order_key=f"child:{appointment.child_cpr.digits}",
            origin=f"hl7:{event}",
        )

    async def case_request(
        self, event: CareEpisodeEvent, msg: Hl7Message, *, notes: dict[str, str | None]
    ) -> Request:
        day = local_date(event.occurred_at)
        memo = _opened(event.case_ref)
        if event.kind is EpisodeEventKind.START:
            notes[memo] = day
            opened, closed, status = day, None, "active"
        else:
            known = await self.db.recall(memo)
            opened = known or day
            if known is None:  # the case is known from now on (appointments link to it)
                notes[memo] = opened
            closed, status = max(day, opened), "closed"
        return self.case_upsert(
            key=self._key(msg, "case"),
            ref=event.case_ref,
            cpr=event.child_cpr.digits,
            status=status,
            opened_on=opened,
            closed_on=closed,
            origin=f"hl7:{msg.event}",
        )

    def case_upsert(
        self,
        *,
        key: str,
        ref: str,
        cpr: str,
        status: str,
        opened_on: str,
        closed_on: str | None,
        origin: str,
        kind: str | None = None,
        title: str | None = None,
    ) -> Request:
        payload: dict[str, Any] = {
            "child_cpr": cpr,
            "kind": kind or self.case_kind,
            "status": status,
            "opened_on": opened_on,
            "closed_on": closed_on,
            "contact": self.config.contact.as_json(),
        }
        if title:
            payload["title"] = title
        return self.json_request(
            key,
            ItemKind.CASE,
            "PUT",
            f"/v1/cases/{path_segment(ref)}",
            payload,
            order_key=f"child:{cpr}",
            origin=origin,
        )


def _control_key(msg: Hl7Message) -> str:
    """What a control id is unique within: the sending facility (``MSH-4``)."""
    return f"hl7:{msg.routing.sending_facility}:{msg.control_id}"


def _opened(case_ref: str) -> str:
    """The memo of a case this adapter registered: the day it was opened."""
    return f"case-opened:{case_ref}"


def _unlinked(path: str) -> str:
    """The memo of an appointment (its hub path) that named a case not yet registered."""
    return f"unlinked:{path}"
