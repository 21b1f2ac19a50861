"""A submitted message, read and put into its receiver's format: what ``POST /v1/messages``
commits.

The sender sends OIOXML (``application/xml``) or MedCom FHIR (``application/fhir+json``,
``application/fhir+xml``); each organisation receives its own format
(``organisation.format``). The hub converts at intake and stores both forms: ``body`` is
what the receiver fetches, ``original`` the sender's bytes, so the sender's tracking and the
receiver's fetch are both exact. Every message is routed in OIOXML's terms (type, envelope
and letter identifiers): a CareCommunication is an XDIS91, an Acknowledgement an XCTL03 or
XCTL02, and a FHIR message's identifiers are derived from its Bundle.id and
MessageHeader.id (:func:`messages.identifiers.derived_message_id`), so the same bundle sent
again is a duplicate as the same XDIS91 is.

=============  ==============  ===============================================================
sent           received as     what the hub does
=============  ==============  ===============================================================
XDIS91         FHIR            a CareCommunication and a conversion record: with the data of
                               a held XBIN01 (sent before it); else, when it refers to
                               attachments, converted without their data and held (accepted,
                               not in the inbox, not fetchable) until its XBIN01 comes or
                               60 minutes pass (then released without the data by the
                               sweep, C10); looked for again after its commit
                               (:func:`pair_held`: sent at once with it)
XBIN01         FHIR            its held XDIS91 converted again with the data and released in
                               this intake's transaction, the record told of the XBIN01, the
                               XBIN01 itself held (inside the letter: ``paired_with``, its
                               status follows the letter's); no XDIS91 yet: held
                               for it up to 60 minutes (looked for again after its commit),
                               then as is; its XDIS91 released without it already, or not
                               all the XDIS91's attachments in it: as is (late or invalid:
                               C10 judges the XBIN01 as one message)
XCTL02/03      FHIR            gathered on the conversion record; once each OIOXML letter has
                               one, an Acknowledgement (C11); none within three months: as is
CareComm.      OIOXML          an XDIS91 and, with attachments, one XBIN01 (C9), stored
                               together; a conversion record
Acknowledgem.  OIOXML          one XCTL per OIOXML letter of its record (C11); none: as is
FHIR           FHIR            carried as it is
=============  ==============  ===============================================================
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from aiohttp import web

from coordinator.errors import CoordinatorError, Forbidden, NetworkReceiptRefused, UnknownReceiver
from coordinator.mailbox.conversion import (
    FHIR_JSON,
    Awaiting,
    Carried,
    Claim,
    Partner,
    claim_letter,
    held_binaries,
    letter_awaiting,
    record_for_message,
    record_for_receipt,
    release_binary,
)
from coordinator.mailbox.intake import Accepted, Form, Incoming
from coordinator.state import CLOCK, COMMITTER, DIRECTORY, READER, REGISTRY, SETTINGS
from coordinator.tables import MessageFormat
from messages.errors import MessageError
from messages.fhir.build import build_fhir
from messages.fhir.convert.letter import (
    SorEntry,
    care_communication_from_oioxml,
    oioxml_from_care_communication,
)
from messages.fhir.convert.receipts import receipts_from_acknowledgement
from messages.fhir.convert.record import ConversionRecord, record_facts, record_from_facts
from messages.fhir.convert.subject import subject_from
from messages.fhir.model import Acknowledgement, CareCommunication
from messages.fhir.read import FhirMessage, read_fhir
from messages.fhir.rules import require_valid
from messages.identifiers import cpr_warning, derived_message_id
from messages.medcom.binary import read_binary_letter
from messages.medcom.correspondence import read_correspondence
from messages.medcom.documents import build_message
from messages.medcom.model import BinaryLetter, Correspondence, MessageType, Receipt
from messages.medcom.routing import (
    LetterFacts,
    OriginalRef,
    Routing,
    letter_facts_of,
    read_letter,
    routing_of,
)
from messages.xmlsafe import parse_xml

log = logging.getLogger(__name__)

__all__ = ["FHIR_TYPES", "FHIR_XML", "OIOXML_TYPES", "pair_held", "submitted"]

OIOXML_TYPES = frozenset({"application/xml", "text/xml"})
FHIR_XML = "application/fhir+xml"
FHIR_TYPES = frozenset({FHIR_JSON, FHIR_XML})
OFF_LOOP_BYTES = 64 * 1024  # read bigger documents in a thread

T = TypeVar("T")


async def _maybe_off_loop(size: int, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    if size > OFF_LOOP_BYTES:
        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def _sor_directory(*found: Partner) -> dict[str, SorEntry]:
    return {p.gln: SorEntry(sor=p.sor, name=p.name) for p in found if p.sor}


async def _partners(app: web.Application, sender: str, receiver: str) -> tuple[Partner, Partner]:
    found = await app[DIRECTORY].partners([sender, receiver])
    if receiver not in found:
        raise UnknownReceiver(f"the receiver {receiver} is not registered at the hub")
    if sender not in found:  # the caller's own organisation: registered, or not let in
        raise Forbidden(f"the sender {sender} is not registered", code="sender-mismatch")
    return found[sender], found[receiver]


def _own(sender: str | None, caller: str) -> str:
    if sender != caller:
        raise Forbidden(
            f"the letter's sender {sender} is not your organisation {caller}",
            code="sender-mismatch",
        )
    return sender


async def submitted(request: web.Request, body: bytes, content_type: str, caller: str) -> Incoming:
    """The message ``caller`` sent, read and in its receiver's format."""
    if content_type in FHIR_TYPES:
        return await _from_fhir(request.app, body, content_type, caller)
    return await _from_oioxml(request.app, body, caller)


