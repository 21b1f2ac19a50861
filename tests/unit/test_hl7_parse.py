"""The fast ER7 parser: agreement with hl7apy, escapes, decoding, and refusing bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as hl7apy_parse
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.errors import Hl7Error
from messages.hl7.build import build_appointment, build_referral, validate_strict
from messages.hl7.er7 import DEFAULT_SEPARATORS, Separators, parse_ts
from messages.hl7.mapping import decode, encode, parse_message, to_domain
from messages.hl7.model import COPENHAGEN, Appointment, CareEpisodeEvent
from messages.hl7.parse import MAX_FIELD_CHARS, parse_er7
from messages.hl7.samples import CHILD_CPR, make_appointment, make_referral, make_routing

SIU_S12 = Path(__file__).parent.parent / "data" / "hl7" / "siu_s12.hl7"


def sample() -> str:
    return SIU_S12.read_bytes().decode("utf-8")


def test_sample_is_strictly_valid_and_about_1_2_kb() -> None:
    assert 1100 <= SIU_S12.stat().st_size <= 1300
    validate_strict(sample())


def test_sample_maps_to_an_appointment() -> None:
    appointment = to_domain(parse_message(SIU_S12.read_bytes()))
    assert isinstance(appointment, Appointment)
    assert appointment.appointment_id == "AFT-778899"
    assert appointment.child_cpr.digits == CHILD_CPR
    assert appointment.location == "Børne- og ungeteamet, Ågade 7, lokale 3"
    assert appointment.with_whom.role == "psykolog"
    assert appointment.case_ref == "SAG-2024-0117"
    assert (appointment.end - appointment.start).total_seconds() == 3600


@pytest.mark.parametrize(
    "er7",
    [
        sample(),
        build_referral(make_referral(reason="a|b^c~d&e\\f"), make_routing()),
        build_appointment(make_appointment(), make_routing()),
    ],
    ids=["siu-sample", "ref-with-delimiters", "siu-built"],
)
def test_fast_parser_agrees_with_hl7apy(er7: str) -> None:
    """Every component of every field: hl7apy's (unescaped) value equals ours."""
    ours = parse_er7(er7)
    theirs = hl7apy_parse(er7, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False)
    sep = DEFAULT_SEPARATORS
    compared = 0
    for segment, their_segment in zip(ours.segments, theirs.children, strict=True):
        assert segment.name == their_segment.name
        for field in their_segment.children:
            n = int(field.name.split("_")[1])
            if segment.name == "MSH" and n <= 2:
                continue
            repetition = list(their_segment.children.get(field.name)).index(field) + 1
            for component in field.children:
                _, _, position = component.name.rpartition("_")
                c = int(position) if position.isdigit() else 1  # a leaf field: one value
                expected = sep.unescape(component.to_er7().split("&")[0])
                assert segment.value(n, c, 1, repetition) == expected, (segment.name, n, c)
                compared += 1
    assert compared > 20


def test_escape_sequences() -> None:
    sep = DEFAULT_SEPARATORS
    assert sep.unescape(r"a\F\b\S\c\T\d\R\e\E\f") == "a|b^c&d~e\\f"
    assert sep.unescape(r"line\X0D0A\end") == "line\r\nend"
    assert sep.unescape(r"keep \H\bold\N\ and \.br\ as is") == r"keep \H\bold\N\ and \.br\ as is"
    assert sep.unescape("lone \\ escape") == "lone \\ escape"
    text = "æ|ø^å&~\\\r\n"
    assert sep.unescape(sep.escape_text(text)) == text


def test_custom_separators_and_newline_terminators() -> None:
    er7 = (
        "MSH#*@!%#SYS#FAC#SAMSPIL#HUB#20240312101500##ADT*A04*ADT_A01#C9#P#2.5\r\n"
        "EVN##20240312101500\n"
        "PID#1##" + CHILD_CPR + "***CPR*NNDNK##Hansen!F!Jr*Bo\n"
        "PV1#1#O" + "#" * 17 + "V1\n"
    )
    msg = parse_message(er7)
    assert msg.separators == Separators("#", "*", "@", "!", "%")
    pid = msg.require("PID")
    assert pid.value(5, 1) == "Hansen#Jr"
    assert pid.value(5, 2) == "Bo"
    event = to_domain(msg)
    assert isinstance(event, CareEpisodeEvent)
    assert event.case_ref == "V1"
    assert event.occurred_at.tzinfo is COPENHAGEN


def test_repetitions_components_and_subcomponents() -> None:
    msg = parse_er7('MSH|^~\\&|A|B|C|D|20240101||ADT^A04|1|P|2.5\rZZZ|a1^a2&sub~b1^b2|""|x\\S\\y')
    z = msg.require("ZZZ")
    assert z.repetition_count(1) == 2
    assert z.value(1, 2, 2) == "sub"
    assert z.value(1, 2, repetition=2) == "b2"
    assert z.value(1, 9) == z.value(9) == z.value(1, 1, 1, 3) == ""
    assert z.value(2) == ""  # the HL7 null value
    assert z.components(3) == ("x^y",)
    assert msg.routing.sending_facility == "B"


