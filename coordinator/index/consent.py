"""The consent rule, as pure functions (no database, no clock of its own).

Other organisations' entries about a child are shown to the caller only under a consent that

* is **active**: valid from before now, not yet past its ``valid_until``, not revoked;
* covers **both** the caller's sector and the owner's sector (``ppr``, ``family``,
  ``psychiatry``, ``gp``);
* was given by someone who may give it **for the data in question**, by the child's age on the
  day (read from the CPR's birth date):

  - under 15: a custodial parent (or a guardian); the child's own word is not enough;
  - from 15: for **health-sector data** (psychiatry, GP: sundhedsloven §§ 14, 41–42) the young
    person's own consent (relation ``self``); municipal data (PPR, family) still under a
    custodial parent's or guardian's consent, or the young person's own;
  - from 18: custody has ended; only the person's own consent counts.

Revocation takes effect at once: whoever asks next is judged against the revoked consent.

Everything that names another organisation to a caller asks one question,
:func:`organisations_open_to` ("which of these organisations may the caller see for this
child now?"), answered with the same judgement the overview makes; the access log names
others only through it.

The consent list has its own rule, :func:`listing`: an organisation sees the consents it
recorded, and the consents that name its sector or the organisation itself; of a consent
another organisation recorded, the people's names (who gave it) only while it covers the
caller (in force and naming its sector or the organisation). Anything else is left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from coordinator.index.tables import ConsentRelation
from coordinator.tables import Sector

HEALTH_SECTORS = frozenset({Sector.PSYCHIATRY, Sector.GP})
OWN_CONSENT_FOR_HEALTH_AGE = 15
OF_AGE = 18
PARENTAL = frozenset({ConsentRelation.CUSTODIAL_PARENT, ConsentRelation.GUARDIAN})


class Listed(StrEnum):
    """How a recorded consent appears in an organisation's consent list (:func:`listing`)."""

    IN_FULL = "in-full"  # recorded by the caller, or covering it: with who gave it
    WITHOUT_NAMES = "without-names"  # names the caller, recorded by another, not in force
    LEFT_OUT = "left-out"  # names neither the caller's sector nor the caller


class Missing(StrEnum):
    """Why a sector's entries are withheld from the caller."""

    NO_CONSENT = "no-consent"  # no active consent covers the caller's sector and this one
    OWN_CONSENT_NEEDED = "own-consent-needed"  # from 15 (health) or 18: the young person's own
    PARENT_CONSENT_NEEDED = "parent-consent-needed"  # under 15: a custodial parent's


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """What the rule needs to know of one recorded consent."""

    relation: ConsentRelation
    sectors: frozenset[Sector]
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None


def is_active(consent: ConsentFacts, now: datetime) -> bool:
    """In force now: started, not expired, not revoked."""
    if consent.revoked_at is not None and consent.revoked_at <= now:
        return False
    if consent.valid_from > now:
        return False
    return consent.valid_until is None or now < consent.valid_until


def accepted_relations(age: int, owner_sector: Sector) -> frozenset[ConsentRelation]:
    """Whose consent counts for ``owner_sector``'s data about a child of ``age``."""
    if age >= OF_AGE:
        return frozenset({ConsentRelation.SELF})
    if age >= OWN_CONSENT_FOR_HEALTH_AGE:
        if owner_sector in HEALTH_SECTORS:
            return frozenset({ConsentRelation.SELF})
        return PARENTAL | {ConsentRelation.SELF}
    return PARENTAL


def may_record(relation: ConsentRelation, age: int) -> bool:
    """Can a consent from ``relation`` count for anything at this age? (refused otherwise)"""
    if relation is ConsentRelation.SELF:
        return age >= OWN_CONSENT_FOR_HEALTH_AGE
    return age < OF_AGE


def judge(
    *,
    caller: Sector,
    owner: Sector,
    age: int,
    consents: Iterable[ConsentFacts],
    now: datetime,
) -> Missing | None:
    """None when ``owner``'s entries may be shown to ``caller``; otherwise why not."""
    wanted = accepted_relations(age, owner)
    covering = [
        c for c in consents if is_active(c, now) and caller in c.sectors and owner in c.sectors
    ]
    if any(c.relation in wanted for c in covering):
        return None
    if not covering:
        return Missing.NO_CONSENT
    if ConsentRelation.SELF in wanted:
        return Missing.OWN_CONSENT_NEEDED
    return Missing.PARENT_CONSENT_NEEDED


def sector_verdicts(
    *, caller: Sector, age: int, consents: Iterable[ConsentFacts], now: datetime
) -> dict[Sector, Missing | None]:
    """For every sector (including the caller's own, for other organisations of that sector):
    None when its entries may be shown, otherwise why not. Judged for every sector whether or
    not anyone of it is involved, so the answer reveals nothing about who is."""
    facts = list(consents)
    return {
        sector: judge(caller=caller, owner=sector, age=age, consents=facts, now=now)
        for sector in Sector
    }


def organisations_open_to(
    *,
    caller_gln: str,
    caller: Sector,
    owners: Mapping[str, Sector],
    age: int,
    consents: Iterable[ConsentFacts],
    now: datetime,
) -> frozenset[str]:
    """Which of ``owners`` (GLN to sector) the caller may see for this child now: itself, and
    every organisation whose data an active consent opens to the caller, judged as the
    overview judges (:func:`judge`). The one place that decides whom an answer may name."""
    verdicts = sector_verdicts(caller=caller, age=age, consents=consents, now=now)
    return frozenset(
        gln for gln, sector in owners.items() if gln == caller_gln or verdicts[sector] is None
    )


def listing(
    *,
    caller_gln: str,
    caller: Sector,
    recorded_by: str,
    sectors: Collection[Sector],
    organisations: Collection[str],
    active: bool,
) -> Listed:
    """How one consent appears in the consent list of the organisation ``caller_gln`` (of
    sector ``caller``): the consents it recorded in full; a consent another organisation
    recorded only when it names the caller's sector or the caller itself, and with the name of
    whoever gave it only while it is in force (``active``); any other consent not at all."""
    if recorded_by == caller_gln:
        return Listed.IN_FULL
    if caller not in sectors and caller_gln not in organisations:
        return Listed.LEFT_OUT
    return Listed.IN_FULL if active else Listed.WITHOUT_NAMES


def age_rule(age: int) -> str:
    """The rule that applies at ``age``, in one sentence for the overview."""
    if age >= OF_AGE:
        return f"The person is {age}: only their own consent lets one sector see another's entries."
    if age >= OWN_CONSENT_FOR_HEALTH_AGE:
        return (
            f"The young person is {age}: from 15 their own consent is needed for health-sector "
            "data (psychiatry, GP; sundhedsloven §§ 14, 41-42); a custodial parent's or "
            "guardian's consent still covers municipal data (PPR, family)."
        )
    return f"The child is {age}: under 15 a custodial parent (or guardian) consents for the child."


def age_on(born: date, day: date) -> int:
    """Whole years of age on ``day`` (as :meth:`messages.identifiers.Cpr.age_on`)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
