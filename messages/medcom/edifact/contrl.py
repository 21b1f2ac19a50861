"""CTL01-03 (``CONTRL:D:93A:ZZ:C0x30Q``) ⇄ :class:`~messages.medcom.model.Receipt`.

::

    UCI+<original envelope id>+<original sender>:14+<original receiver>:14+<4|7>
    FTX+<NC|LOK|MID|VER|SYN>+P00++<text>      the envelope's refusal (optional)
    UCM+<letter id>+<type>:D:93A:UN:<version code>+<4|7>     one per original letter
    FTX+…                                     that letter's refusal (optional)

Action code 7 is accepted (CTL03), 4 rejected (CTL01, CTL02). An FTX belongs to the UCI or
UCM just before it; several FTX in a row are one text (MedCom's converter reads the first
only, and writes one: Samspil writes more only when a text needs more than 5 lines). UNB
gives the receipt's envelope and its sender's and receiver's location numbers; a receipt's
UNB has no element 0031 (a receipt asks for no receipt).
"""

from __future__ import annotations

from messages.errors import EdifactStructureError, EdifactValueError, RefuseCode
from messages.medcom.edifact import codes
from messages.medcom.edifact.ftx import ftx_segments, read_ftx
from messages.medcom.edifact.interchange import Interchange, Message
from messages.medcom.edifact.syntax import Element, Segment, check_text
from messages.medcom.model import AckCode, Envelope, MessageType, OriginalLetter, Receipt
from messages.medcom.text import FormattedText

__all__ = ["CONTRL_VERSIONS", "contrl_message", "read_contrl"]

CONTRL_VERSIONS: dict[str, MessageType] = {
    "C0130Q": MessageType.XCTL01,
    "C0230Q": MessageType.XCTL02,
    "C0330Q": MessageType.XCTL03,
}
_VERSIONS = {kind: version for version, kind in CONTRL_VERSIONS.items()}
_QUALIFIERS = {code: qualifier for qualifier, code in codes.REFUSE_CODES.items()}


def _refusal(
    message: Message, segments: list[Segment], at: int
) -> tuple[RefuseCode | None, FormattedText | None]:
    if not segments:
        return None, None
    qualifier = segments[0].get(0)
    code = codes.REFUSE_CODES.get(qualifier)
    if code is None:
        raise EdifactValueError(
            f"FTX qualifier {qualifier!r} is not a MedCom refuse code",
            segment=message.position + at + 1,
            tag="FTX",
        )
    return code, read_ftx(segments)


def read_contrl(interchange: Interchange, message: Message) -> Receipt:
    """The receipt of a CONTRL message (its version code gives CTL01, CTL02 or CTL03)."""
    kind = CONTRL_VERSIONS[message.version]
    uci: Segment | None = None
    uci_ftx: list[Segment] = []
    uci_at = 0
    letters: list[tuple[Segment, list[Segment], int]] = []
    current: list[Segment] | None = None
    for index, segment in enumerate(message.segments):
        if segment.tag == "UCI":
            uci, uci_at, current = segment, index, uci_ftx
        elif segment.tag == "UCM":
            current = []
            letters.append((segment, current, index))
        elif segment.tag == "FTX" and current is not None:
            current.append(segment)
    if uci is None:
        raise EdifactStructureError(
            "a CONTRL message has no UCI",
            segment=message.position,
            tag="UNH",
            code="edifact-missing-segment",
        )
    code, text = _refusal(message, uci_ftx, uci_at + 1)
    originals = []
    for ucm, ftx, at in letters:
        letter_code, letter_text = _refusal(message, ftx, at + 1)
        originals.append(
            OriginalLetter(
                identifier=ucm.get(0),
                version_code=ucm.get(1, 4),
                refuse_code=letter_code,
                refuse_text=letter_text,
            )
        )
    return Receipt(
        type=kind,
        statistical_code=kind.value,
        envelope=Envelope(
            identifier=interchange.reference,
            sent=interchange.prepared,
            ack_code=AckCode.POSITIVE if interchange.ack_request == "1" else AckCode.NONE,
        ),
        letter_identifier=message.reference,
        sender_ean=interchange.sender,
        receiver_ean=interchange.recipient,
        original_envelope_identifier=uci.get(0),
        original_sender_ean=uci.get(1),
        original_receiver_ean=uci.get(2),
        refuse_code=code,
        refuse_text=text,
        original_letters=tuple(originals),
    )


def _ftx(code: RefuseCode | None, text: FormattedText | None) -> list[Segment]:
    if code is None and text is None:
        return []
    qualifier = _QUALIFIERS[code or RefuseCode.NOT_SPECIFIED]
    return ftx_segments(qualifier, text or (), "the refusal text") or [
        Segment("FTX", ((qualifier,), ("P00",)))
    ]


def _checked(value: str, what: str) -> str:
    check_text(value, what)
    return value


def contrl_message(receipt: Receipt) -> Message:
    """The CONTRL message of a receipt."""
    version = _VERSIONS.get(receipt.type)
    if version is None:
        raise EdifactValueError(f"{receipt.type} is not a receipt type")
    action = "7" if receipt.type is MessageType.XCTL03 else "4"
    negative = receipt.type is not MessageType.XCTL03
    segments = [
        Segment(
            "UCI",
            (
                (_checked(receipt.original_envelope_identifier, "the original envelope id"),),
                (_checked(receipt.original_sender_ean, "the original sender"), "14"),
                (_checked(receipt.original_receiver_ean, "the original receiver"), "14"),
                (action,),
            ),
        )
    ]
    if negative:
        segments += _ftx(receipt.refuse_code, receipt.refuse_text)
    for letter in receipt.original_letters:
        identifier: Element = (
            codes.message_type_name(letter.version_code),
            "D",
            "93A",
            "UN",
            _checked(letter.version_code, "the original version code"),
        )
        segments.append(
            Segment(
                "UCM",
                ((_checked(letter.identifier, "the original letter id"),), identifier, (action,)),
            )
        )
        if negative:
            segments += _ftx(letter.refuse_code, letter.refuse_text)
    return Message(
        reference=receipt.letter_identifier,
        identifier=("CONTRL", "D", "93A", "ZZ", version),
        access=receipt.type.value[1:],
        segments=tuple(segments),
    )
