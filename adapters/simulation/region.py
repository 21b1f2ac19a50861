"""Who is in the simulated Region Nordjylland pilot, and the synthetic children.

Organisations: PPR and the family department of Brønderslev (810), Thisted (787),
Jammerbugt (849), Aalborg (851) and Rebild (840); the region's child and adolescent
psychiatry (BUP) in Aalborg; 15 GP clinics. Their location numbers are synthetic
(``5790009`` followed by a running number and a correct GS1 check digit): they name no real
location.

Child and adolescent psychiatry and the first GP clinic (Lægehuset Vestbyen) speak MedCom
FHIR (CareCommunication, Acknowledgement); the others OIOXML: the hub converts between them.
Every organisation has a synthetic SOR code (``10`` and its location number), which the
conversion needs.

Children are synthetic too: Danish first and family names drawn from short lists, and CPR
numbers with a real birth date (2009–2021) and a serial number beginning with 4 — valid
numbers in form, made up, and plainly fictitious (generated from the seed, never looked up).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from messages.identifiers import gln_check_digit, parse_cpr

__all__ = ["Child", "Org", "OrgKind", "children", "pilot_region"]


class OrgKind(StrEnum):
    GP = "gp"
    PPR = "ppr"
    FAMILY = "family"
    PSYCHIATRY = "psychiatry"

    @property
    def adapter(self) -> str:
        """Which adapter serves this kind of organisation."""
        if self in (OrgKind.PPR, OrgKind.FAMILY):
            return "municipality"
        return self.value


@dataclass(frozen=True, slots=True)
class Org:
    gln: str
    name: str
    kind: OrgKind
    municipality: str | None = None
    speaks_fhir: bool = False  # MedCom FHIR rather than OIOXML
    letters_by_people: bool = False
    """Its caseworkers take its letters in with the caseworker TUI, not its case system
    (the hub's ``letters_consumed_by = people``): letters to it wait in its inbox."""

    @property
    def sor(self) -> str:
        """A synthetic SOR code (15 digits): ``10`` and the location number."""
        return f"10{self.gln}"

    @property
    def slug(self) -> str:
        return f"{self.kind.value}-{self.gln[-5:]}"


MUNICIPALITIES = (
    ("810", "Brønderslev"),
    ("787", "Thisted"),
    ("849", "Jammerbugt"),
    ("851", "Aalborg"),
    ("840", "Rebild"),
)
CLINICS = (
    "Lægehuset Vestbyen",
    "Lægerne i Nørresundby",
    "Lægehuset Brønderslev",
    "Thisted Lægecenter",
    "Lægerne Fjerritslev",
    "Aabybro Lægehus",
    "Lægehuset Støvring",
    "Skørping Lægecenter",
    "Lægerne på Boulevarden",
    "Hals Lægehus",
    "Lægehuset Vodskov",
    "Lægerne i Hurup",
    "Pandrup Lægecenter",
    "Lægehuset Gistrup",
    "Lægerne i Svenstrup",
)


def _gln(n: int) -> str:
    first12 = f"5790009{n:05d}"
    return first12 + str(gln_check_digit(first12))


PEOPLE_TAKE_LETTERS = "851"
"""The municipality whose PPR's people take its letters in (Aalborg: the demo's caseworker)."""


def pilot_region() -> tuple[Org, ...]:
    """Every organisation of the pilot: 5 × (PPR, family), BUP and 15 GP clinics."""
    orgs: list[Org] = []
    n = 100
    for code, name in MUNICIPALITIES:
        # PPR Aalborg's caseworkers work their letters in the TUI (the demo's caseworker)
        orgs.append(
            Org(
                _gln(n),
                f"PPR {name}",
                OrgKind.PPR,
                code,
                letters_by_people=code == PEOPLE_TAKE_LETTERS,
            )
        )
        orgs.append(Org(_gln(n + 1), f"Børne- og familieafdelingen {name}", OrgKind.FAMILY, code))
        n += 10
    orgs.append(
        Org(
            _gln(200),
            "Børne- og Ungdomspsykiatrien Aalborg",
            OrgKind.PSYCHIATRY,
            None,
            speaks_fhir=True,
        )
    )
    for i, clinic in enumerate(CLINICS):
        orgs.append(
            Org(_gln(300 + i), clinic, OrgKind.GP, MUNICIPALITIES[i % 5][0], speaks_fhir=i == 0)
        )
    return tuple(orgs)


GIVEN = (
    "Emma", "Ida", "Freja", "Clara", "Alma", "Ella", "Sofia", "Karla", "Agnes", "Olivia",
    "William", "Noah", "Oscar", "Lucas", "Carl", "Alfred", "Malthe", "Emil", "Valdemar", "Aksel",
)  # fmt: skip
FAMILY = (
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Møller",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Child:
    cpr: str
    given: str
    family: str
    born: date
    municipality: str

    def __repr__(self) -> str:  # never a whole CPR in a repr
        return f"Child({self.given} {self.family}, born {self.born.isoformat()})"


def children(count: int, seed: int, *, today: date) -> list[Child]:
    """``count`` synthetic children, the same for the same seed."""
    rng = random.Random(seed)
    made: list[Child] = []
    used: set[str] = set()
    while len(made) < count:
        born = date(2009, 1, 1) + timedelta(days=rng.randrange(365 * 12))
        if born >= today:
            continue
        serial = f"4{rng.randrange(1000):03d}"  # 7th digit 4 with year <= 36: the 2000s
        cpr = born.strftime("%d%m%y") + serial
        if cpr in used:
            continue
        parse_cpr(cpr)  # a valid number in form
        used.add(cpr)
        made.append(
            Child(
                cpr=cpr,
                given=rng.choice(GIVEN),
                family=rng.choice(FAMILY),
                born=born,
                municipality=rng.choice(MUNICIPALITIES)[0],
            )
        )
    return made
