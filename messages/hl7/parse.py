"""A fast, small ER7 parser for received HL7 v2.x messages.

hl7apy builds a full object tree for every message (about 30 messages a second here); the GP
adapter needs hundreds. :func:`parse_er7` splits a message into :class:`Segment` objects that
keep their fields as raw ER7 text and split repetitions, components and subcomponents (and
translate escape sequences) only for the values that are asked for.

What it refuses, always with :class:`~messages.errors.Hl7Error` and a ``code``:

=======================  ===================================================================
``empty``                nothing but whitespace
``too-large``            more than :data:`MAX_MESSAGE_CHARS` characters
``no-msh``               the first segment is not ``MSH``
``bad-separators``       ``MSH-1``/``MSH-2`` do not declare five distinct delimiters
``bad-segment``          a segment whose name is not three capitals/digits (garbage)
``multiple-messages``    a second ``MSH`` (batches are not supported)
``field-too-long``       a field longer than :data:`MAX_FIELD_CHARS`
``missing-field``        ``MSH-9``, ``MSH-10`` or ``MSH-12`` empty; or (see
                         :func:`check_structure`) a field the message type needs
``unsupported-version``  ``MSH-12`` is not ``2.x``
``missing-segment``      a segment the message type needs (:func:`check_structure`)
=======================  ===================================================================

Segment terminators may be ``\\r`` (the standard), ``\\n`` or ``\\r\\n``. The HL7 null
value ``""`` reads as an empty string.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from messages.errors import Hl7Error
from messages.hl7.er7 import Separators
from messages.hl7.model import Routing

__all__ = [
    "MAX_FIELD_CHARS",
    "MAX_MESSAGE_CHARS",
    "REQUIRED",
    "Hl7Message",
    "Segment",
    "check_structure",
    "content_digest",
    "parse_er7",
    "read_header",
]

MAX_MESSAGE_CHARS = 1024 * 1024
"""The largest message read: the MLLP decoder's default frame limit."""
MAX_FIELD_CHARS = 64 * 1024
"""The longest field read. Samspil's message types carry no encapsulated documents."""

_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_CODE = re.compile(r"[A-Z0-9_]{1,7}")

_SIU = (("SCH", (2, 6)), ("PID", (3, 5)), ("RGS", (1,)), ("AIL", (3,)), ("AIP", (3,)))
_ADT = (("EVN", (2,)), ("PID", (3, 5)), ("PV1", (2,)))
REQUIRED: dict[tuple[str, str], tuple[tuple[str, tuple[int, ...]], ...]] = {
    ("REF", "I12"): (("RF1", (6,)), ("PRD", (1,)), ("PID", (3, 5))),
    ("SIU", "S12"): _SIU,
    ("SIU", "S13"): _SIU,
    ("SIU", "S14"): _SIU,
    ("SIU", "S15"): _SIU,
    ("ADT", "A04"): _ADT,
    ("ADT", "A03"): _ADT,
    ("ACK", ""): (("MSA", (1, 2)),),
}
"""Per (message type, trigger): the segments a message must hold, each with the fields
that must not be empty in its first occurrence. ``ACK`` applies whatever the trigger."""


