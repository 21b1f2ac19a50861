"""EDIFACT syntax (ISO 9735 version 3, as MedCom uses it): bytes ⇄ segments.

* The **service string advice** ``UNA`` (optional, first, at most once) names the six
  service characters; without it the defaults ``:+.? '`` apply (component separator ``:``,
  data element separator ``+``, decimal mark ``.``, release character ``?``, reserved ``␠``,
  segment terminator ``'``).
* The **release character** ``?`` makes the next service character data (``?+``, ``?:``,
  ``?'``, ``??``). A release before any other character, or at the very end, is broken.
* Text is **ISO-8859-1** (syntax UNOC): bytes 0x00-0x1F (but tab, CR and LF), 0x7F and
  0x80-0x9F are refused — the last are what a windows-1252 file puts there (€, “, ”).
* CR and LF are not data: writers put one after each terminator, some wrap long lines;
  they are dropped wherever they stand (outside a release).

:func:`tokenize` gives the segments; :func:`serialize` writes them back (default service
characters, one segment per line, trailing empty components and elements left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, NamedTuple

from messages.errors import (
    EdifactCharsetError,
    EdifactReleaseError,
    EdifactServiceStringError,
    EdifactStructureError,
    EdifactTruncatedError,
)

__all__ = [
    "DEFAULT_SERVICE",
    "Segment",
    "ServiceString",
    "check_text",
    "serialize",
    "tokenize",
]

Element = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServiceString:
    """The six service characters of a UNA (in its order)."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    reserved: str = " "
    terminator: str = "'"

    def una(self) -> str:
        return (
            f"UNA{self.component}{self.element}{self.decimal}"
            f"{self.release}{self.reserved}{self.terminator}"
        )


DEFAULT_SERVICE: Final = ServiceString()


class Segment(NamedTuple):
    """One segment: its tag and its data elements, each a tuple of components."""

    tag: str
    elements: tuple[Element, ...] = ()

    def get(self, element: int, component: int = 0) -> str:
        """The value at ``element`` (0-based, after the tag) and ``component``; "" if absent."""
        if element < len(self.elements):
            values = self.elements[element]
            if component < len(values):
                return values[component]
        return ""

    def element(self, index: int) -> Element:
        return self.elements[index] if index < len(self.elements) else ()


# Reading: bytes that are not printable ISO-8859-1 (tab, CR, LF allowed).
_BAD_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Writing: characters UNOC cannot carry (CR and LF are not data either).
_BAD_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]|[^\x00-\xff]")
_TAG = re.compile(r"[A-Z][A-Z0-9]{2}\Z")
# Placeholders for released service characters while splitting (C0 controls never survive
# the byte check above, so they cannot collide with data).
_HELD = {0: "\x01", 1: "\x02", 2: "\x03", 3: "\x04"}
_HELD_CHARS = re.compile("[\x01-\x04]")
# Tags seen well-formed before: checked once (a bounded set: MedCom's tags and the service ones).
_GOOD_TAGS: frozenset[str] = frozenset(
    [
        "UNB",
        "UNH",
        "UNT",
        "UNZ",
        "BGM",
        "DTM",
        "NAD",
        "ADR",
        "CON",
        "SEQ",
        "SPR",
        "GIS",
        "RFF",
        "PNA",
        "EMP",
        "PAS",
        "FTX",
        "UCI",
        "UCM",
        "S01",
        "S02",
        "S07",
        "S11",
        "S14",
    ]
)
_RESTORE_CACHE: dict[ServiceString, dict[int, str]] = {}


def _restore_table(service: ServiceString) -> dict[int, str]:
    table = _RESTORE_CACHE.get(service)
    if table is None:
        chars = (service.component, service.element, service.release, service.terminator)
        table = {ord(_HELD[i]): c for i, c in enumerate(chars)}
        _RESTORE_CACHE[service] = table
    return table


def _read_una(text: str) -> tuple[ServiceString, int]:
    """The service characters and where the segments start."""
    start = len(text) - len(text.lstrip("\r\n\t "))
    if not text.startswith("UNA", start):
        return DEFAULT_SERVICE, start
    chars = text[start + 3 : start + 9]
    if len(chars) < 6:
        raise EdifactTruncatedError("the interchange ends inside its UNA", segment=0, tag="UNA")
    component, element, decimal, release, reserved, terminator = tuple(chars)
    separators = (component, element, release, terminator)
    if len(set(separators)) < 4 or any(c.isalnum() or c in "\r\n" for c in separators):
        raise EdifactServiceStringError(
            f"UNA names unusable service characters {chars!r}", segment=0, tag="UNA"
        )
    service = ServiceString(component, element, decimal, release, reserved, terminator)
    return service, start + 9


