"""Who is who: ``GET /v1/whoami`` and the directory ``GET /v1/organisations`` (GLN, name,
sector, SOR code and letter format: what a letter's sender needs to address it, nothing
about an organisation's mail)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


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


class LettersConsumedBy(StrEnum):
    """Who takes an organisation's letters out of its inbox (fetches them as the receiver
    and acknowledges them): exactly one party. The other one reads them (the terminal app:
    read-only) or is refused (the adapter: 409 ``letters-consumed-by-people``)."""

    SYSTEM = "system"  # its case system, through its adapter (the default)
    PEOPLE = "people"  # its caseworkers, in the terminal app


class CallerOrganisation(BaseModel):
    """The caller's organisation (sector null if it is not registered any more)."""

    gln: str
    name: str
    sector: Sector | None
    letters_consumed_by: LettersConsumedBy = Field(
        default=LettersConsumedBy.SYSTEM,
        description="Who takes the organisation's letters out of its inbox: its case "
        "system through its adapter, or its people in the terminal app.",
    )


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
    sor: str | None = Field(
        default=None,
        description="The organisation's SOR code (15-16 digits), which a MedCom FHIR "
        "message names it by; null when the hub has none.",
    )
    format: MessageFormat = Field(
        default=MessageFormat.OIOXML,
        description="The letter format the organisation's system speaks: the hub delivers "
        "its letters and receipts in it, and its adapter sends the letters it writes in it.",
    )


class Directory(BaseModel):
    """The registered organisations a letter can be addressed to."""

    organisations: list[DirectoryEntry]