# --- OIOXML in -------------------------------------------------------------------------------


async def _from_oioxml(app: web.Application, body: bytes, caller: str) -> Incoming:
    registry = app[REGISTRY]
    limit = app[SETTINGS].max_body_bytes
    routing, letter = await _maybe_off_loop(
        len(body), read_letter, body, registry=registry, max_bytes=limit
    )
    if routing.type is MessageType.XCTL01:
        raise NetworkReceiptRefused("XCTL01 network receipts are made by the hub, not sent to it")
    _own(routing.sender_gln, caller)
    for warning in routing.warnings:
        log.warning("message from %s: %s", routing.sender_gln, warning)
    now = app[CLOCK]()
    sender, receiver = await _partners(app, routing.sender_gln, routing.receiver_gln)
    incoming = Incoming(routing, body, now, letter)
    if receiver.format is MessageFormat.OIOXML:
        return incoming
    if routing.type is MessageType.XDIS91:
        return await _letter_to_fhir(app, incoming, sender, receiver)
    if routing.type is MessageType.XBIN01:
        return await _binary_to_fhir(app, incoming, sender, receiver)
    return await _receipt_to_fhir(app, incoming)


async def _letter_to_fhir(
    app: web.Application, incoming: Incoming, sender: Partner, receiver: Partner
) -> Incoming:
    """An XDIS91 for a FHIR organisation becomes a CareCommunication: with the data of its
    held XBIN01 (sent before it; paired in the commit, and converted without the data too
    in case the sweep releases that XBIN01 before it: :func:`~coordinator.mailbox.
    conversion.carry_binary`), or, when its XBIN01 has not come, held (accepted, not in the
    receiver's inbox) converted without the data until the XBIN01 comes or
    :data:`BINARY_WAIT` passes (C10)."""
    body = incoming.body
    letter = await _maybe_off_loop(len(body), lambda: read_correspondence(parse_xml(body)))
    held = await _held_binary(app, letter)
    binary = held[1] if held is not None else None
    message, data, record = await _converted(letter, binary, sender, receiver, len(body))
    waits = binary is None and bool(_wanted(letter))
    carries = None
    if held is not None:  # and if the sweep releases that XBIN01 before this commit:
        ids = (message.bundle_id, message.header_id)
        _, bare, alone = await _converted(letter, None, sender, receiver, len(body), ids)
        carries = Carried(binary=held[0], bare=bare, record=alone)
    return dataclasses.replace(
        incoming,
        body=data,
        form=Form(
            sent_as=MessageFormat.OIOXML,
            body_type=FHIR_JSON,
            original=body,
            fhir_bundle_id=message.bundle_id,
            fhir_message_id=message.header_id,
            held=waits,
            conversion=record,
            carries=carries,
        ),
    )


