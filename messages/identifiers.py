"""Danish identifiers: CPR numbers, GLN/EAN location numbers, SOR codes, MedCom ids.

Strict where Samspil takes an identifier in (:func:`parse_cpr`, :func:`parse_gln`),
tolerant where it only carries one (:func:`cpr_warning`, :func:`gln_warning` return a
sentence instead of raising): MedCom's own test data carries CPRs with impossible dates and
GLNs with wrong check digits, and transport must not refuse what the official schema accepts.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date

from messages.errors import IdentifierError

__all__ = [
    "Cpr",
    "cpr_warning",
    "derived_message_id",
    "gln_check_digit",
    "gln_warning",
    "new_episode_id",
    "new_message_id",
    "parse_cpr",
    "parse_gln",
    "parse_sor",
]

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _century(seventh: int, yy: int) -> int:
    """The century of a CPR birth year, from the 7th digit (CPR office rules)."""
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    # 5, 6, 7, 8
    return 2000 if yy <= 57 else 1800


@dataclass(frozen=True, slots=True)
class Cpr:
    """A CPR number whose date part is a real date. ``str(cpr)`` is the 10 digits.

    The modulus-11 check is deliberately not applied: numbers without it have been issued
    since 2007.
    """

    digits: str
    birth_date: date

    def __str__(self) -> str:
        return self.digits

    def __repr__(self) -> str:  # never print a whole CPR by accident
        return f"Cpr({self.masked})"

    @property
    def masked(self) -> str:
        """The birth date part only, ``DDMMYY-xxxx``: safe for a screen, never for a log."""
        return f"{self.digits[:6]}-xxxx"

    def age_on(self, day: date) -> int:
        """Whole years of age on ``day``."""
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


def parse_cpr(value: str) -> Cpr:
    """Parse a CPR number (``DDMMYYSSSS`` or ``DDMMYY-SSSS``) or raise IdentifierError."""
    text = value.strip().replace("-", "") if isinstance(value, str) else ""
    if len(text) != 10 or not text.isascii() or not text.isdigit():
        raise IdentifierError("a CPR number is 10 digits, DDMMYY followed by 4 digits", kind="cpr")
    day, month, yy, seventh = int(text[0:2]), int(text[2:4]), int(text[4:6]), int(text[6])
    try:
        born = date(_century(seventh, yy) + yy, month, day)
    except ValueError:
        raise IdentifierError(
            f"the CPR number's date part {text[0:2]}.{text[2:4]}.{text[4:6]} is not a real date",
            kind="cpr",
        ) from None
    return Cpr(text, born)


# Every day-month a CPR number can start with (29 February checked against the year).
_DAY_MONTHS = frozenset(
    f"{d:02d}{m:02d}"
    for m, days in enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), start=1)
    for d in range(1, days + 1)
)


def cpr_warning(value: str) -> str | None:
    """A sentence about what is odd with a carried CPR number, or None when it is fine."""
    if (
        len(value) == 10
        and value.isdigit()
        and value.isascii()
        and value[:4] in _DAY_MONTHS
        and value[:4] != "2902"
    ):
        return None  # the hub's hot path: a plain, real date needs no further work
    try:
        parse_cpr(value)
    except IdentifierError as exc:
        return exc.message
    return None


def gln_check_digit(first12: str) -> int:
    """The GS1 mod-10 check digit for the first 12 digits of a GLN."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def _gln_problem(value: str) -> str | None:
    if len(value) != 13 or not value.isascii() or not value.isdigit():
        return "a GLN/EAN location number is 13 digits"
    if gln_check_digit(value[:12]) != int(value[12]):
        return f"the GLN {value} has a wrong GS1 check digit"
    return None


def parse_gln(value: str) -> str:
    """A GLN/EAN location number with a correct check digit, or IdentifierError."""
    text = value.strip() if isinstance(value, str) else ""
    problem = _gln_problem(text)
    if problem:
        raise IdentifierError(problem, kind="gln")
    return text


@functools.lru_cache(maxsize=4096)
def gln_warning(value: str) -> str | None:
    """A sentence about what is odd with a carried GLN, or None when it is fine."""
    return _gln_problem(value)


def parse_sor(value: str) -> str:
    """A SOR code (the national health organisation register's id: 15 or 16 digits)."""
    text = value.strip() if isinstance(value, str) else ""
    if not (15 <= len(text) <= 16) or not text.isascii() or not text.isdigit():
        raise IdentifierError("a SOR code is 15 or 16 digits", kind="sor")
    return text


def derived_message_id(source: str, role: str) -> str:
    """An envelope or letter identifier (14 base-36 characters) derived from another
    identifier: the same ``source`` and ``role`` always give the same one. A FHIR message
    carried as OIOXML gets its envelope and letter identifiers this way (from Bundle.id and
    MessageHeader.id), so the same bundle sent again is recognised as the same letter."""
    digest = hashlib.sha256(f"{role}\x00{source}".encode()).digest()
    number = int.from_bytes(digest[:10], "big") % 36**14
    out = ""
    for _ in range(14):
        number, rem = divmod(number, 36)
        out = _BASE36[rem] + out
    return out


def new_message_id() -> str:
    """A new envelope or letter identifier: 14 characters, time-ordered, unique.

    8 base-36 digits of the millisecond clock (enough until 2059) and 6 random base-36
    digits (31 bits) so that ids made in the same millisecond do not collide.
    """
    ms = time.time_ns() // 1_000_000
    head = ""
    for _ in range(8):
        ms, rem = divmod(ms, 36)
        head = _BASE36[rem] + head
    rand = secrets.randbelow(36**6)  # one draw for the six digits: as random, one syscall
    tail = ""
    for _ in range(6):
        rand, rem = divmod(rand, 36)
        tail = _BASE36[rem] + tail
    return head + tail


def new_episode_id() -> str:
    """A new episode-of-care identifier: a UUID without hyphens, as MedCom's OIOXML has it."""
    return uuid.uuid4().hex