def test_header_values() -> None:
    msg = parse_er7(sample())
    assert msg.event == "SIU^S12"
    assert msg.control_id == "SIU0000001"
    assert msg.version == "2.5"
    assert msg.charset == "UNICODE UTF-8"
    assert msg.routing.sending_application == "LÆGESYSTEM"
    assert msg.routing.receiving_facility == "5790005550017"
    assert [s.name for s in msg.all("AIP")] == ["AIP"]


def test_decoding_per_msh18() -> None:
    text = sample()
    latin = text.replace("UNICODE UTF-8", "8859/1")
    assert decode(latin.encode("latin-1")) == latin
    undeclared = text.replace("UNICODE UTF-8", "")
    assert decode(undeclared.encode("utf-8")) == undeclared  # valid UTF-8 is read as UTF-8
    assert decode(undeclared.encode("latin-1")) == undeclared  # otherwise ISO-8859-1
    assert encode(latin) == latin.encode("latin-1")
    with pytest.raises(Hl7Error) as info:
        decode(text.encode("latin-1"))  # says UTF-8, is not
    assert info.value.code == "undecodable"
    with pytest.raises(Hl7Error) as info:
        decode(text.replace("UNICODE UTF-8", "ASCII").encode("utf-8"))
    assert info.value.code == "undecodable"
    with pytest.raises(Hl7Error) as info:
        decode(text.replace("UNICODE UTF-8", "KLINGON").encode("utf-8"))
    assert info.value.code == "unsupported-charset"


def _without(segment: str) -> str:
    return "\r".join(s for s in sample().split("\r") if not s.startswith(segment))


@pytest.mark.parametrize(
    ("er7", "code", "segment"),
    [
        ("", "empty", None),
        ("  \r\n ", "empty", None),
        ("PID|1||" + CHILD_CPR, "no-msh", None),
        ("MSH", "bad-separators", "MSH"),
        ("MSHa^~\\&|x|y|z", "bad-separators", "MSH"),
        ("MSH|^^\\&|A|B|C|D|2024||ADT^A04|1|P|2.5", "bad-separators", "MSH"),
        ("MSH|^~|A|B|C|D|2024||ADT^A04|1|P|2.5", "bad-separators", "MSH"),
        (sample()[:600], "missing-segment", "PID"),  # truncated
        (sample()[:40], "missing-field", "MSH"),  # truncated inside MSH
        (sample() + "\x00\x81garbage|", "bad-segment", None),
        (sample() + sample(), "multiple-messages", "MSH"),
        (sample().replace("|2.5|", "|3.0|"), "unsupported-version", "MSH"),
        (sample().replace("|SIU0000001|", "||"), "missing-field", "MSH"),
        (sample().replace("SIU^S12^SIU_S12", ""), "missing-field", "MSH"),
        (_without("PID"), "missing-segment", "PID"),
        (_without("SCH"), "missing-segment", "SCH"),
        (sample().replace("AFT-778899^BUPSYS", ""), "missing-field", "SCH"),
        (
            sample().replace("NTE|1||", "NTE|1||" + "x" * (MAX_FIELD_CHARS + 1)),
            "field-too-long",
            "NTE",
        ),
        ("MSH|^~\\&|" + "x" * (2 * 1024 * 1024), "too-large", None),
    ],
)
def test_malformed_messages_are_refused_with_a_code(
    er7: str, code: str, segment: str | None
) -> None:
    with pytest.raises(Hl7Error) as info:
        parse_message(er7)
    assert (info.value.code, info.value.segment) == (code, segment)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2024", True),
        ("202403121015", True),
        ("20240312101530.1234+0530", True),
        ("20240312101530-0500", True),
        ("20240230", False),
        ("2024031210153", False),
        ("20240312101530+2500", False),
        ("soon", False),
    ],
)
def test_timestamps(text: str, ok: bool) -> None:
    if ok:
        assert parse_ts(text, segment="EVN", what="EVN-2").tzinfo is not None
    else:
        with pytest.raises(Hl7Error) as info:
            parse_ts(text, segment="EVN", what="EVN-2")
        assert info.value.code == "invalid-time"


def _outcome(er7: str | bytes) -> str:
    """``ok`` or the Hl7Error's code; any other exception fails the test."""
    try:
        to_domain(parse_message(er7))
    except Hl7Error as exc:
        return exc.code
    return "ok"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_garbage_bytes_give_hl7error_only(data: bytes) -> None:
    assert _outcome(data)


@settings(max_examples=300, deadline=None)
@given(cut=st.integers(min_value=0, max_value=1300), junk=st.text(max_size=20))
def test_mangled_sample_gives_domain_object_or_hl7error(cut: int, junk: str) -> None:
    text = sample()
    assert _outcome(text[:cut] + junk + text[cut:])