async def _converted(
    letter: Correspondence,
    binary: BinaryLetter | None,
    sender: Partner,
    receiver: Partner,
    size: int,
    ids: tuple[str, str] | None = None,
) -> tuple[CareCommunication, bytes, dict[str, Any]]:
    """The CareCommunication for ``letter`` (and ``binary``), its bytes and its conversion
    record's row; ``ids``: the Bundle.id and MessageHeader.id it was given before."""
    message = care_communication_from_oioxml(
        letter, binary, directory=_sor_directory(sender, receiver)
    )
    if ids is not None:
        message = dataclasses.replace(message, bundle_id=ids[0], header_id=ids[1])
    data = await _maybe_off_loop(size, build_fhir, message)
    record = ConversionRecord(message=message, letter=letter, binary=binary)
    return message, data, _record_row(record, fhir_gln=receiver.gln, oioxml_gln=sender.gln)


async def _held_binary(
    app: web.Application, letter: Correspondence
) -> tuple[uuid.UUID, BinaryLetter, int] | None:
    """The held XBIN01 (its id, read, its size) that carries all the objects ``letter``
    refers to, if it came first. One that carries only some of them is not its XBIN01: C10
    judges the XBIN01 as one message (arrived in time and valid, or not), so the letter goes
    without the data after the hour and that XBIN01 as it is."""
    wanted = _wanted(letter)
    if not wanted:
        return None
    rows = await held_binaries(
        reader=app[READER], sender=letter.sender.ean, receiver=letter.receiver.ean
    )
    for row in rows:
        body = bytes(row.body)
        try:
            binary = await _maybe_off_loop(len(body), _read_binary, body)
        except MessageError:
            continue
        if wanted <= _objects(binary):
            return row.id, binary, len(body)
    return None  # the letter waits for it (C10)


def _read_binary(body: bytes) -> BinaryLetter:
    return read_binary_letter(parse_xml(body))


def _wanted(letter: Correspondence) -> set[str]:
    return {_object_key(r.binary.object_identifier) for r in letter.references if r.binary}


def _objects(binary: BinaryLetter) -> set[str]:
    return {_object_key(o.object_identifier) for o in binary.objects}


async def _binary_to_fhir(
    app: web.Application, incoming: Incoming, sender: Partner, receiver: Partner
) -> Incoming:
    """An XBIN01 for a FHIR organisation: one whose XDIS91 is held for it completes that
    letter (converted again, with the data; the XBIN01 itself is stored held, in the
    letter's CareCommunication); one whose XDIS91 was released without it is late, and one
    that does not carry all its XDIS91's attachments invalid: each passes as it is (C10
    speaks of the XBIN01 as one message, so a part of the data is not sent in the letter);
    one that came first waits (held) for its XDIS91 (C10)."""
    body = incoming.body
    binary = await _maybe_off_loop(len(body), _read_binary, body)
    found = await letter_awaiting(
        reader=app[READER],
        fhir_gln=receiver.gln,
        oioxml_gln=sender.gln,
        objects=_objects(binary),
        now=incoming.received_at,
    )
    if found is None:
        return dataclasses.replace(incoming, form=Form(held=True))
    size = len(body)
    claim = await _claim(found, binary, sender, receiver, size) if found.held else None
    if claim is None:  # late (C10)
        return incoming
    return dataclasses.replace(incoming, form=Form(held=True, claim=claim))


