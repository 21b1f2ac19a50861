"""From received HL7 bytes to Samspil's domain objects, and the answer to send back.

* :func:`parse_message` — bytes or text to a checked :class:`Hl7Message` (the fast parser).
* :func:`to_domain` — a message to a :class:`Referral`, :class:`Appointment` or
  :class:`CareEpisodeEvent`; which field carries what is documented on those classes.
* :func:`receive` — both, plus the ``ACK`` to answer with, for the adapter's hot path.
* :func:`decode` / :func:`encode` — bytes and text per ``MSH-18``.

Character sets (``MSH-18``, HL7 table 0211): ``ASCII``, ``8859/1``..``8859/9``, ``8859/15``
and ``UNICODE UTF-8``. When ``MSH-18`` is empty the standard's default is ISO-8859-1, but
many Danish systems send UTF-8 without saying so: bytes that are valid UTF-8 are read as
UTF-8 (ISO-8859-1 Danish text is practically never valid UTF-8), anything else as ISO-8859-1.
Bytes that are not valid in the declared set, or a set not in the table, are answered ``AE``
(``undecodable``, ``unsupported-charset``) by :func:`receive`, not dropped.

Every failure is an :class:`~messages.errors.Hl7Error` with a ``code`` and, where known, the
``segment``. None of their messages quotes a field value, so none can carry a CPR number.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from messages.errors import Hl7Error, IdentifierError
from messages.hl7.ack import ACK_VERSION, ack_code_for, ack_for, ack_unreadable
from messages.hl7.er7 import parse_ts
from messages.hl7.model import (
    AckCode,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    CareEpisodeEvent,
    EpisodeEventKind,
    Organisation,
    PersonName,
    Practitioner,
    Referral,
    ReferralPriority,
    ReferringGp,
)
from messages.hl7.parse import Hl7Message, Segment, check_structure, parse_er7, read_header
from messages.identifiers import Cpr, parse_cpr, parse_gln

__all__ = [
    "DomainObject",
    "Received",
    "ack_for",
    "decode",
    "encode",
    "parse_message",
    "read_cpr",
    "receive",
    "to_domain",
]

DomainObject = Referral | Appointment | CareEpisodeEvent
"""What :func:`to_domain` gives."""

_CODECS = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",  # not in table 0211, but sent by some systems
    **{f"8859/{n}": f"iso8859-{n}" for n in range(2, 10)},
}
_CANCELLED_STATUSES = frozenset({"cancelled", "deleted"})


def _codec(charset: str) -> str:
    codec = _CODECS.get(charset.strip().upper())
    if codec is None:
        raise Hl7Error(
            "MSH-18 names a character set Samspil does not read",
            segment="MSH",
            code="unsupported-charset",
        )
    return codec


def _declared_charset(data: bytes) -> str:
    """``MSH-18`` (first repetition, first component) read from the raw bytes, or ``""``."""
    first = data[: data.find(b"\r")] if b"\r" in data else data
    head = first.split(b"\n", 1)[0].decode("latin-1")
    if len(head) < 8 or not head.startswith("MSH"):
        return ""  # parse_er7 will say what is wrong
    parts = head.split(head[3])
    if len(parts) < 18:
        return ""
    enc = parts[1]
    value = parts[17]
    for sep in enc[1:2] + enc[0:1]:  # repetition, then component
        value = value.split(sep, 1)[0]
    return value


def decode(data: bytes) -> str:
    """The text of an HL7 message received as bytes, decoded per its ``MSH-18``."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    charset = _declared_charset(data.lstrip())
    try:
        if charset:
            return data.decode(_codec(charset))
        if data.isascii():
            return data.decode("ascii")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    except UnicodeDecodeError:
        raise Hl7Error(
            "the message's bytes are not valid in the character set MSH-18 declares",
            code="undecodable",
        ) from None


def encode(er7: str) -> bytes:
    """The bytes to send for an ER7 message, encoded per its ``MSH-18`` (UTF-8 when empty)."""
    charset = _declared_charset(er7.encode("utf-8"))
    codec = _codec(charset) if charset else "utf-8"
    try:
        return er7.encode(codec)
    except UnicodeEncodeError:
        raise Hl7Error(
            "the message holds characters its MSH-18 character set cannot carry",
            segment="MSH",
            code="unencodable",
        ) from None


