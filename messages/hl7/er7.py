"""ER7, HL7 v2's pipe-and-hat text encoding: separators, escape sequences and timestamps.

Shared by the builders (:mod:`messages.hl7.build`), the fast parser
(:mod:`messages.hl7.parse`) and the fast ACK writer (:mod:`messages.hl7.mapping`).

Escape sequences (HL7 v2.5 section 2.7): ``\\F\\`` field, ``\\S\\`` component, ``\\T\\``
subcomponent, ``\\R\\`` repetition and ``\\E\\`` escape separator are translated both ways.
``\\Xhh..\\`` is read as bytes taken as code points (``\\X0D\\`` is a carriage return; the
writer uses it for CR and LF, which would otherwise end a segment). Any other sequence
(``\\H\\``, ``\\.br\\``, ...) is a formatting instruction and is kept as it is.

Timestamps (``DTM``): ``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``. One without an
offset is Danish wall-clock time (:data:`messages.hl7.model.COPENHAGEN`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from messages.errors import Hl7Error
from messages.hl7.model import COPENHAGEN

__all__ = ["DEFAULT_SEPARATORS", "Separators", "format_ts", "parse_ts"]

_DTM = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?"
    r"(?:([+-])(\d{2})(\d{2}))?"
)


@dataclass(frozen=True, slots=True)
class Separators:
    """The five delimiters of one message, as its ``MSH-1`` and ``MSH-2`` declare them."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        """``MSH-2``: component, repetition, escape and subcomponent separators."""
        return self.component + self.repetition + self.escape + self.subcomponent

    def escape_text(self, text: str) -> str:
        """``text`` with every delimiter, CR and LF written as an escape sequence."""
        e = self.escape
        if e in text:
            text = text.replace(e, f"{e}E{e}")
        for char, code in (
            (self.field, "F"),
            (self.component, "S"),
            (self.subcomponent, "T"),
            (self.repetition, "R"),
            ("\r", "X0D"),
            ("\n", "X0A"),
        ):
            if char in text:
                text = text.replace(char, f"{e}{code}{e}")
        return text

    def unescape(self, text: str) -> str:
        """``text`` with its escape sequences translated back (see the module docstring)."""
        e = self.escape
        if e not in text:
            return text
        out: list[str] = []
        pos = 0
        while True:
            start = text.find(e, pos)
            if start < 0:
                out.append(text[pos:])
                break
            end = text.find(e, start + 1)
            if end < 0:  # an escape character that opens nothing: keep it as text
                out.append(text[pos:])
                break
            out.append(text[pos:start])
            out.append(self._translate(text[start + 1 : end]))
            pos = end + 1
        return "".join(out)

    def _translate(self, code: str) -> str:
        simple = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
        }.get(code)
        if simple is not None:
            return simple
        hexdigits = code[1:]
        if code[:1] == "X" and hexdigits and len(hexdigits) % 2 == 0:
            try:
                return bytes.fromhex(hexdigits).decode("latin-1")
            except ValueError:
                pass
        return f"{self.escape}{code}{self.escape}"


DEFAULT_SEPARATORS = Separators()
"""``|^~\\&``, what every builder writes."""


def format_ts(value: datetime) -> str:
    """An HL7 ``DTM`` to the second with its UTC offset: ``20240312101500+0100``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("an HL7 timestamp needs a timezone-aware datetime")
    return value.strftime("%Y%m%d%H%M%S%z")


def parse_ts(text: str, *, segment: str, what: str) -> datetime:
    """Read an HL7 ``DTM`` (see the module docstring) as a timezone-aware datetime.

    ``segment`` and ``what`` (e.g. ``"SCH"``, ``"SCH-11.4 start"``) name the field in the
    :class:`Hl7Error` raised for a malformed or impossible timestamp.
    """
    match = _DTM.fullmatch(text)
    if match is None:
        raise Hl7Error(f"{what} is not an HL7 timestamp", segment=segment, code="invalid-time")
    year, month, day, hour, minute, second, frac, sign, oh, om = match.groups()
    try:
        tz: tzinfo
        if sign is None:
            tz = COPENHAGEN
        else:
            offset = timedelta(hours=int(oh), minutes=int(om))
            if offset >= timedelta(hours=24):
                raise ValueError("offset out of range")
            tz = timezone(-offset if sign == "-" else offset) if offset else UTC
        micro = int((frac or "0").ljust(6, "0"))
        value = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        raise Hl7Error(
            f"{what} is not a real date and time", segment=segment, code="invalid-time"
        ) from None
    return value