async def _claim(
    found: Awaiting, binary: BinaryLetter, sender: Partner, receiver: Partner, size: int
) -> Claim | None:
    """The held letter ``found`` converted again with ``binary``'s data, under the ids its
    receiver will see; None if it cannot be, or ``binary`` lacks some of its attachments
    (it then goes without the data after the hour: C10)."""
    original = found.original
    if original is None or found.message_id is None or found.fhir_message_id is None:
        return None
    try:
        letter = await _maybe_off_loop(
            len(original), lambda: read_correspondence(parse_xml(original))
        )
    except MessageError:
        return None
    if not _wanted(letter) <= _objects(binary):
        return None
    ids = (found.fhir_bundle_id or "", found.fhir_message_id)
    _, data, record = await _converted(letter, binary, sender, receiver, size, ids)
    return Claim(letter=found.message_id, record_id=found.record_id, body=data, record=record)


async def pair_held(app: web.Application, incoming: Incoming, accepted: Accepted) -> None:
    """After the commit of an XDIS91 or an XBIN01 stored held for a FHIR receiver: pair it
    with its other half if that was committed meanwhile (C10).

    Each intake looks for the other half before its commit; an XDIS91 and its XBIN01 sent
    at once (an outbox sends with concurrency; the committer groups them in one
    transaction, or hub processes commit them side by side) do not see each other there,
    and both would be held. Looked for again after its own commit, at least one of the two
    sees the other: the later look comes after both commits. Both may: the pairing
    (:func:`~coordinator.mailbox.conversion.claim_letter`) locks the conversion record's row
    and does nothing for a pair already made, so it is done once.

    Why not in the committing transaction: the pairing converts the letter again with the
    attachment's data (XML read, FHIR built, sized by the attachment), and the committer's
    transactions are the hub's one writer (on SQLite run on the event loop, holding the
    write lock): they hold statements, not conversions. So the conversion is done here,
    between two transactions, and only the pairing is written in one. Nothing is lost if
    this process stops in between: the sweep lets both go after the hour, as C10 says, or
    the sender's retry (a duplicate: its row is not written again) pairs them here, as the
    pairing is conditional on both halves' rows and done once."""
    form, kind = incoming.form, incoming.routing.type
    if kind not in (MessageType.XDIS91, MessageType.XBIN01):
        return
    converted = form.held or form.claim is not None or form.carries is not None
    if not converted or (not accepted.duplicate and (not form.held or form.claim is not None)):
        return  # not for a FHIR receiver's pairing, or paired in its own transaction
    r = incoming.routing
    try:
        sender, receiver = await _partners(app, r.sender_gln, r.receiver_gln)
        if kind is MessageType.XDIS91:
            original = form.original or b""
            letter = await _maybe_off_loop(
                len(original), lambda: read_correspondence(parse_xml(original))
            )
            held = await _held_binary(app, letter)
            if held is None:
                return  # its XBIN01 has not come: it waits (C10)
            binary_id, binary, size = held
        else:
            binary_id, size = accepted.id, len(incoming.body)
            body = incoming.body
            binary = await _maybe_off_loop(size, _read_binary, body)
        now = app[CLOCK]()
        found = await letter_awaiting(
            reader=app[READER],
            fhir_gln=receiver.gln,
            oioxml_gln=sender.gln,
            objects=_objects(binary),
            now=now,
        )
        if found is None:
            return  # its XDIS91 has not come: it waits (C10)
        claim = await _claim(found, binary, sender, receiver, size) if found.held else None
        committer = app[COMMITTER]
        if claim is not None:
            await committer.write(partial(claim_letter, claim=claim, binary_id=binary_id, at=now))
        elif kind is MessageType.XBIN01:  # late, or not its letter's XBIN01: as is (C10)
            await committer.write(partial(release_binary, binary_id=binary_id, at=now))
    except (CoordinatorError, MessageError) as exc:  # the sweep lets them go after the hour
        log.warning("held %s %s not paired: %s", kind.value, accepted.id, type(exc).__name__)


