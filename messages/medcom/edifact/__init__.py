"""MedCom EDIFACT: DIS91 correspondence and CTL01-03 receipts ⇄ the OIOXML models.

Clinic systems that still speak EDIFACT send and receive the same letters as XDIS91/XCTL,
in another syntax. This package reads an interchange into the very models the OIOXML codecs
use (:class:`~messages.medcom.model.Correspondence`, :class:`~messages.medcom.model.Receipt`)
and writes them back:

* :mod:`.syntax` — UNA, separators, the release character, ISO-8859-1 (UNOC);
* :mod:`.interchange` — UNB/UNH/UNT/UNZ with their counts and references;
* :mod:`.ftx` — MedCom's FTX text rules (70-character lines, ``\\`` and ``.``, 5 per FTX);
* :mod:`.dis91`, :mod:`.contrl` — the two message types; :mod:`.codes` — code lists.

Every problem is an :class:`~messages.errors.EdifactError` with a code and the segment.
:func:`refusal_receipt` makes the negative receipt (CTL01 from a network, CTL02 from a
receiver) MedCom prescribes for a letter that cannot be read, when the interchange says
enough (UNB) to address one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from messages.errors import (
    EdifactError,
    EdifactStructureError,
    EdifactUnsupportedError,
    MessageError,
)
from messages.identifiers import new_message_id
from messages.medcom.edifact.contrl import CONTRL_VERSIONS, contrl_message, read_contrl
from messages.medcom.edifact.dis91 import DIS91_IDENTIFIER, dis91_message, read_dis91
from messages.medcom.edifact.interchange import (
    Interchange,
    Message,
    build_interchange,
    read_interchange,
)
from messages.medcom.edifact.syntax import Segment, tokenize
from messages.medcom.model import (
    AckCode,
    Correspondence,
    Envelope,
    MessageType,
    OriginalLetter,
    Receipt,
)
from messages.medcom.text import from_plain
from messages.medcom.xmlcodec import local_minute
from messages.xmlsafe import DEFAULT_MAX_BYTES

__all__ = [
    "EdifactMessage",
    "build_edifact",
    "looks_like_edifact",
    "parse_edifact",
    "read_edifact",
    "refusal_receipt",
]

EdifactMessage = Correspondence | Receipt


def _read_message(interchange: Interchange, message: Message) -> EdifactMessage:
    if message.identifier == DIS91_IDENTIFIER or (
        message.identifier[:1] == ("MEDDIS",) and message.version == "D9134L"
    ):
        return read_dis91(interchange, message)
    if message.identifier[:1] == ("CONTRL",) and message.version in CONTRL_VERSIONS:
        return read_contrl(interchange, message)
    shown = ":".join(message.identifier)
    raise EdifactUnsupportedError(
        f"message {shown!r}: Samspil carries DIS91 (MEDDIS D9134L) and CTL01-03 (CONTRL)",
        segment=message.position,
        tag="UNH",
    )


def read_edifact(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[EdifactMessage, ...]:
    """Every message of an interchange, as the models the OIOXML codecs use."""
    interchange = read_interchange(data, max_bytes=max_bytes)
    return tuple(_read_message(interchange, m) for m in interchange.messages)


def parse_edifact(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> EdifactMessage:
    """The one message of an interchange (MedCom sends one letter per envelope)."""
    interchange = read_interchange(data, max_bytes=max_bytes)
    if len(interchange.messages) != 1:
        raise EdifactStructureError(
            f"the interchange holds {len(interchange.messages)} messages; "
            "one letter per interchange is carried",
            code="edifact-several-messages",
        )
    return _read_message(interchange, interchange.messages[0])


def build_edifact(message: EdifactMessage) -> bytes:
    """A DIS91 or CTL interchange (ISO-8859-1, default UNA) for a letter or receipt model."""
    if isinstance(message, Correspondence):
        body = dis91_message(message)
        sender, recipient = message.sender.ean, message.receiver.ean
        ack = "1" if message.envelope.ack_code is AckCode.POSITIVE else "0"
    else:
        body = contrl_message(message)
        sender, recipient = message.sender_ean, message.receiver_ean
        ack = "1" if message.envelope.ack_code is AckCode.POSITIVE else ""
    return build_interchange(
        Interchange(
            sender=sender,
            recipient=recipient,
            prepared=message.envelope.sent,
            reference=message.envelope.identifier,
            ack_request=ack,
            messages=(body,),
        )
    )


def looks_like_edifact(data: bytes) -> bool:
    """Whether bytes start like an EDIFACT interchange (UNA or UNB), not like XML."""
    head = data.lstrip()[:3]
    return head in (b"UNA", b"UNB")


def refusal_receipt(
    data: bytes,
    error: MessageError,
    *,
    network_id: str | None = None,
    now: datetime | None = None,
) -> Receipt | None:
    """The negative receipt for an interchange refused with ``error``, or None when none is
    due.

    MedCom: an envelope or letter that cannot be received gets a negative receipt — a CTL01
    from the network (VANS) that refused it, signed ``network_id``, or else a CTL02 from the
    receiver — with the error's RefuseCode (``syntaksfejl``, or ``problem_med_version`` for
    an unknown message). Only if the interchange can be addressed (UNB readable: sender,
    receiver, envelope id) and is not itself a receipt: a receipt is never receipted.
    Letters whose UNH was read are named in the receipt; otherwise the refusal is the
    envelope's.
    """
    try:
        _, segments = tokenize(data)
    except EdifactError:
        segments = _readable_prefix(data)
    if not segments or segments[0].tag != "UNB":
        return None
    unb = segments[0]
    sender, recipient, reference = unb.get(1, 0), unb.get(2, 0), unb.get(4)
    if not (sender and recipient and reference):
        return None
    letters: list[OriginalLetter] = []
    for segment in segments[1:]:
        if segment.tag != "UNH":
            continue
        if segment.get(1, 0) == "CONTRL":
            return None
        letters.append(
            OriginalLetter(
                identifier=segment.get(0),
                version_code=segment.get(1, 4),
                refuse_code=error.refuse_code,
                refuse_text=from_plain(error.message),
            )
        )
    moment = local_minute(now or datetime.now(UTC))
    kind = MessageType.XCTL02 if network_id is None else MessageType.XCTL01
    return Receipt(
        type=kind,
        statistical_code=kind.value,
        envelope=Envelope(identifier=new_message_id(), sent=moment, ack_code=AckCode.NONE),
        letter_identifier=new_message_id(),
        sender_ean=recipient if network_id is None else network_id,
        receiver_ean=sender,
        original_envelope_identifier=reference,
        original_sender_ean=sender,
        original_receiver_ean=recipient,
        refuse_code=None if letters else error.refuse_code,
        refuse_text=None if letters else from_plain(error.message),
        original_letters=tuple(letters),
    )


def _readable_prefix(data: bytes) -> list[Segment]:
    """The segments before the first problem, read with the default service characters
    (for addressing a refusal)."""
    out: list[Segment] = []
    text = data.decode("latin-1")
    start = text.find("UNB")
    if start < 0:
        return out
    for piece in text[start:].split("'"):
        if "?" in piece:
            break
        piece = piece.strip()
        parts = piece.split("+")
        if len(parts[0]) != 3 or not parts[0].isalnum():
            break
        out.append(Segment(parts[0], tuple(tuple(p.split(":")) for p in parts[1:])))
    return out
