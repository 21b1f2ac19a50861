"""MedCom EDIFACT: the tokenizer, FTX text rules, DIS91/CTL round trips and refusals."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.errors import (
    EdifactCharsetError,
    EdifactCountError,
    EdifactError,
    EdifactReleaseError,
    EdifactServiceStringError,
    EdifactStructureError,
    EdifactTruncatedError,
    EdifactUnsupportedError,
    EdifactValueError,
    MessageError,
    MessageTooLargeError,
    RefuseCode,
)
from messages.medcom.correspondence import MAX_TEXT_CHARS, new_correspondence
from messages.medcom.documents import build_message, parse_message
from messages.medcom.edifact import (
    build_edifact,
    looks_like_edifact,
    parse_edifact,
    read_edifact,
    refusal_receipt,
)
from messages.medcom.edifact.ftx import ftx_segments, read_ftx
from messages.medcom.edifact.interchange import read_interchange
from messages.medcom.edifact.syntax import Segment, serialize, tokenize
from messages.medcom.model import (
    AckCode,
    Address,
    BinaryReference,
    Correspondence,
    Envelope,
    LetterStatus,
    MessageType,
    Party,
    Patient,
    Priority,
    Receipt,
    Reference,
)
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry
from messages.medcom.text import (
    BREAK,
    SPACE,
    FormattedText,
    Inline,
    Style,
    Styled,
    from_plain,
    to_plain,
)
from messages.medcom.xmlcodec import COPENHAGEN
from tests.fuzzing import fuzz_settings

REGISTRY = SchemaRegistry()
NOW = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)
# Printable ISO-8859-1, the service characters and the FTX markers among them.
LATIN1 = st.characters(
    codec="latin-1", categories=("L", "N", "P", "Zs", "S"), exclude_characters="\x85\xa0"
)
SPECIAL = st.sampled_from([":", "+", "?", "'", "\\", ".", " ", "æ", "ø", "å", "Å"])
VALUE = st.text(LATIN1 | SPECIAL, max_size=30)


def letter(**overrides: object) -> Correspondence:
    made = new_correspondence(
        sender=Party(
            ean="5790000120314",
            identifier="123456",
            identifier_code="ydernummer",
            organisation_name="Lægehuset Vestbyen",
            department_name="Lægerne",
            telephone="86 12 34 56",
            medical_speciality="almen_medicin",
            address=Address(street="Ågade 7", district="Aalborg", post_code="9000"),
        ),
        receiver=Party(
            ean="5790000121441",
            identifier="5790000121441",
            identifier_code="lokationsnummer",
            organisation_name="PPR Aalborg",
        ),
        patient=Patient(cpr="1203164321", surname="Jensen", given_name="Mads Ø."),
        subject="Henvisning: Mads J. + 'PPR' ?",
        text="Kære PPR\nMads har svært ved at komme i skole.\n\n.\nC:\\mapper\\\nSlut",
        ask_for_receipt=True,
        episode_of_care_identifier="3f2b8c4e0a1b4c5d8e9f00112233aabb",
        now=NOW,
    )
    return replace(made, **overrides)  # type: ignore[arg-type]


# ---------------------------------------------------------------- tokenizer


def test_default_and_custom_service_strings_read_the_same() -> None:
    default = b"UNA:+.? 'UNB+UNOC:3+A:14+B:14+261128:1405+E1'UNH+L1+X'UNT+2+L1'UNZ+1+E1'"
    custom = b"UNA|*,# ~UNB*UNOC|3*A|14*B|14*261128|1405*E1~UNH*L1*X~UNT*2*L1~UNZ*1*E1~"
    assert tokenize(default)[1] == tokenize(custom)[1]
    without = default[9:]
    assert tokenize(without)[1] == tokenize(default)[1]


def test_release_character_and_line_breaks() -> None:
    data = b"UNA:+.? '\r\nFTX+NC+P00++a?:b??c?+d?'e:f\r\n'\nUNZ+1+E'\n"
    _, segments = tokenize(data)
    assert segments[0] == Segment("FTX", (("NC",), ("P00",), ("",), ("a:b?c+d'e", "f")))
    assert segments[1].tag == "UNZ"


def _normal(elements: list[list[str]]) -> tuple[tuple[str, ...], ...]:
    """What a writer that leaves out trailing empties gives back."""
    out = [list(e) for e in elements]
    for e in out:
        while e and not e[-1]:
            e.pop()
    while out and not out[-1]:
        out.pop()
    return tuple(tuple(e) if e else ("",) for e in out)


segments_strategy = st.lists(
    st.tuples(
        st.sampled_from(["FTX", "NAD", "RFF", "S14", "PNA"]),
        st.lists(st.lists(VALUE, max_size=5), max_size=5),
    ),
    min_size=1,
    max_size=8,
)


@fuzz_settings(200)
@given(segments_strategy)
def test_tokenizer_round_trips_every_value_with_release_characters(
    generated: list[tuple[str, list[list[str]]]],
) -> None:
    segments = [Segment(tag, tuple(tuple(e) for e in elements)) for tag, elements in generated]
    _, read = tokenize(serialize(segments))
    assert [(s.tag, s.elements) for s in read] == [
        (tag, _normal(elements)) for tag, elements in generated
    ]


def _encode(segments: list[Segment], chars: str) -> bytes:
    """A test-local writer for any service characters (Samspil writes the default ones)."""
    component, element, _, release, _, terminator = tuple(chars)
    service = {component, element, release, terminator}

    def escape(value: str) -> str:
        return "".join(release + c if c in service else c for c in value)

    out = ["UNA" + chars]
    for segment in segments:
        elements = [component.join(escape(c) for c in e) for e in segment.elements]
        out.append(element.join([segment.tag, *elements]) + terminator + "\r\n")
    return "".join(out).encode("latin-1")


service_strings = st.permutations(list("!\"#$%&*,-/;<=>@^_|~:+?'")).map(
    lambda chars: f"{chars[0]}{chars[1]}.{chars[2]} {chars[3]}"
)


@fuzz_settings(100)
@given(segments_strategy, service_strings)
def test_any_una_reads_like_the_default_service_characters(
    generated: list[tuple[str, list[list[str]]]], chars: str
) -> None:
    segments = [Segment(tag, tuple(tuple(e) for e in elements)) for tag, elements in generated]
    service, read = tokenize(_encode(segments, chars))
    assert service.una() == "UNA" + chars
    assert read == tokenize(_encode(segments, ":+.? '"))[1]
    assert [s.tag for s in read] == [tag for tag, _ in generated]


@fuzz_settings(60)
@given(segments_strategy)
def test_pydifact_reads_what_the_tokenizer_writes(
    generated: list[tuple[str, list[list[str]]]],
) -> None:
    from pydifact.parser import Parser

    segments = [Segment(tag, tuple(tuple(e) for e in elements)) for tag, elements in generated]
    data = serialize(segments)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = [s for s in Parser().parse(data.decode("latin-1")) if s.tag != "UNA"]
    ours = tokenize(data)[1]
    assert [s.tag for s in theirs] == [s.tag for s in ours]
    for mine, other in zip(ours, theirs, strict=True):
        converted = tuple((e,) if isinstance(e, str) else tuple(e) for e in other.elements)
        assert converted == mine.elements


# ---------------------------------------------------------------- errors

GOOD = letter()


def _built() -> bytes:
    return build_edifact(GOOD)


def test_every_error_is_a_message_error_with_a_code_and_a_place() -> None:
    data = _built().replace(b"UNT+", b"UNT+9")
    with pytest.raises(EdifactCountError) as caught:
        parse_edifact(data)
    error = caught.value
    assert isinstance(error, MessageError)
    assert error.code == "edifact-count"
    assert error.refuse_code is RefuseCode.SYNTAX_ERROR
    assert error.tag == "UNT"
    assert str(error).startswith(f"segment {error.segment} (UNT): UNT says 9")


@pytest.mark.parametrize("cut", [5, 40, 200, -30, -3])
def test_a_truncated_interchange(cut: int) -> None:
    with pytest.raises(EdifactTruncatedError) as caught:
        parse_edifact(_built()[:cut])
    assert caught.value.code == "edifact-truncated"


def test_an_interchange_without_unz_is_truncated() -> None:
    data = _built()
    with pytest.raises(EdifactTruncatedError, match="before UNZ"):
        parse_edifact(data[: data.rindex(b"UNZ")])


def test_wrong_counts() -> None:
    data = _built()
    unt = data[data.index(b"UNT+") :].split(b"+")[1]
    with pytest.raises(EdifactCountError, match="segments"):
        parse_edifact(data.replace(b"UNT+" + unt, b"UNT+" + str(int(unt) - 1).encode()))
    with pytest.raises(EdifactCountError, match="messages"):
        parse_edifact(data.replace(b"UNZ+1+", b"UNZ+2+"))
    with pytest.raises(EdifactCountError, match="not a number"):
        parse_edifact(data.replace(b"UNZ+1+", b"UNZ+one+"))


def test_mismatched_references() -> None:
    data = _built()
    with pytest.raises(EdifactStructureError) as caught:
        parse_edifact(data.replace(b"UNZ+1+", b"UNZ+1+X"))
    assert caught.value.code == "edifact-reference"


@pytest.mark.parametrize(
    "broken", [b"FTX+NC+P00++Hvad? Nu'", b"FTX+NC+P00++a?b'", b"FTX+NC+P00++a?\nb'"]
)
def test_a_broken_release_sequence(broken: bytes) -> None:
    data = b"UNB+UNOC:3+A:14+B:14+261128:1405+E'UNH+L+X'" + broken + b"UNT+3+L'UNZ+1+E'"
    with pytest.raises(EdifactReleaseError) as caught:
        read_interchange(data)
    assert (caught.value.segment, caught.value.tag) == (3, "FTX")


def test_a_release_character_at_the_end() -> None:
    with pytest.raises(EdifactReleaseError, match="ends with"):
        tokenize(b"UNB+UNOC:3'UNZ+1+E?")


def test_a_second_una() -> None:
    data = _built()
    at = data.index(b"UNH")
    with pytest.raises(EdifactServiceStringError) as caught:
        parse_edifact(data[:at] + b"UNA:+.? '\n" + data[at:])
    assert caught.value.code == "edifact-una"
    with pytest.raises(EdifactServiceStringError):
        tokenize(b"UNA::.? 'UNB'")  # the same character twice


@pytest.mark.parametrize("byte", [b"\x80", b"\x93", b"\x00", b"\x7f", b"\x1b"])
def test_bytes_outside_iso_8859_1(byte: bytes) -> None:
    data = _built().replace("Jensen".encode("latin-1"), b"Jen" + byte + b"sen")
    with pytest.raises(EdifactCharsetError) as caught:
        parse_edifact(data)
    assert caught.value.code == "edifact-charset"
    assert "offset" in caught.value.message


def test_an_interchange_over_the_size_limit() -> None:
    with pytest.raises(MessageTooLargeError):
        parse_edifact(_built(), max_bytes=100)


def test_a_syntax_identifier_other_than_unoc() -> None:
    with pytest.raises(EdifactCharsetError, match="UNOY"):
        parse_edifact(_built().replace(b"UNOC", b"UNOY"))


def test_characters_syntax_unoc_cannot_carry_are_refused_when_writing() -> None:
    for bad in ("Jen€sen", "Jen\x1bsen", "Jen\nsen", "Ĳssel"):
        patient = Patient(cpr="1203164321", surname=bad)
        with pytest.raises(EdifactCharsetError):
            build_edifact(replace(GOOD, patient=patient))


def test_an_unknown_message_type_is_a_version_problem() -> None:
    data = _built().replace(b"MEDDIS:D:93A:UN:D9134L", b"MEDREF:D:93A:UN:H0130R")
    with pytest.raises(EdifactUnsupportedError) as caught:
        parse_edifact(data)
    assert caught.value.refuse_code is RefuseCode.VERSION_PROBLEM


def test_values_outside_medcoms_code_lists() -> None:
    with pytest.raises(EdifactValueError, match="speciality"):
        parse_edifact(_built().replace(b"SPR+ORG+90:", b"SPR+ORG+80:"))
    with pytest.raises(EdifactValueError, match="DTM"):
        parse_edifact(_built().replace(b"DTM+137:2026", b"DTM+137:2026999"))
    with pytest.raises(EdifactValueError, match="UNB"):
        parse_edifact(_built().replace(b":1505+", b":2505+"))
    with pytest.raises(EdifactStructureError, match="no patient"):
        parse_edifact(_built().replace(b"PNA+PAT", b"PNA+XXX"))


def test_structure_errors() -> None:
    data = _built()
    with pytest.raises(EdifactStructureError, match="starts with UNB"):
        read_interchange(data.replace(b"UNB+", b"UNX+"))
    with pytest.raises(EdifactStructureError, match="after UNZ"):
        read_interchange(data + b"UNH+2+X'")
    with pytest.raises(EdifactStructureError, match="not a segment tag"):
        read_interchange(data.replace(b"BGM+", b"bgm+"))
    several = data.replace(b"UNZ+1+", b"UNZ+2+").replace(
        b"UNZ", data[data.index(b"UNH") : data.index(b"UNZ")] + b"UNZ", 1
    )
    assert len(read_edifact(several)) == 2
    with pytest.raises(EdifactStructureError) as caught:
        parse_edifact(several)
    assert caught.value.code == "edifact-several-messages"


def test_looks_like_edifact() -> None:
    assert looks_like_edifact(_built())
    assert looks_like_edifact(b"\nUNB+UNOC:3'")
    assert not looks_like_edifact(build_message(GOOD))


# ---------------------------------------------------------------- refusals (CTL02)


def test_a_refused_letter_gets_a_ctl02_naming_it() -> None:
    data = _built().replace(b"UNZ+1+", b"UNZ+3+")
    with pytest.raises(EdifactError) as caught:
        parse_edifact(data)
    receipt = refusal_receipt(data, caught.value, now=NOW)
    assert receipt is not None
    assert receipt.type is MessageType.XCTL02
    assert (receipt.sender_ean, receipt.receiver_ean) == (GOOD.receiver.ean, GOOD.sender.ean)
    assert receipt.original_envelope_identifier == GOOD.envelope.identifier
    [original] = receipt.original_letters
    assert original.identifier == GOOD.letter_identifier
    assert original.version_code == "D9134L"
    assert original.refuse_code is RefuseCode.SYNTAX_ERROR
    assert parse_edifact(build_edifact(receipt)) == receipt


def test_a_refusal_before_unh_is_about_the_envelope() -> None:
    data = _built()
    data = data[: data.index(b"UNH")] + b"UNH+L1?x"
    with pytest.raises(EdifactError) as caught:
        parse_edifact(data)
    receipt = refusal_receipt(data, caught.value, now=NOW)
    assert receipt is not None
    assert receipt.original_letters == ()
    assert receipt.refuse_code is RefuseCode.SYNTAX_ERROR


def test_no_receipt_for_a_receipt_or_an_unaddressable_interchange() -> None:
    ctl = build_edifact(receipt_for(GOOD, refuse_code=RefuseCode.SYNTAX_ERROR, now=NOW))
    broken = ctl.replace(b"UNZ+1+", b"UNZ+2+")
    with pytest.raises(EdifactError) as caught:
        parse_edifact(broken)
    assert refusal_receipt(broken, caught.value, now=NOW) is None
    garbage = b"UNB+UNOC:3+579"
    with pytest.raises(EdifactError) as caught:
        parse_edifact(garbage)
    assert refusal_receipt(garbage, caught.value, now=NOW) is None


# ---------------------------------------------------------------- FTX text


def _components(segments: list[Segment]) -> list[str]:
    return [c for s in segments for c in s.element(3)]


@pytest.mark.parametrize(
    ("text", "components"),
    [
        ("a\n\nb\n", ["a", ".", "b"]),
        ("a\n.\nb", ["a", ".\\", ".", "b\\"]),
        ("C:\\dir\\\nx\n", ["C:\\dir\\\\", ".", "x"]),
        ("", []),
        ("\n", ["."]),
    ],
)
def test_ftx_lines(text: str, components: list[str]) -> None:
    segments = ftx_segments("NC", from_plain(text))
    assert _components(segments) == components
    assert read_ftx(segments) == from_plain(text)


def test_long_lines_wrap_after_a_space_and_at_most_five_components_per_ftx() -> None:
    line = " ".join(["undersøgelse"] * 40)
    segments = ftx_segments("NC", from_plain(line + "\n" + "x" * 200 + "\n"))
    components = _components(segments)
    assert all(len(c) <= 70 for c in components)
    assert all(len(s.element(3)) <= 5 for s in segments)
    assert components[0].endswith("undersøgelse \\")
    assert read_ftx(segments) == from_plain(line + "\n" + "x" * 200 + "\n")


plain_texts = st.text(LATIN1 | SPECIAL | st.just("\n"), max_size=400).map(from_plain)


@fuzz_settings(200)
@given(plain_texts)
def test_plain_text_survives_ftx_exactly(text: FormattedText) -> None:
    segments = ftx_segments("NC", text)
    assert all(len(c) <= 70 for c in _components(segments))
    assert all(len(s.element(3)) <= 5 for s in segments)
    _, read = tokenize(serialize(segments))
    assert read_ftx(read) == text


def _merge(parts: list[Inline]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + part
        else:
            out.append(part)
    return tuple(out)


words = st.text(LATIN1 | SPECIAL, min_size=1, max_size=90)
breakable = st.lists(words | st.just(BREAK) | st.just(SPACE), max_size=5).map(
    lambda parts: _merge(list[Inline](parts))
)
styled = st.builds(
    Styled, st.sampled_from([s for s in Style if s is not Style.FIXED_FONT]), breakable
)
fixed = st.builds(
    Styled,
    st.just(Style.FIXED_FONT),
    st.lists(words | st.just(BREAK) | styled, max_size=4).map(_merge),
)
styled_texts = st.lists(words | st.just(BREAK) | st.just(SPACE) | styled | fixed, max_size=8).map(
    _merge
)


@fuzz_settings(200)
@given(styled_texts)
def test_formatted_text_keeps_its_words_and_lines(text: FormattedText) -> None:
    once = read_ftx(ftx_segments("NC", text))
    assert to_plain(once) == to_plain(text)
    assert read_ftx(ftx_segments("NC", once)) == once


def test_styles_are_written_as_medcoms_style_codes() -> None:
    text: FormattedText = (
        "Hej ",
        Styled(Style.BOLD, ("vigtigt",)),
        BREAK,
        Styled(Style.FIXED_FONT, ("kode", Styled(Style.CENTER, ("midt", BREAK)))),
    )
    segments = ftx_segments("NC", text)
    assert [s.get(1) for s in segments] == ["P00", "PF0", "P00", "F00", "F0M"]
    assert read_ftx(segments) == text


# ---------------------------------------------------------------- letters and receipts


def test_a_letter_with_every_part_round_trips() -> None:
    full = letter(
        status=LetterStatus.CORRECTED,
        priority=Priority.HIGH,
        clinical_information=(from_plain("Første blok\n"), (), from_plain("Tredje")),
        references=(
            Reference(description="Se journal", url="https://example.dk/" + "a" * 300),
            Reference(description="Papirpost", sup=True),
            Reference(
                description="Billede",
                binary=BinaryReference("OBJ-1", "billede", "jpeg", 12345),
            ),
        ),
        patient=Patient(
            surname="Berggren",
            alternative_identifier="1512AB12X4",
            address=Address(street="Park Allé 48", suburb="Nord", district="Hillerød"),
            occupancy="Elev",
            episode_of_care_status="ambulant",
        ),
    )
    data = build_edifact(full)
    assert parse_edifact(data) == full
    assert parse_message(build_message(full), registry=REGISTRY) == full


def test_what_dis91_cannot_hold() -> None:
    sender = replace(GOOD.sender, medical_speciality=None)
    receiver = replace(GOOD.receiver, organisation_name=None)
    odd = replace(
        GOOD,
        sender=sender,
        receiver=receiver,
        priority=None,
        subject=None,
        additional_information=True,
    )
    read = parse_edifact(build_edifact(odd))
    assert isinstance(read, Correspondence)
    assert read.sender.medical_speciality == "ikkeklassificeret"  # SPR+ORG+99
    assert read.receiver.organisation_name is None  # written "_", read back as missing
    assert isinstance(read, Correspondence)
    assert read.additional_information is False
    assert read == replace(
        odd,
        sender=replace(sender, medical_speciality="ikkeklassificeret"),
        additional_information=False,
    )


def test_unb_element_0031_is_the_acknowledgement_code() -> None:
    asks = build_edifact(GOOD)
    assert b"++++1'" in asks.splitlines()[1]
    none = build_edifact(replace(GOOD, envelope=replace(GOOD.envelope, ack_code=AckCode.NONE)))
    assert none.splitlines()[1].endswith(b"++++0'")
    assert parse_edifact(none).envelope.ack_code is AckCode.NONE
    receipt = build_edifact(receipt_for(GOOD, now=NOW))
    assert receipt.splitlines()[1].count(b"+") == 5  # a receipt's UNB has no 0031
    assert b"+UNOC:3+" + GOOD.receiver.ean.encode() + b":14+" in receipt


@pytest.mark.parametrize("refuse", [None, *RefuseCode])
def test_receipts_round_trip(refuse: RefuseCode | None) -> None:
    receipt = receipt_for(
        GOOD,
        refuse_code=refuse,
        refuse_text="Kan ikke læses: " + "x" * 400 if refuse else None,
        now=NOW,
    )
    data = build_edifact(receipt)
    assert parse_edifact(data) == receipt
    action = b"+7'" if refuse is None else b"+4'"
    uci = data.splitlines()[3]
    assert uci.startswith(b"UCI+")
    assert uci.endswith(action)
    assert b"UCM+" + GOOD.letter_identifier.encode() + b"+XMEDDIS:D:93A:UN:XD9134L" in data


def test_a_network_receipt_about_the_envelope_round_trips() -> None:
    receipt = Receipt(
        type=MessageType.XCTL01,
        statistical_code="XCTL01",
        envelope=Envelope("E9", datetime(2026, 1, 2, 3, 4, tzinfo=COPENHAGEN)),
        letter_identifier="L9",
        sender_ean="DKKMDKMDNET",
        receiver_ean="5790000120314",
        original_envelope_identifier="E1",
        original_sender_ean="5790000120314",
        original_receiver_ean="5790000121441",
        refuse_code=RefuseCode.UNKNOWN_LOCATION_NUMBER,
        refuse_text=from_plain("Ukendt modtager"),
    )
    assert parse_edifact(build_edifact(receipt)) == receipt


def test_a_text_of_31150_characters_survives_both_ways() -> None:
    sentence = "Mads har brug for støtte: 'PPR' + skole? Ja. "
    text = (sentence * (MAX_TEXT_CHARS // len(sentence) + 1))[: MAX_TEXT_CHARS - 1] + "\n"
    long = letter(clinical_information=(from_plain(text),))
    assert len(to_plain(long.clinical_information[0])) == MAX_TEXT_CHARS
    edi = build_edifact(long)
    assert parse_edifact(edi) == long
    via_xml = parse_message(build_message(parse_edifact(edi)), registry=REGISTRY)
    assert via_xml == long
    assert build_edifact(via_xml) == edi


latin_words = st.text(LATIN1 | SPECIAL, min_size=1, max_size=35).filter(lambda s: s != "_")


@fuzz_settings(100)
@given(
    sender_name=latin_words,
    surname=latin_words,
    subject=st.none() | st.text(LATIN1 | SPECIAL, min_size=1, max_size=70),
    blocks=st.lists(plain_texts, max_size=4),
    ident=st.text(LATIN1 | SPECIAL, min_size=1, max_size=14),
    ack=st.sampled_from(AckCode),
)
def test_generated_letters_round_trip(
    sender_name: str,
    surname: str,
    subject: str | None,
    blocks: list[FormattedText],
    ident: str,
    ack: AckCode,
) -> None:
    generated = replace(
        GOOD,
        envelope=Envelope(ident, GOOD.envelope.sent, ack),
        letter_identifier=ident,
        sender=replace(GOOD.sender, organisation_name=sender_name),
        patient=replace(GOOD.patient, surname=surname),
        subject=subject,
        clinical_information=tuple(blocks),
    )
    assert parse_edifact(build_edifact(generated)) == generated
