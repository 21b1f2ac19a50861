"""The consent rule, as pure functions (no database, no clock of its own).

An owner organisation W's entries about a child are shown to a caller organisation C only
under a consent that

* is **active** (:func:`is_active`): valid from before now, not yet past its ``valid_until``,
  not revoked;
* **covers** both C and W (:func:`covers`): an organisation is covered when the consent names
  its sector (``ppr``, ``family``, ``psychiatry``, ``gp``) or the organisation itself (its
  GLN) — a family that consented to Aalborg's family department has not consented to
  Thisted's;
* was given by someone who may give it **for W's data** (:func:`relation_counts`), by the
  child's age on the day (read from the CPR's birth date):

  - under 15: a custodial parent (or a guardian); the child's own word is not enough;
  - from 15: for **health-sector data** (psychiatry, GP: sundhedsloven §§ 14, 41–42) the young
    person's own consent (relation ``self``); municipal data (PPR, family) still under a
    custodial parent's or guardian's consent, or the young person's own;
  - from 18: custody has ended; only the person's own consent counts;
* is **not disputed by W** (:func:`is_disputed_by`): a data owner that disputes an attested
  consent closes its own data to it from the next call;
* is accepted for W's sector by the hub's **policy** (:class:`ConsentPolicy`): a verified
  consent (signed by the consent service) always; an attested one (a caseworker's word) for
  the sectors the hub lets attested consents open (by default the municipal ones, PPR and
  family), or when an organisation of W's own sector recorded it.

Revocation and disputes take effect at once: whoever asks next is judged against them.

The overview's per-sector consent state (:func:`sector_verdicts`) judges each sector for a
generic organisation of it (not named by any consent, disputing nothing), so it reveals
nothing about who is involved with the child.

Everything that names another organisation to a caller asks one question,
:func:`organisations_open_to` ("which of these organisations may the caller see for this
child now?"), answered per owner organisation with the same judgement (:func:`judge`, under
the hub's policy and the owners' disputes) that opens the overview's entries; the access log
names others only through it.

The consent list has its own rule, :func:`listing`: an organisation sees the consents it
recorded, and the consents that name its sector or the organisation itself; of a consent
another organisation recorded, the people's names (who gave it) only while it covers the
caller (in force and naming its sector or the organisation). Anything else is left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from coordinator.index.tables import ConsentRelation, ConsentVerification
from coordinator.tables import Sector

HEALTH_SECTORS = frozenset({Sector.PSYCHIATRY, Sector.GP})
MUNICIPAL_SECTORS = frozenset({Sector.PPR, Sector.FAMILY})
OWN_CONSENT_FOR_HEALTH_AGE = 15
OF_AGE = 18
PARENTAL = frozenset({ConsentRelation.CUSTODIAL_PARENT, ConsentRelation.GUARDIAN})


class Listed(StrEnum):
    """How a recorded consent appears in an organisation's consent list (:func:`listing`)."""

    IN_FULL = "in-full"  # recorded by the caller, or covering it: with who gave it
    WITHOUT_NAMES = "without-names"  # names the caller, recorded by another, not in force
    LEFT_OUT = "left-out"  # names neither the caller's sector nor the caller


class Missing(StrEnum):
    """Why an organisation's entries are withheld from the caller."""

    NO_CONSENT = "no-consent"  # no active consent covers the caller and this owner
    OWN_CONSENT_NEEDED = "own-consent-needed"  # from 15 (health) or 18: the young person's own
    PARENT_CONSENT_NEEDED = "parent-consent-needed"  # under 15: a custodial parent's
    VERIFIED_CONSENT_NEEDED = "verified-consent-needed"  # the policy wants a verified consent
    DISPUTED = "consent-disputed"  # the owner disputed every consent that would open its data


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation as the rule sees it: its sector, and its GLN — or None for a generic
    organisation of the sector (named by no consent, disputing nothing)."""

    sector: Sector
    gln: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """What the rule needs to know of one recorded consent."""

    relation: ConsentRelation
    sectors: frozenset[Sector]
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    id: uuid.UUID | None = None
    verification: ConsentVerification = ConsentVerification.ATTESTED
    organisations: frozenset[str] = frozenset()  # GLNs named besides the sectors
    recorder: str = ""  # the recording organisation's GLN
    recorder_sector: Sector | None = None
    recorded_at: datetime | None = None
    disputed_by: frozenset[str] = frozenset()  # disputing owners' GLNs

    @property
    def verified(self) -> bool:
        return self.verification is ConsentVerification.VERIFIED


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """Which consents open which sector's data: verified ones always; attested ones for the
    sectors in ``attested_opens``, and for the recorder's own sector."""

    attested_opens: frozenset[Sector] = MUNICIPAL_SECTORS

    def accepts(self, consent: ConsentFacts, owner_sector: Sector) -> bool:
        """May ``consent`` open data owned by an organisation of ``owner_sector``?"""
        if consent.verified or owner_sector in self.attested_opens:
            return True
        return consent.recorder_sector is owner_sector