def parse_message(er7: str | bytes) -> Hl7Message:
    """Parse and check one received message (fast path, no hl7apy).

    Bytes are decoded per ``MSH-18`` (see the module docstring). Raises Hl7Error.
    """
    msg = parse_er7(decode(er7) if isinstance(er7, bytes) else er7)
    check_structure(msg)
    return msg


def to_domain(msg: Hl7Message) -> DomainObject:
    """The domain object a message carries, per its type and trigger (``MSH-9``).

    Raises Hl7Error: ``unsupported-message`` for a type/trigger Samspil does not handle,
    ``invalid-cpr`` (segment ``PID``) for a CPR number that cannot be right, and the codes
    of :func:`messages.hl7.parse.check_structure` for missing segments and fields.
    """
    check_structure(msg)
    kind, trigger = msg.message_type, msg.trigger
    if kind == "REF" and trigger == "I12":
        return _referral(msg)
    if kind == "SIU" and trigger in _APPOINTMENT_EVENTS:
        return _appointment(msg, AppointmentEvent(trigger))
    if kind == "ADT" and trigger in _EPISODE_KINDS:
        return _episode(msg, EpisodeEventKind(trigger))
    raise Hl7Error(
        f"Samspil does not handle {msg.event} messages", segment="MSH", code="unsupported-message"
    )


_APPOINTMENT_EVENTS = frozenset(e.value for e in AppointmentEvent)
_EPISODE_KINDS = frozenset(k.value for k in EpisodeEventKind)


@dataclass(frozen=True, slots=True)
class Received:
    """What a receiver makes of one message: the result or the error, and the answer.

    ``ack`` is always set: ``AA`` when ``result`` is set (an adapter that then fails to
    store the result answers with its own :func:`ack_for` ``AR`` instead), ``AE`` or ``AR``
    (:func:`~messages.hl7.ack.ack_code_for`) naming the error otherwise. ``message`` is the
    message, or only its ``MSH`` (:func:`~messages.hl7.parse.read_header`) when the rest
    could not be read; None when not even the ``MSH`` could be read: the answer is then an
    ``AR`` with an empty ``MSA-2`` (:func:`~messages.hl7.ack.ack_unreadable`).
    """

    message: Hl7Message | None
    result: DomainObject | None
    error: Hl7Error | None
    ack: str


FALLBACK_CHARSET = "8859/1"
"""How the bytes of a message that cannot be decoded as it declares are read to answer it."""


def receive(er7: str | bytes) -> Received:
    """Parse, map and answer one received message; never raises for bad input.

    Every frame gets an answer, so that a sender in original acknowledgement mode is never
    left resending one message forever with its whole queue behind it:

    * a message whose segments after ``MSH`` cannot be read (``bad-segment``), that holds a
      second ``MSH`` (``multiple-messages``) or whose ``MSH`` lacks a field is answered
      ``AE`` from its ``MSH`` alone, ``MSA-2`` its control id; an unsupported ``MSH-12``
      (``unsupported-version``) is answered ``AR`` the same way;
    * bytes without a readable ``MSH`` get an ``AR`` with an empty ``MSA-2``;
    * bytes that are not valid in the character set ``MSH-18`` declares (or a character set
      Samspil does not read) are answered ``AE`` naming the mismatch: the header is read
      from the bytes taken as ISO-8859-1, which every byte is, and the ``ACK`` is written in
      ISO-8859-1 (``MSH-18`` ``8859/1``), so ``MSA-2`` repeats the sender's control id
      byte for byte.
    """
    try:
        text = decode(er7) if isinstance(er7, bytes) else er7
    except Hl7Error as exc:
        assert isinstance(er7, bytes)
        return _undecodable(er7, exc)
    try:
        msg = parse_er7(text)
    except Hl7Error as exc:
        return _header_only(text, exc)
    try:
        result = to_domain(msg)
    except Hl7Error as exc:
        return Received(msg, None, exc, ack_for(msg, ack_code_for(exc), exc))
    return Received(msg, result, None, ack_for(msg, AckCode.ACCEPT))


def _header_only(text: str, error: Hl7Error, charset: str | None = None) -> Received:
    """The answer to a message :func:`parse_er7` refused, from its ``MSH`` alone."""
    try:
        header = read_header(text)
    except Hl7Error:
        return Received(None, None, error, ack_unreadable(error))
    answer_as = header
    if not header.version.startswith("2."):
        answer_as = replace(header, version=ACK_VERSION)
    return Received(
        header, None, error, ack_for(answer_as, ack_code_for(error), error, charset=charset)
    )


