"""MedCom formatted text: the mixed content of ``Text01``, ``RefuseText`` and friends.

A text is a tuple of inline parts: plain strings, :data:`BREAK` and :data:`SPACE`, and
:class:`Styled` runs (``Bold``, ``Italic``, ``Underline``, ``Right``, ``Center``,
``FixedFont``) holding parts of their own. The schema decides which styles may nest:
``FixedFont`` may hold the other styles; the others hold only text, breaks and spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from lxml import etree

from messages.medcom.xmlcodec import set_text

__all__ = [
    "BREAK",
    "SPACE",
    "FormattedText",
    "Inline",
    "Marker",
    "Style",
    "Styled",
    "from_plain",
    "read_text",
    "to_plain",
    "write_text",
]


class Marker(Enum):
    """An empty formatting element."""

    BREAK = "Break"
    SPACE = "Space"


BREAK = Marker.BREAK
SPACE = Marker.SPACE


class Style(StrEnum):
    BOLD = "Bold"
    ITALIC = "Italic"
    UNDERLINE = "Underline"
    RIGHT = "Right"
    CENTER = "Center"
    FIXED_FONT = "FixedFont"


@dataclass(frozen=True, slots=True)
class Styled:
    style: Style
    parts: tuple[Inline, ...]


Inline = str | Marker | Styled
FormattedText = tuple[Inline, ...]


def from_plain(text: str) -> FormattedText:
    """Plain text with newlines → formatted text with ``Break`` elements."""
    parts: list[Inline] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if line:
            parts.append(line)
        if i < len(lines) - 1:
            parts.append(BREAK)
    return tuple(parts)


def to_plain(text: FormattedText) -> str:
    """Formatted text → plain text (``Break`` becomes a newline, ``Space`` a space)."""
    out: list[str] = []
    for part in text:
        if isinstance(part, str):
            out.append(part)
        elif part is BREAK:
            out.append("\n")
        elif part is SPACE:
            out.append(" ")
        elif isinstance(part, Styled):
            out.append(to_plain(part.parts))
    return "".join(out)


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def read_text(element: etree._Element) -> FormattedText:
    """Read the mixed content of ``element`` into formatted text."""
    parts: list[Inline] = []
    if element.text:
        parts.append(element.text)
    for child in element:
        if not isinstance(child.tag, str):  # comments and processing instructions
            if child.tail:
                parts.append(child.tail)
            continue
        name = _local(child.tag)
        if name == "Break":
            parts.append(BREAK)
        elif name == "Space":
            parts.append(SPACE)
        else:
            parts.append(Styled(Style(name), read_text(child)))
        if child.tail:
            parts.append(child.tail)
    return tuple(parts)


def write_text(element: etree._Element, text: FormattedText, ns: str) -> None:
    """Write formatted text as the mixed content of ``element`` (namespace ``ns``)."""
    last: etree._Element | None = None
    for part in text:
        if isinstance(part, str):
            if last is None:
                set_text(element, (element.text or "") + part, "the letter's text")
            else:
                set_text(last, (last.tail or "") + part, "the letter's text", tail=True)
            continue
        if isinstance(part, Marker):
            last = etree.SubElement(element, f"{{{ns}}}{part.value}")
        else:
            last = etree.SubElement(element, f"{{{ns}}}{part.style.value}")
            write_text(last, part.parts, ns)
