"""Administering the hub over HTTP (``/v1/admin/...``, admin role only, audited)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from wire.directory import LettersConsumedBy, MessageFormat, Sector

GLN_PATTERN = "^[0-9]{13}$"
SOR_PATTERN = "^[0-9]{15,16}$"
MUNICIPALITY_PATTERN = "^[0-9]{3}$"


class OrganisationIn(BaseModel):
    """An organisation to register (the hub also checks the GLN's GS1 check digit)."""

    model_config = ConfigDict(extra="forbid")

    gln: str = Field(pattern=GLN_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    sector: Sector
    sor: str | None = Field(default=None, pattern=SOR_PATTERN)
    municipality: str | None = Field(default=None, pattern=MUNICIPALITY_PATTERN)
    format: MessageFormat = Field(
        default=MessageFormat.OIOXML,
        description="The letter format its system speaks; the hub converts for it.",
    )
    letters_consumed_by: LettersConsumedBy = Field(
        default=LettersConsumedBy.SYSTEM,
        description="Who takes the organisation's letters out of its inbox: its case system "
        "through its adapter (the default) or its people in the caseworker app.",
    )


class RegisteredOrganisation(BaseModel):
    id: uuid.UUID
    gln: str = Field(pattern=GLN_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    sector: Sector
    sor: str | None = Field(pattern=SOR_PATTERN)
    municipality: str | None = Field(pattern=MUNICIPALITY_PATTERN)
    format: MessageFormat
    letters_consumed_by: LettersConsumedBy


class OrganisationRegistered(BaseModel):
    """Registered; the system token is in this answer only."""

    organisation: RegisteredOrganisation
    token: str = Field(description="The system token; never shown again.")
