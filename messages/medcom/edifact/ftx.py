"""MedCom's FTX text rules: formatted text ⇄ FTX segments.

Reading (as MedCom's converter does): each component of an FTX's element C108 is a line,
ended by a line break, unless it ends in ``\\`` (the line continues in the next component,
the ``\\`` dropped) or is ``.`` (an empty line: a break alone). The style code (element
C107, e.g. ``P00``) is three letters: font ``P`` proportional / ``F`` fixed, then
``F``/``U``/``K`` bold/underline/italic, or ``0H``/``0M`` right/centre. Consecutive FTX
segments with the same style are one run (MedCom's stylesheet makes one element per
segment; the text is the same).

Writing: components of at most 70 characters (a long line is wrapped after a space where
one falls in the first 69 characters, the piece ending in ``\\``), at most 5 components
per FTX, one FTX run per style. Where the plain rule would misread a line it is written so
that it reads back exactly: a line that is ``.`` or ends in ``\\`` is written with a
continuation and a ``.``; the last line of a text that does not end in a break ends in
``\\``. ``Space`` is written as a space, and CR/LF inside a string as a line break.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from messages.medcom.edifact.syntax import Segment, check_text
from messages.medcom.text import BREAK, SPACE, FormattedText, Inline, Marker, Style, Styled

__all__ = [
    "MAX_COMPONENT",
    "MAX_COMPONENTS",
    "ftx_segments",
    "read_ftx",
    "style_code",
]

MAX_COMPONENT = 70
MAX_COMPONENTS = 5
_EMPHASIS = {"F": Style.BOLD, "U": Style.UNDERLINE, "K": Style.ITALIC}
_ALIGN = {"H": Style.RIGHT, "M": Style.CENTER}
# MedCom's stylesheet knows these twelve codes; any other is read as fixed font.
_CODES: dict[str, tuple[bool, Style | None]] = {
    "P00": (False, None),
    "P0H": (False, Style.RIGHT),
    "P0M": (False, Style.CENTER),
    "PF0": (False, Style.BOLD),
    "PU0": (False, Style.UNDERLINE),
    "PK0": (False, Style.ITALIC),
    "F00": (True, None),
    "F0H": (True, Style.RIGHT),
    "F0M": (True, Style.CENTER),
    "FF0": (True, Style.BOLD),
    "FU0": (True, Style.UNDERLINE),
    "FK0": (True, Style.ITALIC),
}
_STYLE_CODES = {value: code for code, value in _CODES.items()}
_NEWLINES = re.compile(r"\r\n|\r|\n")


def style_code(fixed: bool, style: Style | None) -> str:
    return _STYLE_CODES[(fixed, style)]


# ---------------------------------------------------------------- reading


def _lines(components: Iterable[str], out: list[Inline]) -> None:
    for value in components:
        if value == "." or not value:
            out.append(BREAK)
        elif value[-1] == "\\":
            if len(value) > 1:
                out.append(value[:-1])
        else:
            out.append(value)
            out.append(BREAK)


def _merged(parts: Iterable[Inline]) -> tuple[Inline, ...]:
    """Adjacent strings joined (as XML text nodes are)."""
    out: list[Inline] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + part
        else:
            out.append(part)
    return tuple(out)


def read_ftx(segments: Sequence[Segment]) -> FormattedText:
    """The formatted text of FTX segments (their C107 style and C108 lines)."""
    if len(segments) == 1 and segments[0].get(1, 0) in ("P00", ""):
        out: list[Inline] = []
        _lines(segments[0].element(3), out)
        return _merged(out)
    runs: list[tuple[bool, Style | None, list[Inline]]] = []
    for segment in segments:
        fixed, style = _CODES.get(segment.get(1, 0) or "P00", (True, None))
        if runs and runs[-1][0] == fixed and runs[-1][1] == style:
            _lines(segment.element(3), runs[-1][2])
        else:
            parts: list[Inline] = []
            _lines(segment.element(3), parts)
            runs.append((fixed, style, parts))
    top: list[Inline] = []
    fixed_parts: list[Inline] | None = None
    for fixed, style, parts in runs:
        if not parts:
            continue
        inner: list[Inline] = list(parts) if style is None else [Styled(style, _merged(parts))]
        if fixed:
            if fixed_parts is None:
                fixed_parts = []
                top.append(Styled(Style.FIXED_FONT, ()))  # filled in below
            fixed_parts.extend(inner)
            top[-1] = Styled(Style.FIXED_FONT, _merged(fixed_parts))
        else:
            fixed_parts = None
            top.extend(inner)
    return _merged(top)


# ---------------------------------------------------------------- writing


def _flatten(
    text: FormattedText, fixed: bool, style: Style | None, out: list[tuple[str, str | Marker]]
) -> None:
    for part in text:
        if isinstance(part, str):
            if not part:
                continue
            pieces = _NEWLINES.split(part)
            code = style_code(fixed, style)
            for i, piece in enumerate(pieces):
                if i:
                    out.append((code, BREAK))
                if piece:
                    out.append((code, piece))
        elif part is BREAK:
            out.append((style_code(fixed, style), BREAK))
        elif part is SPACE:
            out.append((style_code(fixed, style), " "))
        elif isinstance(part, Styled):
            if part.style is Style.FIXED_FONT:
                _flatten(part.parts, True, None, out)
            else:
                _flatten(part.parts, fixed, part.style, out)


def _wrap(rest: str, out: list[str]) -> str:
    """Cut ``rest`` into continued components while it is longer than fits; the remainder."""
    while True:
        special = rest == "." or rest.endswith("\\")
        cap = MAX_COMPONENT - 1 if special else MAX_COMPONENT
        if len(rest) <= cap:
            return rest
        space = rest.rfind(" ", 0, MAX_COMPONENT - 1)
        cut = space + 1 if space > 2 else MAX_COMPONENT - 1
        out.append(rest[:cut] + "\\")
        rest = rest[cut:]


def _run_components(items: list[str | Marker]) -> list[str]:
    out: list[str] = []
    line: list[str] = []
    for item in items:
        if item is BREAK:
            rest = _wrap("".join(line), out)
            line = []
            if not rest:
                out.append(".")
            elif rest == "." or rest.endswith("\\"):
                out.append(rest + "\\")
                out.append(".")
            else:
                out.append(rest)
        else:
            assert isinstance(item, str)
            line.append(item)
    if line:
        rest = "".join(line)
        while len(rest) > MAX_COMPONENT - 1:
            rest = _wrap(rest, out)
            if len(rest) > MAX_COMPONENT - 1:  # 70 characters that fit only with a break
                out.append(rest[: MAX_COMPONENT - 1] + "\\")
                rest = rest[MAX_COMPONENT - 1 :]
        out.append(rest + "\\")
    return out


def ftx_segments(
    qualifier: str, text: FormattedText, what: str = "the letter's text"
) -> list[Segment]:
    """FTX segments (``FTX+<qualifier>+<style>++<lines>``) holding ``text``."""
    flat: list[tuple[str, str | Marker]] = []
    _flatten(text, False, None, flat)
    segments: list[Segment] = []
    index = 0
    while index < len(flat):
        code = flat[index][0]
        items: list[str | Marker] = []
        while index < len(flat) and flat[index][0] == code:
            item = flat[index][1]
            if isinstance(item, str):
                check_text(item, what)
            items.append(item)
            index += 1
        components = _run_components(items)
        for start in range(0, len(components), MAX_COMPONENTS):
            segments.append(
                Segment(
                    "FTX",
                    (
                        (qualifier,),
                        (code,),
                        (),
                        tuple(components[start : start + MAX_COMPONENTS]),
                    ),
                )
            )
    return segments