def _object_key(identifier: str) -> str:
    return identifier.replace("-", "").lower()


async def _receipt_to_fhir(app: web.Application, incoming: Incoming) -> Incoming:
    r = incoming.routing
    original = r.original
    if original is None:
        return incoming
    found = await record_for_receipt(
        reader=app[READER],
        fhir_gln=r.receiver_gln,
        oioxml_gln=r.sender_gln,
        letters=original.letter_identifiers,
        now=incoming.received_at,
    )
    if found is None:  # no conversion record (any more): the receipt passes as it is
        return incoming
    return dataclasses.replace(incoming, form=Form(held=True, gather=found))


def _record_row(record: ConversionRecord, *, fhir_gln: str, oioxml_gln: str) -> dict[str, Any]:
    binary = record.binary
    facts = record_facts(record)
    if binary is None:  # attachments whose XBIN01 had not come: a late one passes as is
        facts["awaiting"] = sorted(
            _object_key(r.binary.object_identifier) for r in record.letter.references if r.binary
        )
    return {
        "fhir_gln": fhir_gln,
        "oioxml_gln": oioxml_gln,
        "fhir_message_id": record.message.header_id,
        "letter_envelope_id": record.letter.envelope.identifier,
        "letter_id": record.letter.letter_identifier,
        "binary_envelope_id": binary.envelope.identifier if binary else None,
        "binary_letter_id": binary.letter_identifier if binary else None,
        "facts": json.dumps(facts, separators=(",", ":")),
        "letter_receipt": None,
        "binary_receipt": None,
        "answered": False,
    }


# --- FHIR in ---------------------------------------------------------------------------------


def _read_valid(body: bytes, max_bytes: int) -> FhirMessage:
    message = read_fhir(body, max_bytes=max_bytes)
    require_valid(message)
    return message


async def _from_fhir(app: web.Application, body: bytes, content_type: str, caller: str) -> Incoming:
    limit = app[SETTINGS].max_body_bytes
    message = await _maybe_off_loop(len(body), _read_valid, body, limit)
    sender_gln = _own(message.sender.gln, caller)
    receiver_gln = message.receiver.gln or ""
    sender, receiver = await _partners(app, sender_gln, receiver_gln)
    now = app[CLOCK]()
    if isinstance(message, CareCommunication):
        if receiver.format is MessageFormat.FHIR:
            return _fhir_as_is(message, body, content_type, now)
        return await _letter_to_oioxml(app, message, body, now, sender, receiver)
    return await _ack_to_oioxml(app, message, body, content_type, now, sender, receiver)


def _fhir_routing(
    kind: MessageType,
    message: FhirMessage,
    original: OriginalRef | None = None,
) -> Routing:
    return Routing(
        type=kind,
        envelope_identifier=derived_message_id(message.bundle_id, "envelope"),
        letter_identifier=derived_message_id(message.header_id, "letter"),
        sender_gln=message.sender.gln or "",
        receiver_gln=message.receiver.gln or "",
        ack_requested=kind is MessageType.XDIS91,  # a FHIR letter is always acknowledged
        episode_of_care_identifier=None,
        original=original,
        warnings=(),
    )


def _fhir_facts(message: CareCommunication) -> LetterFacts:
    cpr = next((c for c in message.patient.cprs if cpr_warning(c) is None), None)
    return LetterFacts(patient_cpr=cpr, subject=subject_from(message.category, message.topic))


def _fhir_form(message: FhirMessage, content_type: str) -> Form:
    return Form(
        sent_as=MessageFormat.FHIR,
        body_type=content_type,
        fhir_bundle_id=message.bundle_id,
        fhir_message_id=message.header_id,
    )


def _fhir_as_is(
    message: CareCommunication, body: bytes, content_type: str, now: datetime
) -> Incoming:
    return Incoming(
        _fhir_routing(MessageType.XDIS91, message),
        body,
        now,
        _fhir_facts(message),
        form=_fhir_form(message, content_type),
    )


