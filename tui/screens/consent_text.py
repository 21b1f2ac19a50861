"""How the caseworker app puts a consent into words: who gave it, how the hub knows it
(verified or attested), until when, and what it opens per sector for this child.

Pure functions over the hub's answers (no Textual, no network). What a consent opens is
never worked out here: the hub judges it with its own rule and policy and says so per sector
(``opens`` on a listed consent, ``sectors``, ``opened_by`` and ``would_open`` in the
overview's consent state); a sector's verdict is ``shared`` or the reason it stays closed
(``own-consent-needed``, ``parent-consent-needed``, ``verified-consent-needed``,
``consent-disputed``, ``no-consent``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rich.text import Text

from tui.i18n import Texts

__all__ = [
    "SECTORS",
    "SHARED",
    "closed",
    "consent_card",
    "known_as",
    "named_text",
    "opened_by_line",
    "opens_text",
    "policy_line",
    "shown_verdicts",
    "withheld_lines",
]

SECTORS = ("ppr", "family", "psychiatry", "gp")
SHARED = "shared"
NO_CONSENT = "no-consent"
VERIFIED_NEEDED = "verified-consent-needed"

# how a verdict is marked: a symbol as well as a colour, so it reads in monochrome
_MARK = {
    SHARED: ("✔", "green"),
    NO_CONSENT: ("○", "dim"),
    "consent-disputed": ("⚑", "bold red"),
}
_CLOSED_MARK = ("✖", "yellow")

Local = Callable[[Any, str], str]
"""The app's ``local(moment, fmt)``: a hub timestamp in Copenhagen time."""


def _order(sector: str) -> int:
    return SECTORS.index(sector) if sector in SECTORS else len(SECTORS)


def shown_verdicts(verdicts: Mapping[str, str], *, leave_out: str = "") -> dict[str, str]:
    """``verdicts`` in the sectors' order, without ``leave_out`` (the caller's own sector)."""
    return {s: verdicts[s] for s in sorted(verdicts, key=_order) if s != leave_out}


def closed(verdicts: Mapping[str, str]) -> dict[str, str]:
    """The sectors a verdict leaves closed, with why."""
    return {s: v for s, v in shown_verdicts(verdicts).items() if v != SHARED}


