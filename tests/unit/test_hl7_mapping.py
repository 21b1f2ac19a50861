"""From a parsed message to the domain, and the fast ACK that answers it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from messages.errors import Hl7Error
from messages.hl7.ack import ack_code_for, ack_for
from messages.hl7.build import build_episode_event, build_referral, validate_strict
from messages.hl7.mapping import parse_message, receive, to_domain
from messages.hl7.model import (
    COPENHAGEN,
    AckCode,
    Appointment,
    AppointmentStatus,
    CareEpisodeEvent,
    ReferralPriority,
)
from messages.hl7.parse import parse_er7
from messages.hl7.samples import CHILD_CPR, make_episode_event, make_referral, make_routing

SIU_S12 = (Path(__file__).parent.parent / "data" / "hl7" / "siu_s12.hl7").read_text("utf-8")
NOW = datetime(2024, 3, 20, 8, 31, tzinfo=COPENHAGEN)


def _refused(er7: str) -> Hl7Error:
    with pytest.raises(Hl7Error) as info:
        to_domain(parse_message(er7))
    return info.value


@pytest.mark.parametrize(
    "cpr",
    ["3002164321", "1213164321", "12031643", "120316432X", "1203164321999"],
    ids=["30-feb", "month-13", "short", "letter", "long"],
)
def test_bad_cpr_is_invalid_cpr_in_pid_and_never_quoted(cpr: str) -> None:
    error = _refused(SIU_S12.replace(CHILD_CPR, cpr))
    assert (error.code, error.segment) == ("invalid-cpr", "PID")
    assert cpr not in str(error)
    assert cpr[:6] not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_cpr_is_taken_from_the_nndnk_repetition() -> None:
    er7 = SIU_S12.replace(f"{CHILD_CPR}^^^CPR^NNDNK", f"MRN-1^^^BUPSYS^MR~{CHILD_CPR}^^^CPR^NNDNK")
    assert to_domain(parse_message(er7)).child_cpr.digits == CHILD_CPR
    error = _refused(er7.replace("^^^CPR^NNDNK", "^^^X^MR"))
    assert (error.code, error.segment) == ("missing-cpr", "PID")


def test_a_single_unlabelled_identifier_is_read_as_the_cpr() -> None:
    er7 = SIU_S12.replace(f"{CHILD_CPR}^^^CPR^NNDNK", CHILD_CPR)
    assert to_domain(parse_message(er7)).child_cpr.digits == CHILD_CPR


def test_appointment_times_fall_back_to_sch11_and_duration() -> None:
    without_tq1 = "\r".join(s for s in SIU_S12.split("\r") if not s.startswith("TQ1"))
    appointment = to_domain(parse_message(without_tq1))
    assert isinstance(appointment, Appointment)
    assert appointment.start == datetime(2024, 4, 2, 9, 0, tzinfo=COPENHAGEN)
    no_end = without_tq1.replace("^20240402100000+0200|", "|")
    assert to_domain(parse_message(no_end)) == appointment  # SCH-9: 60 minutes
    backwards = SIU_S12.replace("20240402100000+0200", "20240402080000+0200")
    assert _refused(backwards).code == "invalid-time"


def test_cancelled_status_is_read_from_sch25() -> None:
    er7 = SIU_S12.replace("SIU^S12^SIU_S12", "SIU^S14^SIU_S12").replace("Booked^", "Cancelled^")
    appointment = to_domain(parse_message(er7))
    assert isinstance(appointment, Appointment)
    assert appointment.status is AppointmentStatus.CANCELLED


def test_episode_falls_back_to_account_number_and_recorded_time() -> None:
    er7 = build_episode_event(make_episode_event(), make_routing())
    lines = er7.split("\r")
    lines[1] = "EVN|A04|20240312120000"  # no EVN-6, a naive (Copenhagen) time
    lines[2] += "|" * 13 + "ACC-9"  # PID-18
    lines[3] = "PV1|1|O"  # no PV1-19
    event = to_domain(parse_message("\r".join(lines)))
    assert isinstance(event, CareEpisodeEvent)
    assert event.case_ref == "ACC-9"
    assert event.occurred_at == datetime(2024, 3, 12, 12, 0, tzinfo=COPENHAGEN)
    lines[2] = lines[2].removesuffix("ACC-9")
    assert _refused("\r".join(lines)).code == "missing-field"


@pytest.mark.parametrize(
    ("change", "code", "segment"),
    [
        (("A^^HL70280", "Q^^HL70280"), "unknown-value", "RF1"),
        (("RT^Referred", "XX^Referred"), "missing-segment", "PRD"),
        (("012345^YDER", "012345^OTHER"), "missing-field", "PRD"),
        (("5790009876540^GLN", "5790009876541^GLN"), "invalid-gln", "PRD"),
        (("REF^I12^REF_I12", "REF^I13^REF_I12"), "unsupported-message", "MSH"),
    ],
)
def test_referral_refusals(change: tuple[str, str], code: str, segment: str) -> None:
    er7 = build_referral(make_referral(priority=ReferralPriority.URGENT), make_routing())
    error = _refused(er7.replace(*change))
    assert (error.code, error.segment) == (code, segment)


@pytest.mark.parametrize("code", list(AckCode))
def test_fast_ack_is_strictly_valid(code: AckCode) -> None:
    msg = parse_message(SIU_S12)
    reason = Hl7Error("PID-3 does not hold a valid CPR | ^ ~ & \\", segment="PID", code="x")
    er7 = ack_for(msg, code, None if code is AckCode.ACCEPT else reason, now=NOW)
    validate_strict(er7)
    ack = parse_message(er7)
    assert ack.message_type == "ACK"
    assert ack.trigger == "S12"
    assert ack.routing == msg.routing.reply()
    assert ack.charset == msg.charset
    msa = ack.require("MSA")
    assert (msa.value(1), msa.value(2)) == (code.value, "SIU0000001")
    if code is not AckCode.ACCEPT:
        assert msa.value(3) == reason.message
        err = ack.require("ERR")
        assert (err.value(2, 1), err.value(4), err.value(5), err.value(8)) == (
            "PID",
            "E",
            "x",
            reason.message,
        )


def test_fast_ack_with_a_plain_reason_and_a_long_one() -> None:
    msg = parse_message(SIU_S12)
    er7 = ack_for(msg, AckCode.REJECT, "database unavailable " * 10, control_id="A1", now=NOW)
    validate_strict(er7)
    ack = parse_er7(er7)
    assert len(ack.require("MSA").value(3)) == 80
    assert ack.require("ERR").value(3, 1) == "207"
    assert ack.control_id == "A1"


def test_ack_code_for() -> None:
    # AR means "retry later" (MedCom's transient-error); an unsupported type never gets better
    assert ack_code_for(Hl7Error("x", code="unsupported-message")) is AckCode.ERROR
    assert ack_code_for(Hl7Error("x", code="invalid-cpr")) is AckCode.ERROR


def test_receive_answers_every_readable_message() -> None:
    good = receive(SIU_S12.encode("utf-8"))
    assert good.result is not None
    assert good.error is None
    assert good.ack is not None
    assert parse_er7(good.ack).require("MSA").value(1) == "AA"

    bad = receive(SIU_S12.replace(CHILD_CPR, "3002164321"))
    assert bad.result is None
    assert bad.error is not None
    assert bad.ack is not None
    assert parse_er7(bad.ack).require("MSA").value(1) == "AE"
    assert "3002164321" not in bad.ack

    other = receive(SIU_S12.replace("SIU^S12^SIU_S12", "ORU^R01^ORU_R01"))
    assert other.ack is not None
    assert (
        parse_er7(other.ack).require("MSA").value(1) == "AE"
    )  # never retry an unsupported message

    unreadable = receive(b"\x00\x01 not hl7")
    assert unreadable.message is None
    assert unreadable.error is not None
    assert unreadable.error.code == "no-msh"
    # no strict validation here: v2.5 requires MSA-2, and there is no control id to put there
    answer = parse_er7(unreadable.ack)
    assert answer.require("MSA").value(1) == "AR"
    assert answer.require("MSA").value(2) == ""  # no control id could be read
    assert answer.require("ERR").value(5) == "no-msh"

    # an MSH field too long to repeat in the ACK's header: the MSH is not readable
    giant = receive(SIU_S12.replace("|SAMSPIL|", "|" + "S" * 70_000 + "|", 1))
    assert giant.message is None
    assert len(giant.ack) < 1000
    answer = parse_er7(giant.ack)
    assert (answer.require("MSA").value(1), answer.require("MSA").value(2)) == ("AR", "")


@pytest.mark.parametrize(
    ("frame", "code", "ack"),
    [
        (SIU_S12 + "\r\x01\x02 garbage", "bad-segment", "AE"),
        (SIU_S12 + "\r" + SIU_S12, "multiple-messages", "AE"),
        (SIU_S12.replace("|2.5|", "|3.0|", 1), "unsupported-version", "AR"),
        (SIU_S12.replace("|2.5|", "||", 1), "missing-field", "AE"),
    ],
)
def test_receive_answers_a_readable_msh_whatever_follows(frame: str, code: str, ack: str) -> None:
    control_id = parse_er7(SIU_S12).control_id
    received = receive(frame.encode("utf-8"))
    assert received.error is not None
    assert received.error.code == code
    assert received.message is not None
    validate_strict(received.ack)
    answer = parse_er7(received.ack)
    assert answer.require("MSA").value(1) == ack
    assert answer.require("MSA").value(2) == control_id
    assert answer.require("ERR").value(5) == code
    assert answer.version.startswith("2.")
