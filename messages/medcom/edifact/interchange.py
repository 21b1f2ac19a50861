"""The interchange envelope: UNB … UNZ around messages UNH … UNT, with their counts.

MedCom's use: ``UNB+UNOC:3+<sender GLN>:14+<receiver GLN>:14+YYMMDD:HHMM+<envelope id>
++++<0031>`` (element 0031, *acknowledgement request*: ``1`` asks for a positive receipt,
``0`` or nothing does not; receipts leave it out), then one or more
``UNH+<letter id>+<type>:D:93A:<agency>:<MedCom version>+<DIS91|CTL0x>`` … ``UNT+<segments
in the message, UNH and UNT included>+<letter id>``, and ``UNZ+<messages>+<envelope id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from messages.errors import (
    EdifactCharsetError,
    EdifactCountError,
    EdifactStructureError,
    EdifactTruncatedError,
    EdifactValueError,
    MessageTooLargeError,
)
from messages.medcom.edifact.syntax import Element, Segment, check_text, serialize, tokenize
from messages.medcom.xmlcodec import local_minute
from messages.timezone import COPENHAGEN
from messages.xmlsafe import DEFAULT_MAX_BYTES

__all__ = ["Interchange", "Message", "build_interchange", "read_interchange"]

_SYNTAXES = ("UNOA", "UNOB", "UNOC")


@dataclass(frozen=True, slots=True)
class Message:
    """One message: UNH's reference, message identifier (S009) and common access reference,
    and the segments between UNH and UNT. ``position`` is UNH's segment number."""

    reference: str
    identifier: Element
    access: str
    segments: tuple[Segment, ...]
    position: int = 0

    @property
    def version(self) -> str:
        """MedCom's version code: S009's association assigned code, e.g. ``D9134L``."""
        return self.identifier[4] if len(self.identifier) > 4 else ""


@dataclass(frozen=True, slots=True)
class Interchange:
    sender: str  # UNB S002 0004: the sender's location number (GLN), or a VANS id
    recipient: str  # UNB S003 0010: the receiver's location number
    prepared: datetime  # UNB S004, Danish local time to the minute
    reference: str  # UNB 0020, the interchange control reference (envelope identifier)
    messages: tuple[Message, ...]
    ack_request: str = ""  # UNB 0031: "1" asks for a positive receipt
    syntax: str = "UNOC"  # UNB S001 0001
    sender_qualifier: str = "14"  # UNB S002 0007 (14: EAN/GLN)
    recipient_qualifier: str = "14"  # UNB S003 0007


def _year(yy: int) -> int:
    # Two-digit years as POSIX strptime reads them: 69-99 → 19xx, 00-68 → 20xx.
    return 1900 + yy if yy >= 69 else 2000 + yy


def _prepared(unb: Segment) -> datetime:
    day, clock = unb.get(3, 0), unb.get(3, 1)
    if len(day) != 6 or len(clock) != 4 or not (day + clock).isdigit():
        raise EdifactValueError(
            f"UNB's date and time {day}:{clock} are not YYMMDD:HHMM", segment=1, tag="UNB"
        )
    try:
        return datetime(
            _year(int(day[:2])),
            int(day[2:4]),
            int(day[4:6]),
            int(clock[:2]),
            int(clock[2:]),
            tzinfo=COPENHAGEN,
        )
    except ValueError as exc:
        raise EdifactValueError(
            f"UNB's date and time {day}:{clock} do not exist", segment=1, tag="UNB"
        ) from exc


def _count(segment: Segment, number: int, what: str) -> int:
    value = segment.get(0)
    if not value.isdigit():
        raise EdifactCountError(
            f"{segment.tag}'s {what} count {value!r} is not a number",
            segment=number,
            tag=segment.tag,
        )
    return int(value)


