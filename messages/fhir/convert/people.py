"""People: author and contact fallbacks (C4), replacement CPR (C5), which CPR leads (C8)."""

from __future__ import annotations

from messages.fhir.model import (
    CPR_SYSTEM,
    REPLACEMENT_CPR_OTHER_SYSTEM,
    REPLACEMENT_CPR_REGION_SYSTEM,
    PatientIdentifier,
)

__all__ = [
    "FALLBACK_PHONE",
    "UNKNOWN_ROLE",
    "contact_phone",
    "fallback_author_name",
    "replacement_cpr_system",
    "split_cprs",
]

FALLBACK_PHONE = "0000 0000"
UNKNOWN_ROLE = "ukendt"


def fallback_author_name(organisation_name: str | None, sor_name: str | None) -> str:
    """C4, OIOXML→FHIR: XDIS91 names no author; the author is the organisation (role
    ``ukendt``), named by the letter's OrganisationName, else SOR's name."""
    return organisation_name or sor_name or "Ukendt"


def contact_phone(sender_phone: str | None, sor_phone: str | None) -> str:
    """C4, OIOXML→FHIR: the contact is the sender's phone, else SOR's, else "0000 0000"."""
    return sender_phone or sor_phone or FALLBACK_PHONE


def replacement_cpr_system(alternative_identifier: str) -> str:
    """C5, OIOXML→FHIR: a replacement CPR whose 7th character is ``1`` or ``7`` is a
    region's (``urn:oid:1.2.208.176.1.6.1.1``); any other, ``…1.6.1.3``."""
    seventh = alternative_identifier[6:7]
    return REPLACEMENT_CPR_REGION_SYSTEM if seventh in ("1", "7") else REPLACEMENT_CPR_OTHER_SYSTEM


def split_cprs(
    identifiers: tuple[PatientIdentifier, ...],
) -> tuple[str | None, str | None, tuple[str, ...]]:
    """C8, FHIR→OIOXML: (CPR for Patient, replacement id for AlternativeIdentifier, further
    CPRs for the text). The first real CPR leads; without one, the first replacement id."""
    cprs = [i.value for i in identifiers if i.system == CPR_SYSTEM]
    if cprs:
        return cprs[0], None, tuple(cprs[1:])
    replacement = next(
        (
            i.value
            for i in identifiers
            if i.system in (REPLACEMENT_CPR_REGION_SYSTEM, REPLACEMENT_CPR_OTHER_SYSTEM)
        ),
        None,
    )
    return None, replacement, ()