def _with_ids(letter: Any, source: str, role: str) -> Any:
    """An OIOXML letter or receipt made from a FHIR message, with identifiers derived from
    the message's (the same message sent again makes the same letter)."""
    envelope = dataclasses.replace(
        letter.envelope, identifier=derived_message_id(source, f"{role}-envelope")
    )
    return dataclasses.replace(
        letter, envelope=envelope, letter_identifier=derived_message_id(source, f"{role}-letter")
    )


def _as_oioxml(letter: Any, max_bytes: int) -> tuple[bytes, Routing, LetterFacts]:
    """The OIOXML the hub made, and its routing read as any letter's is. Not validated
    against the schema again: the conversion writes valid OIOXML (shown against MedCom's
    XSDs in the message layer's tests), and the hot path reads it by position."""
    data = build_message(letter)
    root = parse_xml(data, max_bytes=max(max_bytes, len(data)))
    return data, routing_of(root, letter.type), letter_facts_of(root, letter.type)


async def _letter_to_oioxml(
    app: web.Application,
    message: CareCommunication,
    body: bytes,
    now: datetime,
    sender: Partner,
    receiver: Partner,
) -> Incoming:
    limit = app[SETTINGS].max_body_bytes

    def convert() -> Incoming:
        letter, binary = oioxml_from_care_communication(message, now=now)
        letter = _with_ids(letter, message.header_id, "xdis91")
        binary = _with_ids(binary, message.header_id, "xbin01") if binary else None
        form = Form(
            sent_as=MessageFormat.FHIR,
            fhir_bundle_id=message.bundle_id,
            fhir_message_id=message.header_id,
        )
        companion = None
        if binary is not None:
            data, routing, facts = _as_oioxml(binary, limit)
            companion = Incoming(routing, data, now, facts, form=form)
        data, routing, facts = _as_oioxml(letter, limit)
        record = ConversionRecord(message=message, letter=letter, binary=binary)
        return Incoming(
            routing,
            data,
            now,
            facts,
            form=dataclasses.replace(
                form,
                original=body,
                conversion=_record_row(record, fhir_gln=sender.gln, oioxml_gln=receiver.gln),
            ),
            companion=companion,
        )

    return await _maybe_off_loop(len(body), convert)


async def _ack_to_oioxml(
    app: web.Application,
    ack: Acknowledgement,
    body: bytes,
    content_type: str,
    now: datetime,
    sender: Partner,
    receiver: Partner,
) -> Incoming:
    kind = MessageType.XCTL03 if ack.positive else MessageType.XCTL02
    form = _fhir_form(ack, content_type)
    found = None
    if receiver.format is MessageFormat.OIOXML:
        found = await record_for_message(
            reader=app[READER], fhir_gln=sender.gln, message_id=ack.response_identifier, now=now
        )
    if found is None:  # FHIR to FHIR, or no conversion record (any more): as it is
        original = OriginalRef(
            envelope_identifier="",
            sender_gln=receiver.gln,
            receiver_gln=sender.gln,
            letter_identifiers=(derived_message_id(ack.response_identifier, "letter"),),
            refuse_code=None,
        )
        return Incoming(_fhir_routing(kind, ack, original), body, now, form=form)
    record = record_from_facts(json.loads(found.facts))
    limit = app[SETTINGS].max_body_bytes
    receipts: tuple[Receipt, ...] = receipts_from_acknowledgement(ack, record, now=now)
    made: list[Incoming] = []
    for n, receipt in enumerate(receipts):
        receipt = _with_ids(receipt, ack.header_id, f"xctl{n}")
        data, routing, facts = _as_oioxml(receipt, limit)
        made.append(
            Incoming(
                routing,
                data,
                now,
                facts,
                form=dataclasses.replace(
                    form, body_type="application/xml", original=body if n == 0 else None
                ),
            )
        )
    first = made[0]
    if len(made) > 1:
        first = dataclasses.replace(first, companion=made[1])
    return first
