"""A signed consent document: what the consent service (Digitalt Samtykke, or Samspil's
stand-in, ``samspil consent-service``) issues and the hub verifies.

The document is a compact JWS (RFC 7515), signed with ES256 (ECDSA P-256, SHA-256); its
protected header names the signing key (``kid``) and the type :data:`DOCUMENT_TYPE`; its
payload is :class:`ConsentDocument` as JSON, with the registered JWT claim names where one
fits (RFC 7519)::

    jti   document_id     the document's unique id (a second use of it is refused)
    iss   issuer          who signed it
    iat   issued_at       when (NumericDate: whole seconds since 1970, UTC)
    sub   child_cpr       the child the consent is about (10 digits)
    nbf   valid_from      the consent is in force from ...
    exp   valid_until     ... until (absent: until revoked)
          given_by_name   the person who consented
          relation        their relation: custodial-parent, guardian, self
          sectors         the sectors that may share among themselves
          organisations   organisations (GLNs) the consent names besides its sectors

The issuer publishes its public keys as a JWKS (``GET /.well-known/jwks.json``); the hub
trusts what those keys signed (``SAMSPIL_CONSENT_JWKS``). This module is the contract both
sides share; it signs and verifies nothing itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from messages.errors import IdentifierError
from messages.identifiers import parse_cpr, parse_gln
from wire.directory import Sector
from wire.entries import STRICT
from wire.index import MAX_CONSENT_DOCUMENT_LENGTH, ConsentRelation

__all__ = [
    "ALGORITHM",
    "DOCUMENT_TYPE",
    "MAX_DOCUMENT_LENGTH",
    "MAX_ORGANISATIONS",
    "ConsentDocument",
    "ConsentRequest",
    "SignedConsent",
]

ALGORITHM = "ES256"
"""The only signature algorithm a consent document may use."""
DOCUMENT_TYPE = "samspil-consent+jwt"
"""The protected header's ``typ``: a JWT of another kind signed by the same key is not a
consent document."""
MAX_DOCUMENT_LENGTH = MAX_CONSENT_DOCUMENT_LENGTH
"""The longest compact JWS the hub takes."""
MAX_ORGANISATIONS = 100
"""Most organisations one document may name (they are stored comma-separated, 1,400
characters at most)."""
DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{8,64}$"
_LATEST_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z


def _numeric_date(value: Any) -> Any:
    """A NumericDate claim (whole seconds since 1970, UTC) as a tz-aware datetime; a
    datetime given in Python passes as it is (it must carry a time zone)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a time needs a time zone")
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a NumericDate: whole seconds since 1970-01-01T00:00:00Z")
    if not 0 <= value <= _LATEST_NUMERIC_DATE:
        raise ValueError("a NumericDate between 1970 and 9999")
    return datetime.fromtimestamp(value, UTC)


def _seconds(value: datetime) -> int:
    return int(value.timestamp())


NumericDate = Annotated[
    datetime, BeforeValidator(_numeric_date), PlainSerializer(_seconds, return_type=int)
]
"""A time carried as whole seconds since 1970 (RFC 7519's NumericDate)."""


def _cpr(value: str) -> str:
    try:
        return parse_cpr(value).digits
    except IdentifierError:
        # never the value, nor its date part: the sentence may reach a log
        raise ValueError("not a valid CPR number (10 digits, DDMMYY and 4 digits)") from None


def _gln(value: str) -> str:
    try:
        return parse_gln(value)
    except IdentifierError:
        raise ValueError("not a GLN: 13 digits with a correct GS1 check digit") from None


ChildCpr = Annotated[str, Field(min_length=10, max_length=11), AfterValidator(_cpr)]
Gln = Annotated[str, Field(min_length=13, max_length=13), AfterValidator(_gln)]


class _Covers(BaseModel):
    """What a consent covers: sectors that may share among themselves, and named
    organisations; at least one of either."""

    sectors: list[Sector] = Field(default_factory=list, max_length=4)
    organisations: list[Gln] = Field(default_factory=list, max_length=MAX_ORGANISATIONS)

    @model_validator(mode="after")
    def _covers_something(self) -> Any:
        if not self.sectors and not self.organisations:
            raise ValueError("a consent names at least one sector or organisation")
        return self


class ConsentDocument(_Covers):
    """The claims of a signed consent document (see the module docstring for the names
    they travel under). Frozen: what was signed is not changed afterwards."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True)

    document_id: str = Field(
        validation_alias="jti", serialization_alias="jti", pattern=DOCUMENT_ID_PATTERN
    )
    issuer: str = Field(
        validation_alias="iss", serialization_alias="iss", min_length=1, max_length=200
    )
    issued_at: NumericDate = Field(validation_alias="iat", serialization_alias="iat")
    child_cpr: ChildCpr = Field(validation_alias="sub", serialization_alias="sub")
    given_by_name: str = Field(min_length=1, max_length=200)
    relation: ConsentRelation
    valid_from: NumericDate = Field(validation_alias="nbf", serialization_alias="nbf")
    valid_until: NumericDate | None = Field(
        default=None, validation_alias="exp", serialization_alias="exp"
    )

    @model_validator(mode="after")
    def _period(self) -> Any:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("exp (valid_until) must be after nbf (valid_from)")
        return self

    def payload(self) -> bytes:
        """The JSON that is signed: the registered claim names, no absent ``exp``."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()

    @classmethod
    def from_payload(cls, payload: bytes) -> ConsentDocument:
        """The claims of a document's payload, by their claim names only (pydantic's
        ``ValidationError`` when they are not a consent)."""
        return cls.model_validate_json(payload, by_alias=True, by_name=False)


class ConsentRequest(_Covers):
    """The body of the consent service's ``POST /v1/consents``: sign this consent (in
    Digitalt Samtykke the consenting person gives it after logging in; the stand-in signs
    what it is sent). ``valid_from`` defaults to now."""

    model_config = STRICT

    child_cpr: ChildCpr
    given_by_name: str = Field(min_length=1, max_length=200)
    relation: ConsentRelation
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    @model_validator(mode="after")
    def _aware(self) -> Any:
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. ...Z or +01:00)")
        return self


class SignedConsent(BaseModel):
    """The consent service's answer: the signed document and what names it."""

    document_id: str
    document: str = Field(description="The compact JWS (header.payload.signature).")
    key_id: str = Field(description="The kid of the key that signed it.")
    issued_at: datetime