DEFAULT_POLICY = ConsentPolicy()


# --- one function per rule ---------------------------------------------------------------


def is_active(consent: ConsentFacts, now: datetime) -> bool:
    """In force now: started, not expired, not revoked."""
    if consent.revoked_at is not None and consent.revoked_at <= now:
        return False
    if consent.valid_from > now:
        return False
    return consent.valid_until is None or now < consent.valid_until


def covers(consent: ConsentFacts, party: Party) -> bool:
    """Does ``consent`` cover ``party``: its sector, or the organisation itself by name?"""
    if party.sector in consent.sectors:
        return True
    return party.gln is not None and party.gln in consent.organisations


def accepted_relations(age: int, owner_sector: Sector) -> frozenset[ConsentRelation]:
    """Whose consent counts for ``owner_sector``'s data about a child of ``age``."""
    if age >= OF_AGE:
        return frozenset({ConsentRelation.SELF})
    if age >= OWN_CONSENT_FOR_HEALTH_AGE:
        if owner_sector in HEALTH_SECTORS:
            return frozenset({ConsentRelation.SELF})
        return PARENTAL | {ConsentRelation.SELF}
    return PARENTAL


def relation_counts(consent: ConsentFacts, age: int, owner_sector: Sector) -> bool:
    """Was ``consent`` given by someone whose word counts for this data at this age?"""
    return consent.relation in accepted_relations(age, owner_sector)


def is_disputed_by(consent: ConsentFacts, owner: Party) -> bool:
    """Has ``owner`` disputed ``consent`` (a generic organisation disputes nothing)?"""
    return owner.gln is not None and owner.gln in consent.disputed_by


def may_record(relation: ConsentRelation, age: int) -> bool:
    """Can a consent from ``relation`` count for anything at this age? (refused otherwise)"""
    if relation is ConsentRelation.SELF:
        return age >= OWN_CONSENT_FOR_HEALTH_AGE
    return age < OF_AGE


def opening_order(consent: ConsentFacts) -> tuple[bool, datetime, str]:
    """Which of several consents that open an owner's data is named as the one that opened
    it: a verified one first, then the earliest recorded."""
    return (not consent.verified, consent.recorded_at or consent.valid_from, str(consent.id))


# --- the verdict -------------------------------------------------------------------------


