"""Build HL7 v2.5 messages from Samspil's domain objects with hl7apy, and validate strictly.

Each builder returns ER7 text (segments separated by ``\\r``, delimiters ``|^~\\&``,
``MSH-18`` ``UNICODE UTF-8``: send it with :func:`messages.hl7.mapping.encode`):

* :func:`build_referral` — ``REF^I12^REF_I12``
* :func:`build_appointment` — ``SIU^S12``..``S15`` (structure ``SIU_S12``)
* :func:`build_episode_event` — ``ADT^A04^ADT_A01`` or ``ADT^A03^ADT_A03``
* :func:`build_ack` — ``ACK`` with ``MSA`` and, for ``AE``/``AR``, ``ERR``

Field values are escaped here (:meth:`Separators.escape_text`) and handed to hl7apy as ER7,
so a ``|`` or ``^`` in a name stays a character. The messages are built under hl7apy's
``STRICT`` validation and checked with ``validate()`` before they are written out; every
hl7apy error becomes an :class:`~messages.errors.Hl7Error` ``build-failed``.
:func:`validate_strict` checks any ER7 text the same way.

Which field carries which attribute is documented on the classes in
:mod:`messages.hl7.model`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message as hl7apy_parse

from messages.errors import Hl7Error
from messages.hl7.ack import MSA3_MAX, hl7_error_code
from messages.hl7.er7 import DEFAULT_SEPARATORS, format_ts
from messages.hl7.model import (
    COPENHAGEN,
    AckCode,
    Appointment,
    CareEpisodeEvent,
    EpisodeEventKind,
    PersonName,
    Referral,
    Routing,
)
from messages.hl7.parse import check_structure, parse_er7
from messages.identifiers import Cpr, new_message_id

__all__ = [
    "build_ack",
    "build_appointment",
    "build_episode_event",
    "build_referral",
    "validate_strict",
]

VERSION = "2.5"
CHARSET = "UNICODE UTF-8"
_HL7APY_ERRORS = (HL7apyException, ValueError, TypeError, KeyError, IndexError, AttributeError)
_esc = DEFAULT_SEPARATORS.escape_text


def _er7(*components: str) -> str:
    """One field as ER7 text: its components escaped and joined with ``^``."""
    return "^".join(_esc(c) for c in components).rstrip("^")


def _xpn(name: PersonName) -> str:
    return _er7(name.family, name.given)


def _cx_cpr(cpr: Cpr) -> str:
    """``PID-3``: the CPR number, assigning authority ``CPR``, identifier type ``NNDNK``."""
    return f"{cpr.digits}^^^CPR^NNDNK"


def _build(what: str, make: Callable[[], Message]) -> str:
    """Run a builder under hl7apy, validate, and translate hl7apy's errors.

    The result is also read back with Samspil's own parser and structure check, so that a
    builder never emits what a Samspil receiver would refuse (an empty referral id, say).
    """
    try:
        msg = make()
        msg.validate()
        text: str = msg.to_er7()
        check_structure(parse_er7(text))
    except (*_HL7APY_ERRORS, Hl7Error) as exc:
        raise Hl7Error(f"cannot build a valid {what} message", code="build-failed") from exc
    return text


def _message(
    structure: str,
    message_type: str,
    routing: Routing,
    control_id: str | None,
    sent_at: datetime | None,
) -> Message:
    msg = Message(structure, version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    msh = msg.msh
    msh.msh_3 = _er7(routing.sending_application)
    msh.msh_4 = _er7(routing.sending_facility)
    msh.msh_5 = _er7(routing.receiving_application)
    msh.msh_6 = _er7(routing.receiving_facility)
    msh.msh_7 = format_ts(sent_at or datetime.now(COPENHAGEN))
    msh.msh_9 = f"{message_type}^{structure}"
    msh.msh_10 = _er7(control_id or new_message_id())
    msh.msh_11 = "P"
    msh.msh_18 = CHARSET
    return msg


def _pid(segment: Any, cpr: Cpr, name: PersonName) -> None:
    segment.pid_1 = "1"
    segment.pid_3 = _cx_cpr(cpr)
    segment.pid_5 = _xpn(name)


def build_referral(
    referral: Referral,
    routing: Routing,
    *,
    control_id: str | None = None,
    sent_at: datetime | None = None,
) -> str:
    """A ``REF^I12`` for ``referral``. ``control_id``/``sent_at`` default to new/now."""

    def make() -> Message:
        msg = _message("REF_I12", "REF^I12", routing, control_id, sent_at)
        rf1 = msg.add_segment("RF1")
        rf1.rf1_1 = "P^Pending^HL70283"
        rf1.rf1_2 = f"{referral.priority.value}^^HL70280"
        rf1.rf1_4 = (
            "AM^Assume management^HL70282"
            if referral.requests_case
            else ("WR^Send written report^HL70282")
        )
        rf1.rf1_6 = _er7(referral.referral_id)
        rf1.rf1_7 = format_ts(referral.referred_at)
        if referral.reason:
            rf1.rf1_10 = _er7("", referral.reason)
        gp = referral.referring_gp
        contact = msg.add_group("REF_I12_PROVIDER_CONTACT")
        prd = contact.add_segment("PRD")
        prd.prd_1 = "RP^Referring provider^HL70286"
        prd.prd_2 = _xpn(gp.name)
        prd.add_field("PRD_7").value = _er7(gp.provider_number, "YDER")
        if gp.gln:
            prd.add_field("PRD_7").value = _er7(gp.gln, "GLN")
        contact = msg.add_group("REF_I12_PROVIDER_CONTACT")
        prd = contact.add_segment("PRD")
        prd.prd_1 = "RT^Referred to provider^HL70286"
        prd.prd_4 = "^" * 8 + _esc(referral.receiver.name)
        prd.prd_7 = _er7(referral.receiver.gln, "GLN")
        _pid(msg.add_segment("PID"), referral.child_cpr, referral.child_name)
        return msg

    return _build("REF^I12", make)


def build_appointment(
    appointment: Appointment,
    routing: Routing,
    *,
    control_id: str | None = None,
    sent_at: datetime | None = None,
) -> str:
    """A ``SIU`` message whose trigger is ``appointment.event`` (S12 new .. S15 cancel)."""
    trigger = appointment.event.value
    start, end = format_ts(appointment.start), format_ts(appointment.end)
    minutes = int((appointment.end - appointment.start).total_seconds() // 60)
    who = appointment.with_whom
    xcn = "^" + _xpn(who.name)

    def make() -> Message:
        msg = _message("SIU_S12", f"SIU^{trigger}", routing, control_id, sent_at)
        sch = msg.sch
        sch.sch_2 = _er7(appointment.appointment_id)
        sch.sch_6 = f"{trigger}^{_EVENT_TEXT[trigger]}"
        sch.sch_9 = str(minutes)
        sch.sch_10 = "min^minutes^ISO+"
        sch.sch_11 = f"^^^{start}^{end}"
        sch.sch_16 = xcn
        sch.sch_20 = xcn
        sch.sch_25 = f"{appointment.status.value}^^HL70278"
        tq1 = msg.add_segment("TQ1")
        tq1.tq1_1 = "1"
        tq1.tq1_7 = start
        tq1.tq1_8 = end
        patient = msg.add_group("SIU_S12_PATIENT")
        _pid(patient.add_segment("PID"), appointment.child_cpr, appointment.child_name)
        if appointment.case_ref:
            pv1 = patient.add_segment("PV1")
            pv1.pv1_1 = "1"
            pv1.pv1_2 = "O"
            pv1.pv1_19 = _er7(appointment.case_ref)
        resources = msg.add_group("SIU_S12_RESOURCES")
        resources.add_segment("RGS").rgs_1 = "1"
        ail = resources.add_group("SIU_S12_LOCATION_RESOURCE").add_segment("AIL")
        ail.ail_1 = "1"
        ail.ail_3 = "^" * 8 + _esc(appointment.location)
        ail.ail_6 = start
        aip = resources.add_group("SIU_S12_PERSONNEL_RESOURCE").add_segment("AIP")
        aip.aip_1 = "1"
        aip.aip_3 = xcn
        aip.aip_4 = _er7("", who.role)
        aip.aip_6 = start
        return msg

    return _build(f"SIU^{trigger}", make)


_EVENT_TEXT = {"S12": "New", "S13": "Rescheduled", "S14": "Modified", "S15": "Cancelled"}


def build_episode_event(
    event: CareEpisodeEvent,
    routing: Routing,
    *,
    control_id: str | None = None,
    sent_at: datetime | None = None,
) -> str:
    """``ADT^A04^ADT_A01`` (episode start) or ``ADT^A03^ADT_A03`` (episode end)."""
    start = event.kind is EpisodeEventKind.START
    structure = "ADT_A01" if start else "ADT_A03"
    when = format_ts(event.occurred_at)

    def make() -> Message:
        msg = _message(structure, f"ADT^{event.kind.value}", routing, control_id, sent_at)
        evn = msg.evn
        evn.evn_1 = event.kind.value
        evn.evn_2 = format_ts(sent_at) if sent_at else when
        evn.evn_6 = when
        _pid(msg.pid, event.child_cpr, event.child_name)
        pv1 = msg.pv1
        pv1.pv1_1 = "1"
        pv1.pv1_2 = "O"
        pv1.pv1_19 = _er7(event.case_ref)
        if start:
            pv1.pv1_44 = when
        else:
            pv1.pv1_45 = when
        return msg

    return _build(f"ADT^{event.kind.value}", make)


def build_ack(
    acknowledged_control_id: str,
    code: AckCode,
    routing: Routing,
    *,
    trigger: str = "",
    reason: str | Hl7Error | None = None,
    control_id: str | None = None,
    sent_at: datetime | None = None,
) -> str:
    """An ``ACK`` (with hl7apy) for the message whose ``MSH-10`` was
    ``acknowledged_control_id``. ``routing`` is the answer's own routing (the original's
    :meth:`Routing.reply`); ``reason`` as in :func:`messages.hl7.ack.ack_for`."""
    text = reason.message if isinstance(reason, Hl7Error) else (reason or "")

    def make() -> Message:
        msg = _message("ACK", f"ACK^{trigger}", routing, control_id, sent_at)
        msa = msg.msa
        msa.msa_1 = code.value
        msa.msa_2 = _er7(acknowledged_control_id)
        if text:
            msa.msa_3 = _esc(text[:MSA3_MAX])
        if code is not AckCode.ACCEPT:
            samspil_code = reason.code if isinstance(reason, Hl7Error) else "internal"
            hl7_code, hl7_text = hl7_error_code(samspil_code)
            err = msg.add_segment("ERR")
            if isinstance(reason, Hl7Error) and reason.segment:
                err.err_2 = f"{_esc(reason.segment)}^1"
            err.err_3 = f"{hl7_code}^{hl7_text}^HL70357"
            err.err_4 = "E"
            err.err_5 = _er7(samspil_code)
            if text:
                err.err_8 = _esc(text)
        return msg

    return _build("ACK", make)


def validate_strict(er7: str) -> None:
    """Parse ``er7`` with hl7apy (v2.5 structures, ``STRICT``) and validate it.

    Raises Hl7Error ``invalid-hl7`` when hl7apy refuses it. This is the slow, thorough path
    (about 30 messages a second): for conformance tests and tooling, not the adapter.
    """
    try:
        msg = hl7apy_parse(
            er7.replace("\r\n", "\r").replace("\n", "\r"),
            validation_level=VALIDATION_LEVEL.STRICT,
            find_groups=True,
        )
        msg.validate()
    except _HL7APY_ERRORS as exc:
        raise Hl7Error(
            "the message is not valid HL7 v2.5 (hl7apy strict validation)", code="invalid-hl7"
        ) from exc
