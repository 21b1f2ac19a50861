"""The HL7 v2 side shared by the GP and psychiatry adapters: an MLLP listener whose messages
become index updates (and, for the GP, letters), each answered with an ACK.

What becomes what (the fields each object is read from are documented in
:mod:`messages.hl7.model`):

=====================  ==================================================================
``SIU^S12``..``S15``   ``PUT /v1/appointments/{SCH-2}``: booked, or cancelled for ``S15``
``ADT^A04``            ``PUT /v1/cases/{PV1-19}``: the organisation's case, ``active``
``ADT^A03``            the same case, ``closed`` (opened on the date its A04 said)
``REF^I12``            GP only (:mod:`adapters.gp`)
=====================  ==================================================================

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
  unchanged.

Updates about the same child reach the hub in the order the messages came (an episode's
start before its appointments and its end); other children's go in parallel. Each stored
request is keyed by the sending facility and ``MSH-10``: a message sent again
after a lost ACK is recognised and answered as the first time, not stored twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, ClassVar

from adapters.base import Adapter, path_segment
from adapters.errors import AdapterError, OutboxError
from adapters.mllp_listener import MllpListener
from adapters.outbox import ItemKind, ItemState, Request
from messages.errors import Hl7Error
from messages.hl7.ack import ack_for
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
from messages.hl7.parse import Hl7Message
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
        self.listener = MllpListener(
            self.handle_hl7,
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
        )
        return health

    # --- one message ------------------------------------------------------------------------

    async def handle_hl7(self, payload: bytes) -> bytes | None:
        """The ACK for one received HL7 message (None when its MSH cannot be read)."""
        received = receive(payload)
        msg = received.message
        if msg is None:
            code = received.error.code if received.error else "unreadable"
            log.warning("hl7 unreadable code=%s", code)
            return None
        if received.error is not None or received.result is None:
            assert received.ack is not None
            log.warning(
                "hl7 refused event=%s ack=AE code=%s",
                msg.event,
                received.error.code if received.error else "-",
            )
            return self._answer(received.ack, AckCode.ERROR)
        try:
            requests = await self.requests_for(received.result, msg)
        except Hl7Error as exc:
            log.warning("hl7 refused event=%s ack=AE code=%s", msg.event, exc.code)
            return self._answer(ack_for(msg, AckCode.ERROR, exc), AckCode.ERROR)
        code, reason = await self._store(requests)
        log.info("hl7 event=%s ack=%s", msg.event, code.value)
        return self._answer(ack_for(msg, code, reason), code)

    def _answer(self, er7: str, code: AckCode) -> bytes:
        self.acks[code.value] += 1
        return encode(er7)

    async def _store(self, requests: list[Request]) -> tuple[AckCode, str | Hl7Error | None]:
        if self.outbox.credential_refused:  # nothing stored: the sender keeps it and resends
            return AckCode.REJECT, Hl7Error(
                "the hub refuses this system's credential; nothing was stored: "
                "send the message again later",
                code="credential-refused",
                segment=None,
            )
        hub_up = self.outbox.hub_reachable
        try:
            stored = await self.outbox.put_many(requests)
        except OutboxError as exc:
            log.error("outbox cannot store: %s; trying the hub directly", exc.code)
            return await self._direct(requests)
        mllp = self.config.mllp
        assert mllp is not None
        if not hub_up or mllp.ack_wait <= 0:
            return AckCode.ACCEPT, None
        # the message's primary request (the letter of a referral, the one update of any
        # other message) decides; what follows it (a referral's case entry) goes on its own
        attempt = await self.outbox.first_attempt(stored[0][0], mllp.ack_wait)
        if attempt is not None and attempt.state is ItemState.REFUSED:
            code = attempt.code or "hub-refused"
            return AckCode.ERROR, Hl7Error(f"the hub refused it: {code}", code=code, segment=None)
        return AckCode.ACCEPT, None

    async def _direct(self, requests: list[Request]) -> tuple[AckCode, str | Hl7Error | None]:
        """The outbox failed: only a hub that takes everything now saves an AA."""
        for request in requests:
            try:
                await self.hub.call(
                    request.method,
                    request.path,
                    body=request.body,
                    content_type=request.content_type,
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

    async def requests_for(self, result: DomainObject, msg: Hl7Message) -> list[Request]:
        """The outbox requests one message becomes. Raises Hl7Error for what cannot be sent."""
        if isinstance(result, Appointment):
            return [self.appointment_request(result, msg)]
        if isinstance(result, CareEpisodeEvent):
            return [await self.case_request(result, msg)]
        return await self.referral_requests(result, msg)

    async def referral_requests(self, referral: Referral, msg: Hl7Message) -> list[Request]:
        raise Hl7Error(
            f"this adapter does not take {msg.event} messages",
            segment="MSH",
            code="unsupported-message",
        )

    def appointment_request(self, appointment: Appointment, msg: Hl7Message) -> Request:
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
            self._key(msg, "appointment"),
            ItemKind.APPOINTMENT,
            "PUT",
            f"/v1/appointments/{path_segment(ref)}",
            payload,
            order_key=f"child:{appointment.child_cpr.digits}",
            origin=f"hl7:{msg.event}",
        )

    async def case_request(self, event: CareEpisodeEvent, msg: Hl7Message) -> Request:
        day = local_date(event.occurred_at)
        memo = f"case-opened:{event.case_ref}"
        if event.kind is EpisodeEventKind.START:
            await self.db.remember(memo, day)
            opened, closed, status = day, None, "active"
        else:
            opened = await self.db.recall(memo) or day
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
