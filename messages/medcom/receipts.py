"""MedCom receipts: XCTL03 positive, XCTL02 negative, XCTL01 network negative.

MedCom's rules, as helpers:

* a positive receipt (XCTL03) is made only when the sender asked for one
  (``pluspositivkvitt``); :func:`receipt_for` refuses otherwise;
* a negative receipt (XCTL02) is always made when a letter is refused;
* a receipt is never receipted: asking for a receipt of a receipt raises
  :class:`~messages.errors.ReceiptRuleError`;
* receipts themselves never ask for a receipt (``minuspositivkvitt``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lxml import etree

from messages.errors import ReceiptRuleError, RefuseCode
from messages.identifiers import new_message_id
from messages.medcom.model import (
    VERSION_CODES,
    AckCode,
    BinaryLetter,
    Correspondence,
    Envelope,
    MessageType,
    OriginalLetter,
    Receipt,
)
from messages.medcom.parts import read_envelope, write_envelope
from messages.medcom.text import FormattedText, from_plain, read_text, write_text
from messages.medcom.xmlcodec import NS_XCTL, Builder, Reader, local_minute, serialize

if TYPE_CHECKING:
    from messages.medcom.routing import Routing

__all__ = [
    "ROOT_ELEMENTS",
    "build_receipt",
    "negative_network_receipt",
    "read_receipt",
    "receipt_for",
    "receipt_to_element",
]

ROOT_ELEMENTS: dict[MessageType, str] = {
    MessageType.XCTL01: "NegativeVansReceipt",
    MessageType.XCTL02: "NegativeReceipt",
    MessageType.XCTL03: "PositiveReceipt",
}
_TYPES = {name: kind for kind, name in ROOT_ELEMENTS.items()}
_B = Builder(NS_XCTL)


def receipt_to_element(receipt: Receipt) -> etree._Element:
    if receipt.type not in ROOT_ELEMENTS:
        raise ReceiptRuleError(f"{receipt.type} is not a receipt type")
    negative = receipt.type is not MessageType.XCTL03
    root = _B.root("Emessage")
    write_envelope(_B, root, receipt.envelope)
    body = _B.el(root, ROOT_ELEMENTS[receipt.type])
    head = _B.el(body, "Letter")
    _B.el(head, "Identifier", receipt.letter_identifier)
    _B.el(head, "VersionCode", VERSION_CODES[receipt.type])
    _B.el(head, "StatisticalCode", receipt.statistical_code or receipt.type.value)
    _B.el(_B.el(body, "Sender"), "EANIdentifier", receipt.sender_ean)
    _B.el(_B.el(body, "Receiver"), "EANIdentifier", receipt.receiver_ean)
    original = _B.el(body, "OriginalEmessage")
    _B.el(original, "OriginalEnvelopeIdentifier", receipt.original_envelope_identifier)
    _B.el(_B.el(original, "OriginalSender"), "EANIdentifier", receipt.original_sender_ean)
    _B.el(_B.el(original, "OriginalReceiver"), "EANIdentifier", receipt.original_receiver_ean)
    if negative:
        _write_refusal(original, receipt.refuse_code, receipt.refuse_text)
    for letter in receipt.original_letters:
        holder = _B.el(original, "OriginalLetter")
        _B.el(holder, "OriginalLetterIdentifier", letter.identifier)
        _B.el(holder, "OriginalVersionCode", letter.version_code)
        if negative:
            _write_refusal(holder, letter.refuse_code, letter.refuse_text)
    return root


def _write_refusal(
    parent: etree._Element, code: RefuseCode | None, text: FormattedText | None
) -> None:
    _B.opt(parent, "RefuseCode", code.value if code else None)
    if text is not None:
        write_text(_B.el(parent, "RefuseText"), text, NS_XCTL)


def build_receipt(receipt: Receipt, *, encoding: str = "ISO-8859-1") -> bytes:
    return serialize(receipt_to_element(receipt), encoding)


def read_receipt(root: etree._Element) -> Receipt:
    """Read a schema-valid XCTL ``Emessage`` element."""
    r = Reader(root, NS_XCTL)
    body_element = next(
        e for e in root if isinstance(e.tag, str) and e.tag.rsplit("}", 1)[-1] in _TYPES
    )
    kind = _TYPES[body_element.tag.rsplit("}", 1)[-1]]
    body = Reader(body_element, NS_XCTL)
    original = body.child("OriginalEmessage")
    code, text = _read_refusal(original)
    return Receipt(
        type=kind,
        envelope=read_envelope(r),
        letter_identifier=body.child("Letter").text("Identifier"),
        statistical_code=body.child("Letter").text("StatisticalCode"),
        sender_ean=body.child("Sender").text("EANIdentifier"),
        receiver_ean=body.child("Receiver").text("EANIdentifier"),
        original_envelope_identifier=original.text("OriginalEnvelopeIdentifier"),
        original_sender_ean=original.child("OriginalSender").text("EANIdentifier"),
        original_receiver_ean=original.child("OriginalReceiver").text("EANIdentifier"),
        refuse_code=code,
        refuse_text=text,
        original_letters=tuple(
            OriginalLetter(
                identifier=letter.text("OriginalLetterIdentifier"),
                version_code=letter.text("OriginalVersionCode"),
                refuse_code=_read_refusal(letter)[0],
                refuse_text=_read_refusal(letter)[1],
            )
            for letter in original.all("OriginalLetter")
        ),
    )


def _read_refusal(r: Reader) -> tuple[RefuseCode | None, FormattedText | None]:
    code = r.opt("RefuseCode")
    text = r.maybe("RefuseText")
    return (
        RefuseCode(code) if code else None,
        read_text(text.element) if text is not None else None,
    )


def receipt_for(
    letter: Correspondence | BinaryLetter | Receipt,
    *,
    refuse_code: RefuseCode | None = None,
    refuse_text: str | None = None,
    now: datetime | None = None,
) -> Receipt:
    """The receipt the receiver of ``letter`` sends back.

    Without ``refuse_code`` it is a positive receipt (XCTL03), which MedCom allows only when
    the sender asked for one; with it, a negative receipt (XCTL02), always allowed.
    A receipt is never receipted.
    """
    if isinstance(letter, Receipt):
        raise ReceiptRuleError("a receipt is never receipted (MedCom rule)")
    if refuse_code is None and not letter.envelope.wants_positive_receipt:
        raise ReceiptRuleError(
            "the sender did not ask for a positive receipt (minuspositivkvitt): "
            "send none, or a negative receipt if the letter is refused"
        )
    kind = MessageType.XCTL03 if refuse_code is None else MessageType.XCTL02
    text = from_plain(refuse_text) if refuse_text else None
    moment = local_minute(now or datetime.now(UTC))
    return Receipt(
        type=kind,
        statistical_code=kind.value,
        envelope=Envelope(identifier=new_message_id(), sent=moment, ack_code=AckCode.NONE),
        letter_identifier=new_message_id(),
        sender_ean=letter.receiver.ean,
        receiver_ean=letter.sender.ean,
        original_envelope_identifier=letter.envelope.identifier,
        original_sender_ean=letter.sender.ean,
        original_receiver_ean=letter.receiver.ean,
        original_letters=(
            OriginalLetter(
                identifier=letter.letter_identifier,
                version_code=VERSION_CODES[letter.type],
                refuse_code=refuse_code,
                refuse_text=text,
            ),
        ),
    )


def negative_network_receipt(
    routing: Routing,
    *,
    network_id: str,
    refuse_code: RefuseCode,
    text: str,
    now: datetime,
) -> Receipt:
    """The XCTL01 a network (the hub) sends a letter's sender when it could not deliver it,
    e.g. because the receiver never took it (expiry). ``network_id`` is the hub's
    identifier in the receipt's ``Sender/EANIdentifier``. The model: its identifiers are at
    hand, and :func:`~messages.medcom.documents.build_message` makes the bytes."""
    if routing.type.is_receipt:
        raise ReceiptRuleError("a receipt is never receipted (MedCom rule)")
    return Receipt(
        type=MessageType.XCTL01,
        statistical_code=MessageType.XCTL01.value,
        envelope=Envelope(
            identifier=new_message_id(), sent=local_minute(now), ack_code=AckCode.NONE
        ),
        letter_identifier=new_message_id(),
        sender_ean=network_id,
        receiver_ean=routing.sender_gln,
        original_envelope_identifier=routing.envelope_identifier,
        original_sender_ean=routing.sender_gln,
        original_receiver_ean=routing.receiver_gln,
        refuse_code=refuse_code,
        refuse_text=from_plain(text),
        original_letters=(
            OriginalLetter(
                identifier=routing.letter_identifier, version_code=VERSION_CODES[routing.type]
            ),
        ),
    )