def tokenize(data: bytes) -> tuple[ServiceString, list[Segment]]:
    """The service characters and the segments of an interchange (UNA not among them).

    Raises :class:`EdifactCharsetError`, :class:`EdifactServiceStringError`,
    :class:`EdifactReleaseError`, :class:`EdifactTruncatedError` or
    :class:`EdifactStructureError` (a segment tag that is not three letters/digits).
    """
    bad = _BAD_BYTES.search(data)
    if bad is not None:
        byte = data[bad.start()]
        hint = " (a windows-1252 file?)" if 0x80 <= byte <= 0x9F else ""
        raise EdifactCharsetError(
            f"byte 0x{byte:02X} at offset {bad.start()} is not an ISO-8859-1 character "
            f"that syntax UNOC allows{hint}"
        )
    text = data.decode("latin-1")
    service, start = _read_una(text)
    body = text[start:]
    release = service.release
    restore: dict[int, str] | None = None
    if release in body:
        # released characters are held as C0 placeholders while splitting (``??`` first:
        # str.replace scans left to right, as a reader does)
        body = body.replace(release + release, _HELD[2])
        body = body.replace(release + service.component, _HELD[0])
        body = body.replace(release + service.element, _HELD[1])
        body = body.replace(release + service.terminator, _HELD[3])
        if release in body:
            _broken_release(body, service)
        restore = _restore_table(service)
    if "\n" in body or "\r" in body:
        body = body.replace("\r", "").replace("\n", "")
    pieces = body.split(service.terminator)
    tail = pieces.pop()
    segments: list[Segment] = []
    sep_e, sep_c = service.element, service.component
    seen = _GOOD_TAGS
    for number, piece in enumerate(pieces, start=1):
        parts = piece.split(sep_e)
        tag = parts[0]
        if tag not in seen:
            tag = _checked_tag(tag, number, restore)
        if restore is None or not _HELD_CHARS.search(piece):
            segments.append(Segment(tag, tuple([tuple(p.split(sep_c)) for p in parts[1:]])))
        else:
            segments.append(
                Segment(
                    tag,
                    tuple(
                        [tuple([c.translate(restore) for c in p.split(sep_c)]) for p in parts[1:]]
                    ),
                )
            )
    if tail.strip(" \t"):
        tag = tail.lstrip(" \t")[:3]
        raise EdifactTruncatedError(
            "the interchange ends inside a segment (no segment terminator)",
            segment=len(pieces) + 1,
            tag=tag if _TAG.match(tag) else None,
        )
    return service, segments


def _broken_release(body: str, service: ServiceString) -> None:
    """Raise for the first release character left over (one that releases nothing) — or
    for a second UNA, whose own service string is where such a release usually is."""
    at = body.index(service.release)
    begins = body.rfind(service.terminator, 0, at) + 1
    number = body.count(service.terminator, 0, at) + 1
    head = body[begins:at].lstrip(" \t\r\n")
    if head[:3] == "UNA":
        raise EdifactServiceStringError(
            "a second UNA: the service characters are named once, at the start",
            segment=number,
            tag="UNA",
        )
    tag = head[:3] if _TAG.match(head[:3]) else None
    if not body[at + 1 :].strip():
        raise EdifactReleaseError("the data ends with a release character", segment=number)
    raise EdifactReleaseError(
        f"the release character {service.release!r} releases a character that is not a "
        "service character (write it alone, or release only : + ? ')",
        segment=number,
        tag=tag,
    )


def _checked_tag(raw: str, number: int, restore: dict[int, str] | None) -> str:
    tag = raw.lstrip(" \t")
    if tag[:3] == "UNA":
        raise EdifactServiceStringError(
            "a second UNA: the service characters are named once, at the start",
            segment=number,
            tag="UNA",
        )
    if not _TAG.match(tag):
        raise EdifactStructureError(
            f"{_shown(tag, restore)!r} is not a segment tag", segment=number
        )
    return tag


def _shown(value: str, restore: dict[int, str] | None) -> str:
    value = value.translate(restore) if restore else value
    return value[:10]


def check_text(value: str, what: str) -> None:
    """Refuse a value syntax UNOC cannot carry (outside ISO-8859-1, controls, CR/LF)."""
    bad = _BAD_CHARS.search(value)
    if bad is not None:
        char = bad.group()
        raise EdifactCharsetError(
            f"{what} holds {char!r} (U+{ord(char):04X}), which EDIFACT syntax UNOC "
            "(ISO-8859-1) cannot carry"
        )


_ESCAPE = str.maketrans({"?": "??", ":": "?:", "+": "?+", "'": "?'"})


def _escape(value: str) -> str:
    return value.translate(_ESCAPE) if value else value


def serialize(segments: list[Segment], *, una: bool = True) -> bytes:
    """The segments as an interchange in ISO-8859-1 with the default service characters.

    Trailing empty components and elements are left out, as ISO 9735 asks. Values must
    have passed :func:`check_text` (the builders check every value they take in).
    """
    lines: list[str] = []
    for segment in segments:
        elements: list[str] = []
        for element in segment.elements:
            comps = list(element)
            while comps and not comps[-1]:
                comps.pop()
            elements.append(":".join(_escape(c) for c in comps))
        while elements and not elements[-1]:
            elements.pop()
        lines.append("+".join([segment.tag, *elements]))
    head = DEFAULT_SERVICE.una() + "\n" if una else ""
    return (head + "".join(line + "'\n" for line in lines)).encode("latin-1")
