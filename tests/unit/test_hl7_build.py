"""Building HL7 v2.5 with hl7apy: round trips, strict validation, an independent parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.errors import Hl7Error
from messages.hl7.build import (
    build_ack,
    build_appointment,
    build_episode_event,
    build_referral,
    validate_strict,
)
from messages.hl7.mapping import parse_message, to_domain
from messages.hl7.model import (
    COPENHAGEN,
    AckCode,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EpisodeEventKind,
    PersonName,
    Practitioner,
    ReferralPriority,
    ReferringGp,
)
from messages.hl7.samples import make_appointment, make_episode_event, make_referral, make_routing

SENT = datetime(2024, 3, 20, 8, 30, tzinfo=COPENHAGEN)

# Printable text with Danish letters and every HL7 delimiter, never blank at either end.
danish_text = (
    st.text(
        alphabet=st.sampled_from("abcæøåÆØÅ éü-.,'|^~\\&#0123456789"),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@pytest.mark.parametrize("priority", list(ReferralPriority))
@pytest.mark.parametrize("requests_case", [True, False])
def test_referral_round_trips(priority: ReferralPriority, requests_case: bool) -> None:
    referral = make_referral(priority=priority, requests_case=requests_case)
    er7 = build_referral(referral, make_routing(), control_id="REF0001", sent_at=SENT)
    validate_strict(er7)
    msg = parse_message(er7)
    assert (msg.message_type, msg.trigger, msg.structure) == ("REF", "I12", "REF_I12")
    assert msg.control_id == "REF0001"
    assert to_domain(msg) == referral


def test_referral_without_gp_gln_or_reason() -> None:
    referral = make_referral(reason="", referring_gp=ReferringGp(PersonName("Bo"), "777777"))
    er7 = build_referral(referral, make_routing())
    validate_strict(er7)
    assert to_domain(parse_message(er7)) == referral


@pytest.mark.parametrize("event", list(AppointmentEvent))
def test_appointment_round_trips(event: AppointmentEvent) -> None:
    status = (
        AppointmentStatus.CANCELLED
        if event is AppointmentEvent.CANCELLED
        else AppointmentStatus.BOOKED
    )
    appointment = make_appointment(event=event, status=status)
    er7 = build_appointment(appointment, make_routing(), control_id="SIU0001", sent_at=SENT)
    validate_strict(er7)
    msg = parse_message(er7)
    assert (msg.message_type, msg.trigger, msg.structure) == ("SIU", event.value, "SIU_S12")
    assert to_domain(msg) == appointment


def test_appointment_without_case_ref() -> None:
    appointment = make_appointment(case_ref=None)
    er7 = build_appointment(appointment, make_routing())
    validate_strict(er7)
    assert to_domain(parse_message(er7)) == appointment


@pytest.mark.parametrize("kind", list(EpisodeEventKind))
def test_episode_event_round_trips(kind: EpisodeEventKind) -> None:
    event = make_episode_event(kind=kind)
    er7 = build_episode_event(event, make_routing(), control_id="ADT0001", sent_at=SENT)
    validate_strict(er7)
    msg = parse_message(er7)
    structure = "ADT_A01" if kind is EpisodeEventKind.START else "ADT_A03"
    assert (msg.message_type, msg.trigger, msg.structure) == ("ADT", kind.value, structure)
    assert to_domain(msg) == event


def test_times_keep_their_instant_and_offset() -> None:
    utc_start = datetime(2024, 7, 1, 7, 0, tzinfo=UTC)
    appointment = make_appointment(start=utc_start, end=utc_start + timedelta(minutes=45))
    er7 = build_appointment(appointment, make_routing())
    assert "20240701070000+0000" in er7
    parsed = to_domain(parse_message(er7))
    assert isinstance(parsed, Appointment)
    assert parsed.start == utc_start
    assert parsed.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize("code", list(AckCode))
def test_ack_is_strictly_valid(code: AckCode) -> None:
    reason = Hl7Error("PID-3 is not a CPR number", segment="PID", code="invalid-cpr")
    er7 = build_ack(
        "SIU0001",
        code,
        make_routing().reply(),
        trigger="S12",
        reason=None if code is AckCode.ACCEPT else reason,
        control_id="ACK0001",
        sent_at=SENT,
    )
    validate_strict(er7)
    msg = parse_message(er7)
    msa = msg.require("MSA")
    assert (msa.value(1), msa.value(2)) == (code.value, "SIU0001")
    if code is AckCode.ACCEPT:
        assert msg.segment("ERR") is None
    else:
        err = msg.require("ERR")
        assert msa.value(3) == reason.message
        assert (err.value(2, 1), err.value(3, 1), err.value(5, 1)) == ("PID", "102", "invalid-cpr")


def test_build_refuses_what_strict_validation_refuses() -> None:
    with pytest.raises(Hl7Error) as info:  # RF1-6 is required
        build_referral(make_referral(referral_id=""), make_routing())
    assert info.value.code == "build-failed"


@pytest.mark.parametrize(
    "er7",
    [
        "",
        "garbage",
        "MSH|^~\\&|A|B|C|D|20240101||ACK^A01^ACK|1|P|2.5\rMSA|AA",  # MSA-2 missing
        "MSH|^~\\&|A|B|C|D|notadate||ACK^A01^ACK|1|P|2.5\rMSA|AA|1",
    ],
)
def test_validate_strict_translates_hl7apy_errors(er7: str) -> None:
    with pytest.raises(Hl7Error) as info:
        validate_strict(er7)
    assert info.value.code == "invalid-hl7"


@settings(max_examples=40, deadline=None)
@given(family=danish_text, given_name=danish_text, location=danish_text, role=danish_text)
def test_danish_text_survives_build_and_fast_parse(
    family: str, given_name: str, location: str, role: str
) -> None:
    name = PersonName(family, given_name)
    appointment = make_appointment(
        child_name=name,
        location=location,
        with_whom=Practitioner(name, role),
    )
    parsed = to_domain(parse_message(build_appointment(appointment, make_routing())))
    assert parsed == appointment


def test_python_hl7_reads_what_we_build() -> None:
    import hl7  # python-hl7, a test dependency: an independent reader of what we build

    referral = make_referral(reason="Trivsel | søvn ^ skole")
    er7 = build_referral(referral, make_routing(), control_id="REF0002", sent_at=SENT)
    message = hl7.parse(er7)
    assert str(message.segment("MSH")[10]) == "REF0002"
    pid = message.segment("PID")
    assert str(pid[3][0][0]) == referral.child_cpr.digits
    assert str(pid[5][0][0]) == "Sørensen-Æbelø"
    rf1 = message.segment("RF1")
    assert message.unescape(str(rf1[10][0][1])) == "Trivsel | søvn ^ skole"
