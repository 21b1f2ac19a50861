"""Mutated messages get a clear rejection or a correct reading — never another exception.

Valid XDIS91, XCTL03 and HL7 messages are truncated, bit-flipped, re-encoded, stuffed with
huge fields and injected entities. Every outcome must be one of: a typed reading, or a
``MessageError`` with a code. The strict reader and the hub's routing reader must agree on
what they accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from messages.errors import MessageError
from messages.hl7.build import build_appointment, build_referral
from messages.hl7.mapping import receive
from messages.hl7.parse import parse_er7
from messages.hl7.samples import make_appointment, make_referral, make_routing
from messages.medcom.documents import build_message, parse_message
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry
from messages.medcom.routing import read_routing
from tests.letters import gp_letter

REGISTRY = SchemaRegistry()
T = TypeVar("T")

_LETTER = gp_letter(
    "Henvisning: Mads J.",
    "Kære PPR\nMads har brug for en vurdering. Æblegrød og ørredsø.",
    given_name="Mads",
    ask_for_receipt=True,
)
XML_SEEDS = [build_message(_LETTER), build_message(receipt_for(_LETTER))]
HL7_SEEDS = [
    build_referral(make_referral(), make_routing()).encode("latin-1"),
    build_appointment(make_appointment(), make_routing()).encode("latin-1"),
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["truncate", "flip", "insert", "delete", "encode", "huge", "entity"])
        )
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=20))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 50))]
        elif kind == "encode":
            text = bytes(data).decode("latin-1")
            codec = draw(st.sampled_from(["utf-8", "utf-16", "cp1252", "ascii"]))
            data = bytearray(text.encode(codec, errors="replace"))
        elif kind == "huge":
            data[at:at] = b"x" * draw(st.sampled_from([1_000, 70_000, 400_000]))
        else:
            data[at:at] = draw(
                st.sampled_from([b"&xxe;", b"<!ENTITY a 'b'>", b"&#0;", b"&#xD800;", b"]]>"])
            )
    return bytes(data)


def _outcome(read: Callable[[], T]) -> tuple[T | None, MessageError | None]:
    """What reading gave: the result, or the MessageError (anything else propagates)."""
    try:
        return read(), None
    except MessageError as exc:
        return None, exc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(XML_SEEDS))
def test_mutated_medcom_is_read_or_refused_with_a_code(data: bytes) -> None:
    routing, routing_error = _outcome(lambda: read_routing(data, registry=REGISTRY))
    message, message_error = _outcome(lambda: parse_message(data, registry=REGISTRY))
    event("accepted" if message is not None else f"refused: {message_error and message_error.code}")
    for error in (routing_error, message_error):
        if error is not None:
            assert error.code
            assert error.message
    # what the hub routes, the receiver can read — and the other way round
    assert (routing is None) == (message is None)
    if routing is not None and message is not None:
        assert routing.type == message.type
        assert routing.envelope_identifier == message.envelope.identifier


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(HL7_SEEDS))
def test_mutated_hl7_is_answered_or_refused(data: bytes) -> None:
    received = receive(data)  # must never raise
    if received.result is not None:
        assert received.error is None
        assert received.ack is not None
        assert parse_er7(received.ack).require("MSA").value(1) == "AA"
    else:
        assert received.error is not None
        assert received.error.code
        answer = parse_er7(received.ack).require("MSA")  # every frame is answered
        # AR for what cannot be processed at all (no readable MSH, not v2.x), AE otherwise
        cannot_process = received.message is None or received.error.code in {
            "unsupported-version",
            "too-large",
        }
        assert answer.value(1) == ("AR" if cannot_process else "AE"), received.error.code
        if received.message is None:
            assert answer.value(2) == ""
        else:
            assert answer.value(2) == received.message.control_id