def _grouped(verdicts: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """Sectors grouped by verdict: shared first, then each reason in the order it first
    appears; sectors in their usual order within a group."""
    groups: dict[str, list[str]] = {}
    ordered = shown_verdicts(verdicts)
    if SHARED in ordered.values():
        groups[SHARED] = []
    for sector, verdict in ordered.items():
        groups.setdefault(verdict, []).append(sector)
    return list(groups.items())


def opens_text(t: Texts, verdicts: Mapping[str, str], *, short: bool = True) -> Text:
    """``✔ PPR, familie · ✖ psyk., læge: den unges eget samtykke kræves`` — per group of
    sectors with the same verdict, its mark, the sectors and (when closed) why."""
    out = Text()
    key = "sector_short" if short else "sector"
    for n, (verdict, sectors) in enumerate(_grouped(verdicts)):
        if n:
            out.append(" · ", style="dim")
        symbol, style = _MARK.get(verdict, _CLOSED_MARK)
        names = ", ".join(t(f"{key}.{s}") for s in sectors)
        out.append(f"{symbol} {names}", style=style)
        if verdict != SHARED:
            out.append(f": {t(f'verdict.{verdict}')}", style=style)
    return out


def named_text(t: Texts, verdicts: Mapping[str, str]) -> Text:
    """``✔ Lægehuset Vestbyen · ✖ BUP Aalborg: kræver verificeret samtykke`` — per named
    organisation (by name), what a consent opens of its data."""
    out = Text()
    for n, (name, verdict) in enumerate(verdicts.items()):
        if n:
            out.append(" · ", style="dim")
        symbol, style = _MARK.get(verdict, _CLOSED_MARK)
        reason = "" if verdict == SHARED else f": {t(f'verdict.{verdict}')}"
        out.append(f"{symbol} {name}{reason}", style=style)
    return out


def known_as(t: Texts, consent: Mapping[str, Any], org_label: Callable[[str], str]) -> str:
    """How the hub knows the consent: ``✔ verificeret (underskrevet via samtykketjenesten)``
    or ``✎ attesteret (registreret af PPR Aalborg, Pia Psykolog)``."""
    if consent.get("verification") == "verified":
        return t("consents.verified")
    org = consent.get("recorded_by_org")
    person = consent.get("recorded_by")
    if not org:
        return t("consents.attested_unnamed")
    return t("consents.attested", org=org_label(org), person=person or "—")


def _until(t: Texts, local: Local, consent: Mapping[str, Any]) -> str:
    until = consent.get("valid_until")
    return t("consents.until_date", date=local(until, "%d.%m.%Y")) if until else t("consents.open")


def _state(t: Texts, local: Local, consent: Mapping[str, Any]) -> tuple[str, str]:
    if consent.get("revoked_at"):
        return t("consents.revoked", date=local(consent["revoked_at"], "%d.%m.%y")), "red"
    if consent.get("active"):
        return t("consents.active"), "green"
    return t("consents.expired"), "dim"


def _disputes(t: Texts, local: Local, consent: Mapping[str, Any]) -> Iterable[str]:
    for d in consent.get("disputes") or []:
        yield t(
            "consents.disputed",
            org=d.get("organisation_name", ""),
            person=d.get("person", ""),
            date=local(d.get("at"), "%d.%m"),
            reason=d.get("reason", ""),
        )


def consent_card(
    t: Texts, consent: Mapping[str, Any], *, local: Local, org_label: Callable[[str], str]
) -> Text:
    """One consent in the list, every part visible at 80 columns:

    ``✔ aktivt  Mette Jensen · forælder · skriftligt · til 31.05.2027``
    ``  ✎ attesteret (registreret af PPR Aalborg, Pia Psykolog)``
    ``  Åbner: ✔ PPR · ✖ psyk., læge: kræver verificeret samtykke``
    then the organisations it names and any owner's dispute.
    """
    state, style = _state(t, local, consent)
    out = Text()
    out.append(state, style=f"bold {style}")
    given_by = consent.get("given_by_name") or t("consents.name_withheld")
    details = [
        given_by,
        t(f"relation.{consent['relation']}"),
        t(f"form.{consent['form']}"),
        _until(t, local, consent),
    ]
    out.append("  " + " · ".join(details))
    out.append("\n  " + known_as(t, consent, org_label))
    opens = consent.get("opens") or {}
    if consent.get("active") and opens:
        out.append("\n  " + t("consents.opens") + " ")
        out.append_text(opens_text(t, opens))
    elif not consent.get("active"):
        out.append("\n  " + t("consents.opens_nothing"), style="dim")
    named = consent.get("organisations") or []
    if named:
        out.append("\n  " + t("consents.names", orgs=", ".join(org_label(g) for g in named)))
    for line in _disputes(t, local, consent):
        out.append("\n  " + line, style="bold red")
    return out


def policy_line(t: Texts, would_open: Mapping[str, Mapping[str, str]]) -> str:
    """What the hub's policy keeps closed to an attested consent the caller records, from the
    hub's own preview (``would_open``): empty when it keeps nothing closed."""
    kept = {
        s for verdicts in would_open.values() for s, v in verdicts.items() if v == VERIFIED_NEEDED
    }
    if not kept:
        return ""
    names = ", ".join(t(f"sector.{s}") for s in sorted(kept, key=_order))
    return t("consents.policy", sectors=names)


def opened_by_line(t: Texts, consent: Mapping[str, Any], local: Local, own: str) -> str:
    """The overview's "who consented": ``Samtykke: forælder · ✎ attesteret · til 31.05.2027 ·
    åbner psyk., læge`` — the sectors it opens to the caller besides the caller's own
    (``own``); empty when it opens none of them."""
    sectors = [s for s in sorted(consent.get("sectors", []), key=_order) if s != own]
    if not sectors:
        return ""
    if consent.get("verification") == "verified":
        known = t("child.known.verified")
    elif consent.get("recorded_by_you"):
        known = t("child.known.attested_here")
    else:
        known = t("child.known.attested")
    return t(
        "child.consent_from",
        relation=t(f"relation.{consent['relation']}"),
        known=known,
        until=_until(t, local, consent),
        sectors=", ".join(t(f"sector_short.{s}") for s in sectors),
    )


def withheld_lines(t: Texts, verdicts: Mapping[str, str], own: str) -> list[tuple[str, str]]:
    """The overview's lines for the sectors withheld from the caller (of sector ``own``):
    ``(text, style)``, one per reason; those without any consent first."""
    lines: list[tuple[str, str]] = []
    for verdict, sectors in _grouped(shown_verdicts(verdicts, leave_out=own)):
        if verdict == SHARED:
            continue
        names = ", ".join(t(f"sector.{s}") for s in sectors)
        if verdict == NO_CONSENT:
            missing = t("child.consent_missing", own=t(f"sector.{own}"), others=names)
            lines.insert(0, (missing, "yellow"))
        else:
            symbol, style = _MARK.get(verdict, _CLOSED_MARK)
            reason = t(f"verdict.{verdict}")
            lines.append((t("child.withheld", mark=symbol, sectors=names, reason=reason), style))
    return lines
