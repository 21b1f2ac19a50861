"""Who is who: ``GET /v1/whoami`` and the directory ``GET /v1/organisations`` (GLN, name,
sector: nothing about an organisation's mail)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Sector(StrEnum):
    PPR = "ppr"
    FAMILY = "family"
    PSYCHIATRY = "psychiatry"
    GP = "gp"


class MessageFormat(StrEnum):
    """The letter format an organisation's system speaks: MedCom OIOXML (XDIS91, XBIN01,
    XCTL) or MedCom FHIR (CareCommunication, Acknowledgement). The hub converts each letter
    and receipt into its receiver's format."""

    OIOXML = "oioxml"
    FHIR = "fhir"


class Role(StrEnum):
    SYSTEM = "system"  # an organisation's adapter: sends and receives its messages
    CASEWORKER = "caseworker"
    OPERATOR = "operator"  # runs the hub: sees counts, never content
    ADMIN = "admin"


class CallerOrganisation(BaseModel):
    """The caller's organisation (sector null if it is not registered any more)."""

    gln: str
    name: str
    sector: Sector | None


class WhoAmI(BaseModel):
    """The caller: person or system name, role and organisation."""

    name: str
    role: Role
    organisation: CallerOrganisation


class DirectoryEntry(BaseModel):
    gln: str
    name: str
    sector: Sector
    municipality: str | None


class Directory(BaseModel):
    """The registered organisations a letter can be addressed to."""

    organisations: list[DirectoryEntry]
