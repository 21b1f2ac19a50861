"""How the screens write things down: a CPR number, a column's width, an organisation's name
in a narrow column, a message's id in a few characters, the consent age rule, and what is
wrong with a CPR number being typed.
Pure functions: no Textual, no network."""

from __future__ import annotations

from messages.errors import IdentifierError
from messages.identifiers import parse_cpr
from tui.i18n import Texts

__all__ = [
    "age_rule_key",
    "cpr_problem",
    "fit",
    "fit_words",
    "share",
    "short_id",
    "short_name",
    "show_cpr",
]


def cpr_problem(value: str, texts: Texts | None = None) -> str | None:
    """Why ``value`` is not (yet) a CPR number, in ``texts``' language (Danish when not
    given), or None when it is one."""
    t = texts or Texts()
    try:
        parse_cpr(value)
    except IdentifierError:
        digits = value.strip().replace("-", "")
        if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
            return t("cpr.form")
        return t("cpr.date", date=f"{digits[0:2]}.{digits[2:4]}.{digits[4:6]}")
    return None


def show_cpr(cpr: str) -> str:
    digits = cpr.replace("-", "")
    return f"{digits[:6]}-{digits[6:]}" if len(digits) == 10 else cpr


def fit(value: str, width: int) -> str:
    value = value or ""
    return value[: width - 1] + "…" if len(value) > width else value.ljust(width)


def fit_words(value: str, width: int) -> str:
    """``value`` padded to ``width``, or cut after its last whole word that leaves room for
    "…" ("Børne- og Ungdomspsyk." → "Børne- og…" in 12), unless that drops more than a
    third of the width: then cut where the width ends, like :func:`fit`."""
    value = value or ""
    if len(value) <= width:
        return value.ljust(width)
    room = value[: width - 1]
    cut = max(room.rfind(" "), room.rfind("-") + 1 if "-" in room else -1)
    if cut >= max(3, width * 2 // 3):
        room = room[:cut]
    return (room.rstrip() + "…").ljust(width)


def share(room: int, columns: list[tuple[int, int]]) -> list[int]:
    """Widths for columns that grow with ``room``: each ``(least, wanted)`` gets its least,
    then what is left goes to each in turn up to what it wants, and the rest to the last."""
    widths = [least for least, _ in columns]
    left = max(0, room - sum(widths))
    for n, (least, wanted) in enumerate(columns):
        more = min(left, max(0, wanted - least))
        widths[n] += more
        left -= more
    if widths:
        widths[-1] += left
    return widths


def short_name(name: str, width: int) -> str:
    """``name`` in at most ``width`` characters, keeping its last word whole: organisations of
    one kind differ by their last word, the municipality ("Børne- og familieafdelingen
    Brønderslev" → "Børne- og f… Brønderslev" in 24), so the start is cut, not the end.

    A last word too long to leave room for a start of at least three characters is cut at
    the end like any other text."""
    if len(name) <= width:
        return name
    start, _, last = name.rpartition(" ")
    room = width - len(last) - 1  # for the start and its "…"
    if not start or room < 4:
        return name[: width - 1] + "…"
    return start[: room - 1].rstrip(" -") + "… " + last


def short_id(value: object, width: int = 8) -> str:
    """A message's id in ``width`` characters: its last ones. The hub's ids begin with the
    time they were made (UUID version 7), so the first characters are the same for every
    letter of the same minute or month; the last are random."""
    return str(value).replace("-", "")[-width:]


def age_rule_key(age: int) -> str:
    """The words (their key) for who may consent at ``age``."""
    if age < 15:
        return "consents.rule.under15"
    if age < 18:
        return "consents.rule.from15"
    return "consents.rule.adult"