def _undecodable(data: bytes, error: Hl7Error) -> Received:
    text = data.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    try:
        msg = parse_er7(text)
    except Hl7Error:
        return _header_only(text, error, FALLBACK_CHARSET)
    declared = msg.charset.strip().upper()
    sentence = error.message
    if error.code == "undecodable" and declared in _CODECS:  # never a sender's stray data
        sentence = f"the bytes are not valid {declared}, the character set MSH-18 declares"
    reason = Hl7Error(sentence, segment="MSH", code=error.code)
    ack = ack_for(msg, ack_code_for(reason), reason, charset=FALLBACK_CHARSET)
    return Received(msg, None, reason, ack)


def _missing(segment: str, field: str) -> Hl7Error:
    return Hl7Error(f"{field} is required", segment=segment, code="missing-field")


def _name(seg: Segment, n: int, first: int = 1) -> PersonName:
    """An ``XPN`` (``first`` = 1) or ``XCN`` (``first`` = 2) name in field ``n``."""
    return PersonName(family=seg.value(n, first, 1), given=seg.value(n, first + 1))


def _child(msg: Hl7Message) -> tuple[Cpr, PersonName]:
    """The child's CPR number (``PID-3``, type ``NNDNK`` or authority ``CPR``) and name."""
    pid = msg.require("PID")
    return read_cpr(pid, 3), _name(pid, 5)


def read_cpr(seg: Segment, n: int) -> Cpr:
    """The CPR number in the ``CX`` field ``n`` of ``seg`` (``PID-3``, a query's ``QPD-3``).

    The repetition whose identifier type (``CX.5``) is ``NNDNK`` or whose assigning
    authority (``CX.4``) is ``CPR``; a single unlabelled identifier is taken as the CPR
    number (Danish systems send it so). Raises Hl7Error ``missing-cpr`` or ``invalid-cpr``,
    never quoting the value.
    """
    where = f"{seg.name}-{n}"
    count = seg.repetition_count(n)
    digits: str | None = None
    for rep in range(1, count + 1):
        if seg.value(n, 5, repetition=rep) == "NNDNK" or seg.value(n, 4, repetition=rep) == "CPR":
            digits = seg.value(n, 1, repetition=rep)
            break
    if digits is None:
        if count != 1:
            raise Hl7Error(
                f"{where} holds no CPR number (identifier type NNDNK)",
                segment=seg.name,
                code="missing-cpr",
            )
        digits = seg.value(n, 1)  # a single unlabelled identifier: Danish systems send the CPR
    try:
        return parse_cpr(digits)
    except IdentifierError:
        # from None: the chained IdentifierError quotes the date part of the number
        raise Hl7Error(
            f"{where} does not hold a valid CPR number (ten digits, the first six a real date)",
            segment=seg.name,
            code="invalid-cpr",
        ) from None


def _gln(value: str, segment: str) -> str:
    try:
        return parse_gln(value)
    except IdentifierError:
        raise Hl7Error(
            f"{segment}-7 does not hold a valid GLN location number",
            segment=segment,
            code="invalid-gln",
        ) from None


def _pln(prd: Segment, kind: str) -> str:
    """The ``PRD-7`` provider identifier whose ``PLN.2`` type is ``kind``, or ``""``."""
    for rep in range(1, prd.repetition_count(7) + 1):
        if prd.value(7, 2, repetition=rep).upper() == kind:
            return prd.value(7, 1, repetition=rep)
    return ""


