"""Issuing a consent document, as pure functions: the claims of a requested consent, and
their compact JWS signed with a key (no HTTP, no key directory).

The service's ``POST /v1/consents`` uses them; so may a test or the simulation that holds a
key (:meth:`samspil.consent_service.keys.KeyStore.signing_key`) and wants a document
without going over HTTP, including ones the service would never issue (expired, for
another child, signed by a stranger's key).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from joserfc import jws
from joserfc.jwk import ECKey

from wire.consent_document import ALGORITHM, DOCUMENT_TYPE, ConsentDocument, ConsentRequest

__all__ = ["claims_for", "sign_document"]


def _whole_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def claims_for(
    request: ConsentRequest, *, issuer: str, now: datetime, document_id: str | None = None
) -> ConsentDocument:
    """The claims of the consent ``request`` describes, issued by ``issuer`` at ``now``
    (valid from ``now`` unless it says otherwise; a new document id unless given one).
    Raises pydantic's ``ValidationError`` for a period that ends before it begins."""
    return ConsentDocument(
        document_id=document_id or f"ds-{uuid.uuid4().hex}",
        issuer=issuer,
        issued_at=_whole_seconds(now),
        child_cpr=request.child_cpr,
        given_by_name=request.given_by_name,
        relation=request.relation,
        sectors=sorted(set(request.sectors)),
        organisations=sorted(set(request.organisations)),
        valid_from=_whole_seconds(request.valid_from or now),
        valid_until=_whole_seconds(request.valid_until) if request.valid_until else None,
    )


def sign_document(claims: ConsentDocument, key: ECKey) -> str:
    """``claims`` as a compact JWS, signed ES256 with ``key`` (its kid in the header)."""
    if key.kid is None:
        raise ValueError("a signing key needs a kid")
    header = {"alg": ALGORITHM, "typ": DOCUMENT_TYPE, "kid": key.kid}
    return jws.serialize_compact(header, claims.payload(), key, algorithms=[ALGORITHM])
