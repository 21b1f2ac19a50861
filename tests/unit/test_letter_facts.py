"""The letter facts the hub keeps beside an XDIS91 for the inbox: the child's CPR (only a real
one) and the subject, read by position from the validated tree; none for receipts."""

from __future__ import annotations

import dataclasses

import pytest

from messages.errors import SchemaError
from messages.medcom.documents import build_message
from messages.medcom.model import MessageType, Patient, Priority
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry
from messages.medcom.routing import (
    NO_LETTER_FACTS,
    LetterFacts,
    letter_facts_of,
    read_letter,
    read_routing,
)
from messages.xmlsafe import parse_xml
from tests.letters import gp_letter

REGISTRY = SchemaRegistry()
CPR = "1203164321"
LETTER = gp_letter("Henvisning: Mads J.", cpr=CPR, ask_for_receipt=True)


def test_a_letter_gives_its_childs_cpr_and_subject() -> None:
    data = build_message(LETTER)
    routing, facts = read_letter(data, registry=REGISTRY)
    assert routing == read_routing(data, registry=REGISTRY)
    assert facts == LetterFacts(patient_cpr=CPR, subject="Henvisning: Mads J.")
    noisy = data.replace(b"<Patient>", b"<!-- x --><?pi y?><Patient><!-- z -->")
    assert read_letter(noisy, registry=REGISTRY)[1] == facts


def test_neither_the_cpr_nor_the_subject_is_in_the_repr() -> None:
    facts = read_letter(build_message(LETTER), registry=REGISTRY)[1]
    assert CPR not in repr(facts)
    assert "Mads" not in repr(facts)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"priority": None}, LetterFacts(CPR, "Henvisning: Mads J.")),  # Subject alone
        ({"subject": None, "priority": Priority.HIGH}, LetterFacts(CPR, None)),  # Priority alone
        ({"subject": None, "priority": None}, LetterFacts(CPR, None)),  # no AdditionalInformation
        (
            {"patient": Patient(alternative_identifier="X12345678Z", surname="Jensen")},
            LetterFacts(None, "Henvisning: Mads J."),
        ),
        (
            {"patient": Patient(cpr="3102154321", surname="Jensen")},  # no real date: carried
            LetterFacts(None, "Henvisning: Mads J."),
        ),
    ],
)
def test_optional_parts(change: dict[str, object], expected: LetterFacts) -> None:
    letter = dataclasses.replace(LETTER, **change)  # type: ignore[arg-type]
    assert read_letter(build_message(letter), registry=REGISTRY)[1] == expected


def test_receipts_have_no_letter_facts() -> None:
    routing, facts = read_letter(build_message(receipt_for(LETTER)), registry=REGISTRY)
    assert routing.type is MessageType.XCTL03
    assert facts is NO_LETTER_FACTS


def test_an_unvalidated_tree_is_refused_not_misread() -> None:
    root = parse_xml(
        b'<Emessage xmlns="http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2006/07/01/">'
        b"<Envelope/></Emessage>"
    )
    with pytest.raises(SchemaError):
        letter_facts_of(root, MessageType.XDIS91)