def _referral(msg: Hl7Message) -> Referral:
    rf1 = msg.require("RF1")
    cpr, name = _child(msg)
    gp_prd = receiver_prd = None
    for prd in msg.all("PRD"):
        role = prd.value(1, 1)
        if role == "RP" and gp_prd is None:
            gp_prd = prd
        elif role == "RT" and receiver_prd is None:
            receiver_prd = prd
    if gp_prd is None or receiver_prd is None:
        raise Hl7Error(
            "a referral needs a PRD for the referring GP (RP) and one for the receiver (RT)",
            segment="PRD",
            code="missing-segment",
        )
    provider_number = _pln(gp_prd, "YDER")
    if not provider_number:
        raise _missing("PRD", "the referring GP's provider number (PRD-7, type YDER)")
    gp_gln = _pln(gp_prd, "GLN")
    receiver_gln = _pln(receiver_prd, "GLN")
    if not receiver_gln:
        raise _missing("PRD", "the receiver's GLN (PRD-7, type GLN)")
    priority_code = rf1.value(2, 1) or ReferralPriority.ROUTINE.value
    try:
        priority = ReferralPriority(priority_code)
    except ValueError:
        raise Hl7Error(
            "RF1-2 is not a referral priority of HL7 table 0280 (S, A, R)",
            segment="RF1",
            code="unknown-value",
        ) from None
    dispositions = {rf1.value(4, 1, repetition=r) for r in range(1, rf1.repetition_count(4) + 1)}
    when = rf1.value(7, 1) or msg.msh.value(7, 1)
    if not when:
        raise _missing("RF1", "RF1-7 (effective date)")
    return Referral(
        referral_id=rf1.value(6, 1),
        child_cpr=cpr,
        child_name=name,
        referring_gp=ReferringGp(
            name=_name(gp_prd, 2),
            provider_number=provider_number,
            gln=_gln(gp_gln, "PRD") if gp_gln else None,
        ),
        receiver=Organisation(gln=_gln(receiver_gln, "PRD"), name=receiver_prd.value(4, 9)),
        reason=rf1.value(10, 2) or rf1.value(10, 1),
        priority=priority,
        requests_case="AM" in dispositions,
        referred_at=parse_ts(when, segment="RF1", what="RF1-7 (effective date)"),
    )


def _appointment_times(msg: Hl7Message, sch: Segment) -> tuple[datetime, datetime]:
    tq1 = msg.segment("TQ1")
    start_text = tq1.value(7, 1) if tq1 else ""
    end_text = tq1.value(8, 1) if tq1 else ""
    where = "TQ1"
    if not start_text:
        start_text, end_text, where = sch.value(11, 4, 1), sch.value(11, 5, 1), "SCH"
    if not start_text:
        raise _missing("SCH", "the start time (TQ1-7 or SCH-11.4)")
    start = parse_ts(start_text, segment=where, what="the appointment's start time")
    if end_text:
        end = parse_ts(end_text, segment=where, what="the appointment's end time")
    else:
        minutes = sch.value(9)
        if not minutes.isdigit() or sch.value(10, 1).upper() not in ("", "MIN", "M"):
            raise _missing("SCH", "the end time (TQ1-8, SCH-11.5 or SCH-9 in minutes)")
        end = start + timedelta(minutes=int(minutes))
    if end < start:
        raise Hl7Error("the appointment ends before it starts", segment=where, code="invalid-time")
    return start, end


def _appointment(msg: Hl7Message, event: AppointmentEvent) -> Appointment:
    sch = msg.require("SCH")
    cpr, name = _child(msg)
    start, end = _appointment_times(msg, sch)
    cancelled = event is AppointmentEvent.CANCELLED or (
        sch.value(25, 1).lower() in _CANCELLED_STATUSES
    )
    ail, aip = msg.require("AIL"), msg.require("AIP")
    pv1 = msg.segment("PV1")
    return Appointment(
        appointment_id=sch.value(2, 1),
        event=event,
        status=AppointmentStatus.CANCELLED if cancelled else AppointmentStatus.BOOKED,
        child_cpr=cpr,
        child_name=name,
        start=start,
        end=end,
        location=ail.value(3, 9) or ail.value(3, 1),
        with_whom=Practitioner(
            name=_name(aip, 3, first=2), role=aip.value(4, 2) or aip.value(4, 1)
        ),
        case_ref=(pv1.value(19, 1) if pv1 else "") or None,
    )


def _episode(msg: Hl7Message, kind: EpisodeEventKind) -> CareEpisodeEvent:
    evn, pv1 = msg.require("EVN"), msg.require("PV1")
    cpr, name = _child(msg)
    pid = msg.require("PID")
    case_ref = pv1.value(19, 1) or pid.value(18, 1)
    if not case_ref:
        raise _missing("PV1", "the case reference (PV1-19 visit number or PID-18 account)")
    when, field = evn.value(6, 1), "EVN-6"
    if not when:
        when, field = evn.value(2, 1), "EVN-2"
    return CareEpisodeEvent(
        kind=kind,
        case_ref=case_ref,
        child_cpr=cpr,
        child_name=name,
        occurred_at=parse_ts(when, segment="EVN", what=field),
    )
