"""Episode of care (C6): EpisodeOfCareStatusCode ⇄ Encounter class and status (and
Patient.deceased); the episode-of-care identifier without hyphens in OIOXML, as a UUID
with hyphens in FHIR."""

from __future__ import annotations

import re

from messages.fhir.model import EpisodeIdentifier

__all__ = [
    "encounter_state",
    "episode_id_for_fhir",
    "episode_id_for_oioxml",
    "status_code_from",
]

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")

#: XDIS91 status → (Encounter.class code, Encounter.status, Patient.deceased)
_STATES: dict[str, tuple[str, str, bool]] = {
    "inaktiv": ("other", "unknown", False),
    "indlagt": ("IMP", "in-progress", False),
    "ambulant": ("AMB", "in-progress", False),
    "ambulant_roentgen": ("AMB", "in-progress", False),
    "doed": ("other", "finished", True),
}


def encounter_state(status_code: str) -> tuple[str, str, bool]:
    """C6, OIOXML→FHIR: (class, status, deceased) for an EpisodeOfCareStatusCode; a code
    the table does not name is read as ``inaktiv``."""
    return _STATES.get(status_code, _STATES["inaktiv"])


def status_code_from(class_code: str | None, status: str | None, *, deceased: bool) -> str:
    """C6, FHIR→OIOXML: the EpisodeOfCareStatusCode; any combination the table does not
    name is ``inaktiv``. Without an Encounter (class and status None) a deceased patient is
    ``doed`` (Samspil's reading: the status without an episode)."""
    if class_code is None and status is None:
        return "doed" if deceased else "inaktiv"
    if class_code == "IMP" and status == "in-progress" and not deceased:
        return "indlagt"
    if class_code == "AMB" and status == "in-progress" and not deceased:
        return "ambulant"
    if class_code == "other" and status == "finished" and deceased:
        return "doed"
    return "inaktiv"


def episode_id_for_fhir(identifier: str) -> str:
    """C6, OIOXML→FHIR: a 32-hex episode id becomes ``urn:uuid:`` + the hyphenated UUID;
    any other id is carried as it is."""
    if _HEX32.fullmatch(identifier):
        h = identifier.lower()
        return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return identifier


def episode_id_for_oioxml(identifiers: tuple[EpisodeIdentifier, ...]) -> str | None:
    """C6, FHIR→OIOXML: the LPR3 id when there is one (its system names LPR; MedCom's
    summary names no system, this is Samspil's reading), else the first; ``urn:uuid:``
    and hyphens dropped, at most 35 characters."""
    if not identifiers:
        return None
    chosen = next((i for i in identifiers if i.system and "lpr" in i.system.lower()), None)
    value = (chosen or identifiers[0]).value
    if value.startswith("urn:uuid:"):
        value = value[9:]
    return value.replace("-", "")[:35] or None
