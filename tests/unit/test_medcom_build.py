"""What Samspil writes validates against MedCom's official schemas and reads back equal.

Hypothesis generates letters with every optional part, Danish text, long texts and
formatting, in both encodings Samspil emits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from messages.errors import IdentifierError, MessageError, ReceiptRuleError, RefuseCode
from messages.medcom.correspondence import (
    MAX_TEXT_CHARS,
    new_correspondence,
    replied_to,
    reply_reference,
)
from messages.medcom.documents import build_message, parse_message
from messages.medcom.model import (
    AckCode,
    Address,
    BinaryLetter,
    BinaryObject,
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
from messages.medcom.receipts import negative_network_receipt, receipt_for
from messages.medcom.registry import SchemaRegistry
from messages.medcom.routing import read_routing
from messages.medcom.text import BREAK, SPACE, Inline, Style, Styled, to_plain
from messages.medcom.xmlcodec import COPENHAGEN
from tests.medcom_paths import official_schema, requires_official

REGISTRY = SchemaRegistry()
ENCODINGS = st.sampled_from(["ISO-8859-1", "UTF-8"])
# Letters, digits, punctuation and spaces: Danish æøå, other scripts, symbols outside Latin-1.
CHARS = st.characters(categories=("L", "N", "P", "Zs", "Sm", "Sc"), exclude_characters="\x85")


def words(min_size: int = 1, max_size: int = 35) -> st.SearchStrategy[str]:
    return st.text(CHARS, min_size=min_size, max_size=max_size)


digits = st.text("0123456789", min_size=13, max_size=13)
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(second=0, microsecond=0).astimezone(COPENHAGEN))
addresses = st.builds(
    Address,
    street=st.none() | words(),
    suburb=st.none() | words(),
    district=st.none() | words(),
    post_code=st.none() | words(1, 9),
)


def parties(*, sender: bool) -> st.SearchStrategy[Party]:
    return st.builds(
        Party,
        ean=digits,
        identifier=words(1, 17),
        identifier_code=st.sampled_from(
            ["lokationsnummer", "ydernummer", "sorkode", "kommunenummer"]
        ),
        organisation_name=words() if sender else st.none() | words(),
        department_name=st.none() | words(),
        unit_name=st.none() | words(),
        address=addresses,
        telephone=(st.none() | words(1, 25)) if sender else st.none(),
        medical_speciality=(
            st.none()
            | st.sampled_from(["almen_medicin", "boerne_ungdomspsykiatri", "ikkeklassificeret"])
            if sender
            else st.none()
        ),
    )


patients = st.builds(
    Patient,
    surname=words(1, 70),
    cpr=st.text("0123456789", min_size=10, max_size=10),
    given_name=st.none() | words(1, 70),
    address=addresses,
    occupancy=st.none() | words(),
    episode_of_care_status=st.sampled_from(["inaktiv", "ambulant", "indlagt"]),
) | st.builds(Patient, surname=words(1, 70), cpr=st.none(), alternative_identifier=words(10, 10))


def _merge(parts: list[Inline]) -> tuple[Inline, ...]:
    """Adjacent strings merge when read back, so generate them merged."""
    out: list[Inline] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + part
        else:
            out.append(part)
    return tuple(out)


breakable = st.lists(words(1, 40) | st.just(BREAK) | st.just(SPACE), max_size=6).map(
    lambda parts: _merge(list[Inline](parts))
)
simple_styles = st.sampled_from([s for s in Style if s is not Style.FIXED_FONT])
styled = st.builds(Styled, simple_styles, breakable)
fixed = st.builds(
    Styled,
    st.just(Style.FIXED_FONT),
    st.lists(words(1, 40) | st.just(BREAK) | st.just(SPACE) | styled, max_size=5).map(_merge),
)
texts = st.lists(
    words(1, 200) | st.just(BREAK) | st.just(SPACE) | styled | fixed, min_size=0, max_size=12
).map(_merge)
references = (
    st.builds(Reference, description=words(1, 70), url=words(1, 350))
    | st.builds(Reference, description=words(1, 70), sup=st.just(True))
    | st.builds(
        Reference,
        description=words(1, 70),
        binary=st.builds(
            BinaryReference,
            object_identifier=words(1, 35),
            object_code=st.sampled_from(["billede", "tekstfil", "multimedie"]),
            extension_code=st.sampled_from(["pdf", "jpeg", "txt"]),
            original_size=st.integers(1, 10**9),
        ),
    )
)
envelopes = st.builds(
    Envelope, identifier=words(1, 14), sent=moments, ack_code=st.sampled_from(AckCode)
)
correspondences = st.builds(
    Correspondence,
    envelope=envelopes,
    letter_identifier=words(1, 14),
    authorised=moments,
    sender=parties(sender=True),
    receiver=parties(sender=False),
    patient=patients,
    status=st.sampled_from(LetterStatus),
    episode_of_care_identifier=st.none() | words(1, 35),
    priority=st.none() | st.sampled_from(Priority),
    subject=st.none() | words(1, 70),
    additional_information=st.booleans(),
    clinical_information=st.lists(texts, max_size=10).map(tuple),
    references=st.lists(references, max_size=10).map(tuple),
)


def _fix_info(letter: Correspondence) -> Correspondence:
    # ``additional_information`` marks an *empty* AdditionalInformation element.
    if letter.priority is not None or letter.subject is not None:
        return replace(letter, additional_information=False)
    return letter


@pytest.mark.official
@requires_official
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(correspondences.map(_fix_info), ENCODINGS)
def test_generated_correspondence_is_officially_valid_and_reads_back(
    letter: Correspondence, encoding: str
) -> None:
    data = build_message(letter, encoding=encoding)
    schema = official_schema("2006/07/01")
    assert schema.validate(etree.fromstring(data)), schema.error_log
    assert parse_message(data, registry=REGISTRY) == letter


@pytest.mark.official
@requires_official
@settings(max_examples=60, deadline=None)
@given(correspondences.map(_fix_info), st.sampled_from([None, *RefuseCode]), words(1, 300))
def test_generated_receipts_are_officially_valid(
    letter: Correspondence, refuse: RefuseCode | None, reason: str
) -> None:
    letter = replace(letter, envelope=Envelope("E1", letter.envelope.sent, AckCode.POSITIVE))
    receipt = receipt_for(letter, refuse_code=refuse, refuse_text=reason if refuse else None)
    data = build_message(receipt)
    schema = official_schema("2005/08/07")
    assert schema.validate(etree.fromstring(data)), schema.error_log
    assert parse_message(data, registry=REGISTRY) == receipt
    routing = read_routing(data, registry=REGISTRY)
    assert routing.original is not None
    assert routing.original.letter_identifiers == (letter.letter_identifier,)
    assert routing.receiver_gln == letter.sender.ean
    assert routing.original.refuse_code == refuse


@pytest.mark.official
@requires_official
@settings(max_examples=40, deadline=None)
@given(
    envelopes,
    parties(sender=True),
    parties(sender=False),
    st.none()
    | patients.map(
        lambda p: Patient(
            surname=p.surname,
            cpr=p.cpr,
            alternative_identifier=p.alternative_identifier,
            given_name=p.given_name,
        )
    ),
    st.binary(max_size=300),
)
def test_generated_binary_letters_are_officially_valid(
    envelope: Envelope, sender: Party, receiver: Party, patient: Patient | None, blob: bytes
) -> None:
    import base64

    letter = BinaryLetter(
        envelope=envelope,
        letter_identifier="B1",
        authorised=envelope.sent,
        sender=sender,
        receiver=receiver,
        patient=patient,
        system_information=patient is None,
        objects=(
            BinaryObject(
                "c39ea6b2-6052-45e4-a207-415e0205ab6f",
                "tekstfil",
                "txt",
                max(1, len(blob)),
                base64.b64encode(blob).decode(),
            ),
        ),
    )
    data = build_message(letter)
    schema = official_schema("2012/03/28")
    assert schema.validate(etree.fromstring(data)), schema.error_log
    assert parse_message(data, registry=REGISTRY) == letter


GP = Party(
    ean="5790000120314",
    identifier="5790000120314",
    identifier_code="lokationsnummer",
    organisation_name="Lægehuset Vestbyen",
)
PPR = Party(ean="5790000121441", identifier="5790000121441", identifier_code="lokationsnummer")
CHILD = Patient(cpr="1203164321", surname="Jensen", given_name="Mads")


def test_new_correspondence_fills_in_what_samspil_owns() -> None:
    letter = new_correspondence(
        sender=GP,
        receiver=PPR,
        patient=CHILD,
        subject="Henvisning: Mads J.",
        text="Kære PPR\nMads har i en periode haft det svært.",
        ask_for_receipt=True,
        episode_of_care_identifier="3f2b8c4e0a1b4c5d8e9f00112233aabb",
    )
    assert letter.envelope.wants_positive_receipt
    assert len(letter.envelope.identifier) == 14
    assert len(letter.letter_identifier) == 14
    assert letter.clinical_information[0] == (
        "Kære PPR",
        BREAK,
        "Mads har i en periode haft det svært.",
    )
    data = build_message(letter)
    assert data.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    assert "Kære".encode("latin-1") in data
    assert parse_message(data, registry=REGISTRY) == letter


def test_reply_is_linked_to_the_letter_it_answers() -> None:
    first = new_correspondence(
        sender=GP, receiver=PPR, patient=CHILD, subject="Spørgsmål", text="?"
    )
    reply = new_correspondence(
        sender=Party(
            ean=PPR.ean,
            identifier=PPR.identifier,
            identifier_code=PPR.identifier_code,
            organisation_name="PPR Aalborg",
        ),
        receiver=GP,
        patient=CHILD,
        subject="Svar",
        text="!",
        references=(reply_reference(first.letter_identifier),),
        episode_of_care_identifier=first.episode_of_care_identifier,
    )
    read_back = parse_message(build_message(reply), registry=REGISTRY)
    assert isinstance(read_back, Correspondence)
    assert replied_to(read_back) == first.letter_identifier
    assert replied_to(first) is None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"patient": Patient(cpr="3102164321", surname="X")}, "invalid-cpr"),
        ({"patient": Patient(cpr=None, surname="X")}, "invalid-cpr"),
        ({"subject": "x" * 71}, "invalid-subject"),
        ({"subject": ""}, "invalid-subject"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "letter-too-long"),
        ({"text": [("a",)] * 11}, "letter-too-long"),
        ({"text": "nul \x00 byte"}, "invalid-characters"),
    ],
)
def test_new_correspondence_refuses_what_medcom_cannot_carry(
    changes: dict[str, object], code: str
) -> None:
    args: dict[str, object] = {
        "sender": GP,
        "receiver": PPR,
        "patient": CHILD,
        "subject": "S",
        "text": "T",
    }
    args.update(changes)
    with pytest.raises(MessageError) as caught:
        build_message(new_correspondence(**args))  # type: ignore[arg-type]
    assert caught.value.code == code
    assert "3102164321" not in str(caught.value)
    if code == "invalid-cpr":
        assert isinstance(caught.value, IdentifierError)


def test_longest_letter_medcom_allows_is_carried() -> None:
    text = ("æøå " * (MAX_TEXT_CHARS // 4))[:MAX_TEXT_CHARS]
    letter = new_correspondence(sender=GP, receiver=PPR, patient=CHILD, subject="Lang", text=text)
    read_back = parse_message(build_message(letter), registry=REGISTRY)
    assert isinstance(read_back, Correspondence)
    assert to_plain(read_back.clinical_information[0]) == text


def test_receipt_rules() -> None:
    quiet = new_correspondence(sender=GP, receiver=PPR, patient=CHILD, subject="S", text="T")
    asking = new_correspondence(
        sender=GP, receiver=PPR, patient=CHILD, subject="S", text="T", ask_for_receipt=True
    )
    with pytest.raises(ReceiptRuleError):
        receipt_for(quiet)  # no positive receipt unless asked
    negative = receipt_for(quiet, refuse_code=RefuseCode.RECEIVER_ID_PROBLEM, refuse_text="Ukendt")
    assert negative.type is MessageType.XCTL02
    assert not negative.positive
    positive = receipt_for(asking)
    assert positive.type is MessageType.XCTL03
    assert positive.envelope.ack_code is AckCode.NONE  # receipts never ask for receipts
    assert (positive.sender_ean, positive.receiver_ean) == (PPR.ean, GP.ean)
    with pytest.raises(ReceiptRuleError):
        receipt_for(positive)  # a receipt is never receipted
    assert isinstance(parse_message(build_message(positive), registry=REGISTRY), Receipt)


def test_network_negative_receipt_for_an_expired_letter() -> None:
    letter = new_correspondence(sender=GP, receiver=PPR, patient=CHILD, subject="S", text="T")
    routing = read_routing(build_message(letter), registry=REGISTRY)
    now = datetime.now(UTC) + timedelta(days=5)
    receipt = negative_network_receipt(
        routing,
        network_id="SAMSPIL-HUB",
        refuse_code=RefuseCode.NOT_SPECIFIED,
        text="Brevet blev ikke hentet inden for 5 dage.",
        now=now,
    )
    assert receipt.type is MessageType.XCTL01
    assert (receipt.sender_ean, receipt.refuse_code) == ("SAMSPIL-HUB", RefuseCode.NOT_SPECIFIED)
    data = build_message(receipt)
    assert parse_message(data, registry=REGISTRY) == receipt  # the model is what is sent
    assert receipt.receiver_ean == GP.ean
    assert receipt.original_letters[0].identifier == letter.letter_identifier
    with pytest.raises(ReceiptRuleError):
        negative_network_receipt(
            read_routing(data, registry=REGISTRY),
            network_id="X",
            refuse_code=RefuseCode.NOT_SPECIFIED,
            text="",
            now=now,
        )
