"""Which letter an XDIS91 answers, read with its letter facts: the first Samspil reply
reference (``urn:samspil:letter:<id>``, an identifier of 1-14 characters); none otherwise."""

from __future__ import annotations

import dataclasses

import pytest

from messages.medcom.correspondence import replied_to, reply_reference
from messages.medcom.documents import build_message
from messages.medcom.model import Reference
from messages.medcom.registry import SchemaRegistry
from messages.medcom.routing import read_letter
from tests.letters import gp_letter

REGISTRY = SchemaRegistry()
LETTER = gp_letter("Svar")
GUIDE = Reference(description="Vejledning", url="https://example.org/vejledning")
ATTACHED = Reference(description="Bilag", sup=True)


@pytest.mark.parametrize(
    ("references", "expected"),
    [
        ((), None),
        ((GUIDE, ATTACHED), None),
        ((reply_reference("B00000000001"),), "B00000000001"),
        ((GUIDE, reply_reference("B1"), ATTACHED), "B1"),
        ((reply_reference("B1"), reply_reference("B2")), "B1"),  # the first, as replied_to
        ((Reference(description="Svar", url="urn:samspil:letter:" + "9" * 15),), None),
        ((Reference(description="Svar", url="urn:samspil:letter:"),), None),
        ((Reference(description="Svar", url="https://x/urn:samspil:letter:B1"),), None),
    ],
)
def test_the_letter_a_reply_answers(
    references: tuple[Reference, ...], expected: str | None
) -> None:
    letter = dataclasses.replace(LETTER, references=references)
    facts = read_letter(build_message(letter), registry=REGISTRY)[1]
    assert facts.in_reply_to == expected
    if expected is not None:
        assert replied_to(letter) == expected  # the same letter the full reader names
