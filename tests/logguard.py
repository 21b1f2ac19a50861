"""The suite's log guard: no CPR number, token or letter text in any log record.

Every record logged in the test process — by Samspil, aiohttp, asyncpg, SQLAlchemy or any
other library, at INFO and above, with its traceback — is scanned as it is emitted, whatever
the test was doing (hostile requests and broken frames included). At the end of the run any
find fails the run, naming the logger and what kind of secret it held (never the secret).

What counts as secret:

* a CPR number: ten digits (or six, a dash and four) whose first six are a real date, not
  part of a longer run of letters or digits;
* a Samspil token (``smp_`` and its random part) or a test's shared webhook secret;
* a signed document (a compact JWS: three base64url parts, the first two JSON objects);
* the text of the suite's sample letters and referrals, and the sample child's name.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from messages.hl7.samples import make_referral
from tests.functional.samples import LETTER_TEXT

_CPR = re.compile(r"(?<![0-9A-Za-z])(\d{2})(\d{2})(\d{2})-?\d{4}(?![0-9A-Za-z])")
_TOKEN = re.compile(r"smp_[A-Za-z0-9_-]{16,}")
_JWS = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")
_WEBHOOK_SECRET = "kommunens-delte-hemmelighed"  # noqa: S105 - tests/adapters/test_webhook.py


def _letter_texts() -> tuple[str, ...]:
    referral = make_referral()
    return (LETTER_TEXT, referral.reason, referral.child_name.family, _WEBHOOK_SECRET)


def _is_cpr(match: re.Match[str]) -> bool:
    day, month, year = (int(g) for g in match.groups())
    try:
        date(2000 + year, month, day)
    except ValueError:
        return False
    return True


class LogGuard(logging.Handler):
    """A handler on the root logger that remembers where secrets were logged."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.found: list[str] = []
        self._texts = _letter_texts()
        self._formatter = logging.Formatter("%(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self._formatter.format(record)
        except Exception:  # a record that cannot be formatted: scan its parts
            text = f"{record.msg!s} {record.args!r}"
        kinds = []
        if any(_is_cpr(m) for m in _CPR.finditer(text)):
            kinds.append("a CPR number")
        if _TOKEN.search(text):
            kinds.append("a token")
        if _JWS.search(text):
            kinds.append("a signed document")
        if any(t in text for t in self._texts):
            kinds.append("letter text or a secret")
        if kinds:
            self.found.append(f"{record.name} ({record.levelname}): {', '.join(kinds)}")


GUARD = LogGuard()


def install() -> None:
    """Put the guard on the root logger; INFO records are made wherever they are logged."""
    root = logging.getLogger()
    root.addHandler(GUARD)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def verdict() -> list[str]:
    """What was found, one line per logger and kind (empty: nothing)."""
    return sorted(set(GUARD.found))
