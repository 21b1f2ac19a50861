"""The hub's routing read: facts by position in a validated tree, refusals otherwise."""

from __future__ import annotations

import pytest

from messages.errors import SchemaError
from messages.medcom.documents import build_message
from messages.medcom.model import MessageType
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry
from messages.medcom.routing import read_routing, routing_of
from messages.xmlsafe import parse_xml
from tests.letters import gp_letter

REGISTRY = SchemaRegistry()
LETTER = gp_letter(
    "Henvisning",
    ask_for_receipt=True,
    episode_of_care_identifier="3f2b8c4e0a1b4c5d8e9f00112233aabb",
)


def test_comments_and_processing_instructions_do_not_shift_the_facts() -> None:
    data = build_message(LETTER)
    noisy = (
        data.replace(b"<Envelope>", b"<!-- a --><?pi x?><Envelope><!-- b -->")
        .replace(b"<Sender>", b"<?pi y?><Sender><!-- c -->")
        .replace(b"<Letter>", b"<Letter><!-- d -->")
    )
    assert read_routing(noisy, registry=REGISTRY) == read_routing(data, registry=REGISTRY)
    routing = read_routing(noisy, registry=REGISTRY)
    assert routing.type is MessageType.XDIS91
    assert (routing.sender_gln, routing.receiver_gln) == ("5790000120314", "5790000121441")
    assert routing.envelope_identifier == LETTER.envelope.identifier
    assert routing.letter_identifier == LETTER.letter_identifier
    assert routing.episode_of_care_identifier == LETTER.episode_of_care_identifier
    assert routing.ack_requested
    assert routing.warnings == ()


def test_receipt_routing_names_the_original() -> None:
    receipt = receipt_for(LETTER)
    routing = read_routing(build_message(receipt), registry=REGISTRY)
    assert routing.type is MessageType.XCTL03
    assert routing.original is not None
    assert routing.original.envelope_identifier == LETTER.envelope.identifier
    assert routing.original.letter_identifiers == (LETTER.letter_identifier,)
    assert routing.original.refuse_code is None
    assert not routing.ack_requested


def test_an_unvalidated_tree_is_refused_not_misread() -> None:
    root = parse_xml(
        b'<Emessage xmlns="http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2006/07/01/">'
        b"<Envelope/></Emessage>"
    )
    with pytest.raises(SchemaError):
        routing_of(root, MessageType.XDIS91)
