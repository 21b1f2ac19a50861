"""What a request says outside its body: numbers in the query string, text in a header.

One parser each, so that every route refuses the same things with the same answer:

* :func:`whole_number` — ``?limit=``, ``?minutes=``: ASCII digits only, within a documented
  range. ``str.isdigit()`` takes ``²`` and ``int()`` takes ``１２`` (fullwidth) or ``1_0``;
  neither is a number a client meant, so both are a 400 naming the parameter.
* :func:`seconds` — ``?wait=``, ``?lease=``: an ASCII decimal number (``0.5``, ``1e-3``),
  finite, within its range. ``nan``, ``inf``, ``１`` and ``1_0`` are refused
  (:func:`decimal` is also how :mod:`coordinator.security.limits` tells a long-poll).
* :func:`path_id` — ``/v1/messages/{id}``, ``/v1/children/{cpr}/consents/{id}``: a UUID,
  else a 404 in the route's own words (an id that cannot exist is one that does not).
* :func:`header_text` — a header that holds a person's name (``X-On-Behalf-Of``). HTTP
  headers are bytes; aiohttp hands them over decoded as UTF-8 with the bytes UTF-8 refuses
  kept as lone surrogates, which no database stores. Many clients (Python's urllib, Java's
  ``HttpURLConnection``) send ISO-8859-1, so a Danish name arrives as ``Bo L\\xe6ge``. The
  bytes are recovered and read as UTF-8, else as ISO-8859-1; control characters, bidi
  overrides, line separators and over-long values are a 400, so a name never causes a 5xx.

Every refusal but :func:`path_id`'s is :class:`~coordinator.errors.BadRequest`
(``bad-request`` unless a route names its own code) with a sentence naming the parameter or
header; the value itself is never echoed (it may hold a CPR number).
"""

from __future__ import annotations

import contextlib
import math
import unicodedata
import uuid

from aiohttp import web

from coordinator.errors import BadRequest, NotFound

_DIGITS = frozenset("0123456789")
_DECIMAL = frozenset("0123456789.eE+-")
_MAX_DIGITS = 18  # far above every documented range; int() of more is never needed
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e") | frozenset(
    "\u2066\u2067\u2068\u2069"
)


def whole_number(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    """The query parameter ``name`` as a whole number from ``low`` to ``high`` (ASCII digits)."""
    raw = request.query.get(name)
    if raw is None:
        return default
    digits = raw.lstrip("0") or ("0" if raw else "")
    if (
        not digits
        or not _DIGITS.issuperset(digits)
        or len(digits) > _MAX_DIGITS
        or not low <= int(digits) <= high
    ):
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(digits)


def decimal(raw: str) -> float | None:
    """``raw`` as a finite number written in ASCII (``0.5``, ``1e-3``), else ``None``."""
    value = math.nan
    if raw and len(raw) <= 64 and _DECIMAL.issuperset(raw):
        with contextlib.suppress(ValueError):
            value = float(raw)
    return value if math.isfinite(value) else None


def seconds(request: web.Request, name: str, *, default: float, low: float, high: float) -> float:
    """The query parameter ``name`` as a decimal number from ``low`` to ``high``."""
    raw = request.query.get(name)
    if raw is None:
        return default
    value = decimal(raw)
    if value is None:
        raise BadRequest(f"{name} must be a number")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}")
    return value


def path_id(request: web.Request, *, not_found: str, name: str = "id") -> uuid.UUID:
    """The path's ``{name}`` as a UUID; anything else is :class:`NotFound` saying
    ``not_found``."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFound(not_found) from None


def decode_header(value: str) -> str:
    """A header value as the client meant it: its bytes as UTF-8, else as ISO-8859-1."""
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def is_plain_text(text: str) -> bool:
    """No control character, surrogate, private or unassigned code point, line separator or
    bidirectional override: text that shows as it reads, on one line."""
    return not any(
        unicodedata.category(c) in _REFUSED_CATEGORIES or c in _BIDI_CONTROLS for c in text
    )


def header_text(
    request: web.Request, name: str, *, max_length: int, code: str = "bad-request"
) -> str | None:
    """The header ``name`` as 1 to ``max_length`` characters of plain text, or ``None`` when
    absent; surrounding spaces are dropped."""
    value = request.headers.get(name)
    if value is None:
        return None
    text = decode_header(value).strip(" \t")
    if not 1 <= len(text) <= max_length or not is_plain_text(text):
        raise BadRequest(
            f"{name} must be 1-{max_length} characters of text (UTF-8 or ISO-8859-1), "
            "without control characters",
            code=code,
        )
    return text