def read_interchange(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Interchange:
    """Tokenize and check an interchange: UNB first, UNZ last, every UNH closed by its UNT,
    the counts and control references right. Raises an :class:`~messages.errors.EdifactError`
    (or :class:`~messages.errors.MessageTooLargeError` over ``max_bytes``, as for XML).
    """
    if len(data) > max_bytes:
        raise MessageTooLargeError(
            f"the interchange is {len(data):,} bytes; the limit is {max_bytes:,}"
        )
    _, segments = tokenize(data)
    if not segments:
        raise EdifactTruncatedError("the interchange is empty")
    unb = segments[0]
    if unb.tag != "UNB":
        raise EdifactStructureError(
            f"an interchange starts with UNB, not {unb.tag}", segment=1, tag=unb.tag
        )
    syntax = unb.get(0, 0)
    if syntax not in _SYNTAXES:
        raise EdifactCharsetError(
            f"syntax identifier {syntax!r}: MedCom's EDIFACT is UNOC (ISO-8859-1)",
            segment=1,
            tag="UNB",
        )
    messages: list[Message] = []
    open_at: int | None = None
    closed = False
    for index in range(1, len(segments)):
        segment = segments[index]
        number = index + 1
        tag = segment.tag
        if closed:
            raise EdifactStructureError("a segment after UNZ", segment=number, tag=tag)
        if tag == "UNH":
            if open_at is not None:
                raise EdifactStructureError(
                    "UNH before the previous message's UNT", segment=number, tag=tag
                )
            open_at = index
        elif tag == "UNT":
            if open_at is None:
                raise EdifactStructureError("UNT without its UNH", segment=number, tag=tag)
            unh = segments[open_at]
            counted = index - open_at + 1
            stated = _count(segment, number, "segment")
            if stated != counted:
                raise EdifactCountError(
                    f"UNT says {stated} segments, the message has {counted}",
                    segment=number,
                    tag=tag,
                )
            if segment.get(1) != unh.get(0):
                raise EdifactStructureError(
                    f"UNT's reference {segment.get(1)!r} is not UNH's {unh.get(0)!r}",
                    segment=number,
                    tag=tag,
                    code="edifact-reference",
                )
            messages.append(
                Message(
                    reference=unh.get(0),
                    identifier=unh.element(1),
                    access=unh.get(2),
                    segments=tuple(segments[open_at + 1 : index]),
                    position=open_at + 1,
                )
            )
            open_at = None
        elif tag == "UNZ":
            if open_at is not None:
                raise EdifactTruncatedError("UNZ before the message's UNT", segment=number, tag=tag)
            stated = _count(segment, number, "message")
            if stated != len(messages):
                raise EdifactCountError(
                    f"UNZ says {stated} messages, the interchange has {len(messages)}",
                    segment=number,
                    tag=tag,
                )
            if segment.get(1) != unb.get(4):
                raise EdifactStructureError(
                    f"UNZ's reference {segment.get(1)!r} is not UNB's {unb.get(4)!r}",
                    segment=number,
                    tag=tag,
                    code="edifact-reference",
                )
            closed = True
        elif tag in ("UNB", "UNG", "UNE"):
            raise EdifactStructureError(
                f"{tag} inside an interchange (one interchange per file, no groups)",
                segment=number,
                tag=tag,
            )
        elif open_at is None:
            raise EdifactStructureError(
                "a segment outside any message (between UNT and UNH)", segment=number, tag=tag
            )
    if not closed:
        what = "the message's UNT" if open_at is not None else "UNZ"
        raise EdifactTruncatedError(f"the interchange ends before {what}")
    if not messages:
        raise EdifactStructureError("the interchange holds no message")
    return Interchange(
        syntax=syntax,
        sender=unb.get(1, 0),
        sender_qualifier=unb.get(1, 1),
        recipient=unb.get(2, 0),
        recipient_qualifier=unb.get(2, 1),
        prepared=_prepared(unb),
        reference=unb.get(4),
        ack_request=unb.get(8),
        messages=tuple(messages),
    )


def build_interchange(interchange: Interchange) -> bytes:
    """The interchange as bytes: UNA, UNB, each message with its UNH/UNT, UNZ."""
    sent = local_minute(interchange.prepared)
    for value, what in (
        (interchange.sender, "the sender's location number"),
        (interchange.recipient, "the receiver's location number"),
        (interchange.reference, "the envelope identifier"),
    ):
        check_text(value, what)
    unb: list[Element] = [
        (interchange.syntax, "3"),
        (interchange.sender, interchange.sender_qualifier),
        (interchange.recipient, interchange.recipient_qualifier),
        (f"{sent:%y%m%d}", f"{sent:%H%M}"),
        (interchange.reference,),
    ]
    if interchange.ack_request:
        unb += [(), (), (), (interchange.ack_request,)]
    segments = [Segment("UNB", tuple(unb))]
    for message in interchange.messages:
        check_text(message.reference, "the letter identifier")
        segments.append(
            Segment("UNH", ((message.reference,), message.identifier, (message.access,)))
        )
        segments.extend(message.segments)
        segments.append(Segment("UNT", ((str(len(message.segments) + 2),), (message.reference,))))
    segments.append(Segment("UNZ", ((str(len(interchange.messages)),), (interchange.reference,))))
    return serialize(segments)