def _pick(raw: str, sep: str, index: int) -> str:
    """The ``index``-th (1-based) piece of ``raw`` split at ``sep``, or ``""``."""
    if sep not in raw:
        return raw if index == 1 else ""
    parts = raw.split(sep)
    return parts[index - 1] if index <= len(parts) else ""


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its name and its fields as raw (still escaped) ER7 text.

    ``fields[n]`` is field ``n`` as HL7 numbers them; ``fields[0]`` is the name. For ``MSH``,
    ``fields[1]`` is the field separator and ``fields[2]`` the encoding characters, so that
    ``MSH-9`` is ``fields[9]`` as in the standard.
    """

    name: str
    fields: tuple[str, ...]
    separators: Separators

    def raw(self, n: int) -> str:
        """Field ``n`` as raw ER7 text (``""`` when absent)."""
        return self.fields[n] if n < len(self.fields) else ""

    def value(self, n: int, component: int = 1, subcomponent: int = 1, repetition: int = 1) -> str:
        """One unescaped value: field ``n``, its ``repetition``, ``component``, ``subcomponent``.

        All positions are 1-based as HL7 numbers them; an absent value is ``""``.
        """
        fields = self.fields
        if n >= len(fields):
            return ""
        raw = fields[n]
        if not raw:
            return ""
        if n <= 2 and self.name == "MSH":
            return raw
        sep = self.separators
        raw = _pick(raw, sep.repetition, repetition)
        raw = _pick(raw, sep.component, component)
        raw = _pick(raw, sep.subcomponent, subcomponent)
        if raw == '""':
            return ""
        return sep.unescape(raw)

    def repetition_count(self, n: int) -> int:
        """How many repetitions field ``n`` has (0 when it is empty)."""
        raw = self.raw(n)
        if not raw:
            return 0
        if n <= 2 and self.name == "MSH":
            return 1
        return raw.count(self.separators.repetition) + 1

    def components(self, n: int, repetition: int = 1) -> tuple[str, ...]:
        """The unescaped components of one repetition of field ``n`` (subcomponents joined
        back with the subcomponent separator)."""
        if n <= 2 and self.name == "MSH":
            return (self.raw(n),)
        sep = self.separators
        raw = _pick(self.raw(n), sep.repetition, repetition)
        return tuple(sep.unescape(part) for part in raw.split(sep.component))


@dataclass(frozen=True, slots=True)
class Hl7Message:
    """A received message: its ``MSH`` header values and all its segments in order."""

    message_type: str
    """``MSH-9.1``, e.g. ``SIU``."""
    trigger: str
    """``MSH-9.2``, e.g. ``S12`` (may be empty in an ``ACK``)."""
    structure: str
    """``MSH-9.3``, e.g. ``SIU_S12`` (often empty in the wild)."""
    control_id: str
    """``MSH-10``, what the ``ACK``'s ``MSA-2`` must repeat."""
    version: str
    """``MSH-12.1``, e.g. ``2.5``."""
    processing_id: str
    """``MSH-11.1``: ``P`` production, ``T`` training, ``D`` debugging."""
    charset: str
    """``MSH-18`` (first repetition), e.g. ``UNICODE UTF-8``; empty means ISO-8859-1."""
    routing: Routing
    """``MSH-3``..``MSH-6`` (``HD.1`` of each, ``HD.2`` when ``HD.1`` is empty)."""
    separators: Separators
    segments: tuple[Segment, ...]

    @property
    def msh(self) -> Segment:
        """The ``MSH`` segment."""
        return self.segments[0]

    @property
    def event(self) -> str:
        """``TYPE^TRIGGER``, e.g. ``SIU^S12``, for log lines and error messages.

        Anything but short codes of capitals and digits is shown as ``?``, so that a
        sender's stray data (a CPR number in ``MSH-9``, say) never reaches a log.
        """
        kind = self.message_type if _CODE.fullmatch(self.message_type) else "?"
        trigger = self.trigger if _CODE.fullmatch(self.trigger) else "?"
        return f"{kind}^{trigger}"

    def segment(self, name: str) -> Segment | None:
        """The first segment called ``name``, or None."""
        for seg in self.segments:
            if seg.name == name:
                return seg
        return None

    def all(self, name: str) -> tuple[Segment, ...]:
        """Every segment called ``name``, in order."""
        return tuple(seg for seg in self.segments if seg.name == name)

    def require(self, name: str) -> Segment:
        """The first segment called ``name``, or Hl7Error ``missing-segment``."""
        seg = self.segment(name)
        if seg is None:
            raise Hl7Error(
                f"a {self.event} message needs a {name} segment",
                segment=name,
                code="missing-segment",
            )
        return seg


def _separators(line: str) -> Separators:
    if len(line) < 8:
        raise Hl7Error("the MSH segment is too short", segment="MSH", code="bad-separators")
    fs = line[3]
    end = line.find(fs, 4)
    enc = line[4:end] if end >= 0 else line[4:]
    chars = fs + enc[:4]
    if (
        len(enc) not in (4, 5)  # v2.7 adds a fifth (truncation) character; it is ignored
        or len(set(chars)) != 5
        or any(c.isalnum() or c.isspace() or not c.isprintable() for c in chars)
    ):
        raise Hl7Error(
            "MSH-1 and MSH-2 must declare five distinct delimiters such as |^~\\&",
            segment="MSH",
            code="bad-separators",
        )
    return Separators(fs, enc[0], enc[1], enc[2], enc[3])


def _hd(seg: Segment, n: int) -> str:
    return seg.value(n, 1) or seg.value(n, 2)


def parse_er7(text: str) -> Hl7Message:
    """Parse one ER7 message (already decoded text) and check its ``MSH``.

    Structure per message type is checked separately by :func:`check_structure`, so that a
    receiver can still answer a message with a missing segment with an ``ACK`` that names
    its control id.
    """
    if not text or text.isspace():
        raise Hl7Error("the message is empty", code="empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise Hl7Error(
            f"the message is longer than {MAX_MESSAGE_CHARS} characters", code="too-large"
        )
    text = text.lstrip("\ufeff \t\r\n")
    if not text.startswith("MSH"):
        raise Hl7Error("the message does not start with an MSH segment", code="no-msh")
    sep = _separators(text[: text.find("\r") if "\r" in text else len(text)])
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    fs = sep.field
    segments: list[Segment] = []
    for line in text.split("\r"):
        if not line or line.isspace():
            continue
        parts = line.split(fs)
        name = parts[0]
        if not _SEGMENT_NAME.fullmatch(name):
            raise Hl7Error(
                f"segment {len(segments) + 1} does not start with a segment name",
                code="bad-segment",
            )
        if len(line) > MAX_FIELD_CHARS and any(len(p) > MAX_FIELD_CHARS for p in parts):
            raise Hl7Error(
                f"a field is longer than {MAX_FIELD_CHARS} characters",
                segment=name,
                code="field-too-long",
            )
        if name == "MSH":
            if segments:
                raise Hl7Error(
                    "a second MSH: batches are not supported",
                    segment="MSH",
                    code="multiple-messages",
                )
            fields = ("MSH", fs, *parts[1:])
        else:
            fields = tuple(parts)
        segments.append(Segment(name, fields, sep))
    return _header(segments, sep)