def judge(
    *,
    caller: Party,
    owner: Party,
    age: int,
    consents: Iterable[ConsentFacts],
    now: datetime,
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> ConsentFacts | Missing:
    """The consent that opens ``owner``'s entries to ``caller`` (a verified one if any,
    else the earliest recorded), or why none does.

    The reason names the first rule no covering consent passes, in the order: coverage,
    whose word counts (age), the owner's dispute, the policy.
    """
    covering = [c for c in consents if is_active(c, now) and covers(c, caller) and covers(c, owner)]
    if not covering:
        return Missing.NO_CONSENT
    counted = [c for c in covering if relation_counts(c, age, owner.sector)]
    if not counted:
        if ConsentRelation.SELF in accepted_relations(age, owner.sector):
            return Missing.OWN_CONSENT_NEEDED
        return Missing.PARENT_CONSENT_NEEDED
    undisputed = [c for c in counted if not is_disputed_by(c, owner)]
    if not undisputed:
        return Missing.DISPUTED
    accepted = [c for c in undisputed if policy.accepts(c, owner.sector)]
    if not accepted:
        return Missing.VERIFIED_CONSENT_NEEDED
    return min(accepted, key=opening_order)


def sector_verdicts(
    *,
    caller: Party,
    age: int,
    consents: Iterable[ConsentFacts],
    now: datetime,
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> dict[Sector, Missing | None]:
    """For every sector (including the caller's own, for other organisations of that sector):
    None when a generic organisation's entries of it may be shown, otherwise why not. Judged
    for every sector whether or not anyone of it is involved, and for an organisation no
    consent names and that disputes nothing, so the answer reveals nothing about who is."""
    facts = list(consents)
    verdicts: dict[Sector, Missing | None] = {}
    for sector in Sector:
        verdict = judge(
            caller=caller, owner=Party(sector), age=age, consents=facts, now=now, policy=policy
        )
        verdicts[sector] = verdict if isinstance(verdict, Missing) else None
    return verdicts


def organisations_open_to(
    *,
    caller: Party,
    owners: Mapping[str, Sector],
    age: int,
    consents: Iterable[ConsentFacts],
    now: datetime,
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> frozenset[str]:
    """Which of ``owners`` (GLN to sector) the caller may see for this child now: itself, and
    every organisation whose data a consent opens to the caller, judged per owner as the
    overview's entries are (:func:`judge`: scope by named organisations, whose word counts,
    the owner's disputes, the hub's policy). The one place that decides whom an answer may
    name."""
    facts = list(consents)
    return frozenset(
        gln
        for gln, sector in owners.items()
        if gln == caller.gln
        or not isinstance(
            judge(
                caller=caller,
                owner=Party(sector, gln),
                age=age,
                consents=facts,
                now=now,
                policy=policy,
            ),
            Missing,
        )
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


# --- what one consent opens (the caseworker's view of a consent) ---------------------------


def _missing(verdict: ConsentFacts | Missing) -> Missing | None:
    return verdict if isinstance(verdict, Missing) else None


def opens(
    consent: ConsentFacts, *, age: int, now: datetime, policy: ConsentPolicy = DEFAULT_POLICY
) -> dict[Sector, Missing | None]:
    """What ``consent`` alone opens, per sector it names: None where it opens the entries of
    that sector's organisations (to the other organisations it covers), otherwise why not.
    Judged by :func:`judge` for a generic organisation of the sector, as the overview's
    per-sector state is; a consent not in force opens nothing (``no-consent``)."""
    return {
        sector: _missing(
            judge(
                caller=Party(sector),
                owner=Party(sector),
                age=age,
                consents=[consent],
                now=now,
                policy=policy,
            )
        )
        for sector in Sector
        if sector in consent.sectors
    }


def opened_to(
    caller: Party,
    consent: ConsentFacts,
    *,
    age: int,
    now: datetime,
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> frozenset[Sector]:
    """The sectors whose entries (of a generic organisation of each) ``consent`` alone opens
    to ``caller`` now; empty when it opens none. The overview's "who consented"."""
    return frozenset(
        sector
        for sector in Sector
        if _missing(
            judge(
                caller=caller,
                owner=Party(sector),
                age=age,
                consents=[consent],
                now=now,
                policy=policy,
            )
        )
        is None
    )


def would_open(
    *, recorder: Sector, age: int, now: datetime, policy: ConsentPolicy = DEFAULT_POLICY
) -> dict[ConsentRelation, dict[Sector, Missing | None]]:
    """What an attested consent that an organisation of ``recorder`` records now, naming
    every sector, would open per sector (:func:`opens`), by the relation of whoever gives it
    — for the relations whose consent may be recorded at ``age`` (:func:`may_record`). The
    consent form shows it before a consent is saved."""
    return {
        relation: opens(
            ConsentFacts(
                relation=relation,
                sectors=frozenset(Sector),
                valid_from=now,
                valid_until=None,
                revoked_at=None,
                verification=ConsentVerification.ATTESTED,
                recorder_sector=recorder,
            ),
            age=age,
            now=now,
            policy=policy,
        )
        for relation in ConsentRelation
        if may_record(relation, age)
    }