def _header(segments: list[Segment], sep: Separators) -> Hl7Message:
    msh = segments[0]
    message_type, trigger = msh.value(9, 1), msh.value(9, 2)
    control_id, version = msh.value(10), msh.value(12, 1)
    if not message_type or (not trigger and message_type != "ACK"):
        raise _missing_msh("MSH-9 must name the message type and trigger")
    if not control_id:
        raise _missing_msh("MSH-10 (message control id) is empty")
    if not version:
        raise _missing_msh("MSH-12 (version id) is empty")
    if not version.startswith("2."):
        raise Hl7Error(
            "only HL7 version 2.x is supported (MSH-12)",
            segment="MSH",
            code="unsupported-version",
        )
    return Hl7Message(
        message_type=message_type,
        trigger=trigger,
        structure=msh.value(9, 3),
        control_id=control_id,
        version=version,
        processing_id=msh.value(11, 1),
        charset=msh.value(18),
        routing=Routing(_hd(msh, 3), _hd(msh, 4), _hd(msh, 5), _hd(msh, 6)),
        separators=sep,
        segments=tuple(segments),
    )


def read_header(text: str) -> Hl7Message:
    """Only the ``MSH`` of a message that :func:`parse_er7` refused, to answer it.

    Reads the first segment alone and checks only its delimiters: a message whose later
    segments are garbage, which holds a second ``MSH``, or whose ``MSH-9``, ``MSH-10`` or
    ``MSH-12`` is empty or unsupported still has a sender and (maybe) a control id that an
    ``ACK`` can name. The result's ``segments`` hold the ``MSH`` alone; an empty control id
    stays empty. Raises Hl7Error (``no-msh``, ``bad-separators``, ``field-too-long``) when
    even the delimiters cannot be read, or a field is too long to repeat in an ``ACK``.
    """
    text = text.lstrip("\ufeff \t\r\n")
    if not text or not text.startswith("MSH"):
        raise Hl7Error("the message does not start with an MSH segment", code="no-msh")
    end = min((i for i in (text.find("\r"), text.find("\n")) if i >= 0), default=len(text))
    line = text[:end]
    sep = _separators(line)
    parts = line.split(sep.field)
    if any(len(part) > MAX_FIELD_CHARS for part in parts):  # an ACK repeats some of them
        raise Hl7Error(
            f"a field is longer than {MAX_FIELD_CHARS} characters",
            segment="MSH",
            code="field-too-long",
        )
    msh = Segment("MSH", ("MSH", sep.field, *parts[1:]), sep)
    return Hl7Message(
        message_type=msh.value(9, 1),
        trigger=msh.value(9, 2),
        structure=msh.value(9, 3),
        control_id=msh.value(10),
        version=msh.value(12, 1),
        processing_id=msh.value(11, 1),
        charset=msh.value(18),
        routing=Routing(_hd(msh, 3), _hd(msh, 4), _hd(msh, 5), _hd(msh, 6)),
        separators=sep,
        segments=(msh,),
    )


def _missing_msh(sentence: str) -> Hl7Error:
    return Hl7Error(sentence, segment="MSH", code="missing-field")


def check_structure(msg: Hl7Message) -> None:
    """Check the segments and fields :data:`REQUIRED` for the message's type and trigger.

    Types Samspil does not know pass unchecked (:func:`messages.hl7.mapping.to_domain`
    refuses them); raises Hl7Error ``missing-segment`` or ``missing-field``.
    """
    key = (msg.message_type, "" if msg.message_type == "ACK" else msg.trigger)
    for name, fields in REQUIRED.get(key, ()):
        seg = msg.require(name)
        for n in fields:
            raw = seg.raw(n)
            if not raw or raw == '""':
                raise Hl7Error(
                    f"{name}-{n} is required in a {msg.event} message",
                    segment=name,
                    code="missing-field",
                )


def content_digest(msg: Hl7Message) -> str:
    """A SHA-256 (hex) of what a message says, to tell a resend from a reused control id.

    Every segment and field as received (segment terminators normalised, blank lines
    dropped), except ``MSH-7``: a sender's engine may restamp the date/time of a message it
    sends again after a lost ACK, and that resend must still be recognised. Everything
    else, ``MSH-10`` included, must match byte for byte.
    """
    sha = hashlib.sha256()
    for seg in msg.segments:
        fields = seg.fields
        if seg.name == "MSH":
            fields = (*fields[:7], "", *fields[8:]) if len(fields) > 7 else fields
        sha.update("\x1f".join(fields).encode("utf-8", "surrogatepass"))
        sha.update(b"\x1e")
    return sha.hexdigest()
