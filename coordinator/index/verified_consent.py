"""Verifying a signed consent document, as pure functions: a document, the consent service's
public keys and the time in; its claims or a typed refusal out. No network, no database, no
clock of its own (the keys are fetched and kept by :mod:`coordinator.index.consent_keys`).

A document (:mod:`wire.consent_document`) is a compact JWS. It is taken when, in this order:

1. it is a compact JWS of at most :data:`~wire.consent_document.MAX_DOCUMENT_LENGTH`
   characters whose protected header holds ``alg`` ES256, ``typ``
   :data:`~wire.consent_document.DOCUMENT_TYPE` and a ``kid``, and nothing else
   (``consent-document-malformed``: no ``jku``, ``x5u``, ``crit`` or ``b64`` is followed);
2. the ``kid`` names one of the service's published keys (``consent-document-unknown-key``:
   the caller may fetch the keys again once and retry, see ``ConsentKeys``);
3. the signature verifies with that key (``consent-document-bad-signature``);
4. only then is the payload read: the claims of a consent, nothing more
   (``consent-document-malformed``);
5. it is in force now: issued and valid from no later than now (with :data:`LEEWAY` for
   clocks apart; ``consent-document-not-yet-valid``), not past its end
   (``consent-document-expired``);
6. it is about the child of the request (``consent-document-other-child``).

Whether the consenting person's relation counts at the child's age is the consent rule's
(:func:`coordinator.index.consent.may_record`), judged by the route as for an attested
consent. Refusal sentences never hold a CPR number, a name or the document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from pydantic import ValidationError

from coordinator.errors import InvalidEntry
from wire.consent_document import (
    ALGORITHM,
    DOCUMENT_TYPE,
    MAX_DOCUMENT_LENGTH,
    ConsentDocument,
)
from wire.entries import entry_problems

__all__ = [
    "LEEWAY",
    "JwksError",
    "Refusal",
    "Refused",
    "parse_jwks",
    "verify_document",
]

LEEWAY = timedelta(seconds=60)
"""How far the issuer's clock may run ahead of the hub's."""
MAX_JWKS_BYTES = 262_144
"""The largest key set the hub reads."""
MAX_KEYS = 64
_HEADER = frozenset({"alg", "kid", "typ"})
_KID_LENGTH = 200
_REGISTRY = jws.JWSRegistry(algorithms=[ALGORITHM])


class Refusal(StrEnum):
    """Why a consent document is refused: each its own problem code (422)."""

    MALFORMED = "consent-document-malformed"
    UNKNOWN_KEY = "consent-document-unknown-key"
    BAD_SIGNATURE = "consent-document-bad-signature"
    NOT_YET_VALID = "consent-document-not-yet-valid"
    EXPIRED = "consent-document-expired"
    OTHER_CHILD = "consent-document-other-child"


@dataclass(frozen=True, slots=True)
class Refused:
    """A refused document: why (``refusal``) and a sentence saying what to do."""

    refusal: Refusal
    detail: str

    def error(self) -> InvalidEntry:
        """The 422 problem the hub answers with."""
        return InvalidEntry(self.detail, code=self.refusal.value)


class JwksError(ValueError):
    """A key set the hub cannot use (the sentence says why; it holds no key material)."""


def verify_document(
    document: str, *, keys: KeySet, now: datetime, child: str, leeway: timedelta = LEEWAY
) -> ConsentDocument | Refused:
    """The claims of ``document`` when it is a consent about ``child`` (10 digits) in force
    at ``now``, signed by one of ``keys``; otherwise why it is refused (the module
    docstring lists the checks in order)."""
    if not document or len(document) > MAX_DOCUMENT_LENGTH or not document.isascii():
        return _malformed(f"a compact JWS of 1-{MAX_DOCUMENT_LENGTH} ASCII characters")
    try:
        obj = jws.extract_compact(document.encode(), registry=_REGISTRY)
    except (JoseError, ValueError):
        return _malformed("a compact JWS: three base64url parts, header.payload.signature")
    header: dict[str, Any] = dict(obj.headers())
    extra = sorted(set(header) - _HEADER)
    if extra:
        return _malformed(f"a protected header of alg, kid and typ only, not {', '.join(extra)}")
    if header.get("alg") != ALGORITHM:
        return _malformed(f"signed with {ALGORITHM} (alg)")
    if header.get("typ") != DOCUMENT_TYPE:
        return _malformed(f"of type {DOCUMENT_TYPE} (typ)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 1 <= len(kid) <= _KID_LENGTH:
        return _malformed("naming the key that signed it (kid)")
    try:
        key = keys.get_by_kid(kid)
    except JoseError:
        return Refused(
            Refusal.UNKNOWN_KEY,
            "the document was signed with a key the consent service does not publish (its "
            "kid is unknown): ask the consent service for a new document",
        )
    try:
        signed = jws.validate_compact(obj, key, registry=_REGISTRY)
    except (JoseError, ValueError):
        signed = False
    if not signed:
        return Refused(
            Refusal.BAD_SIGNATURE,
            "the document's signature does not verify with the consent service's key: it was "
            "changed after signing, or not signed by the consent service",
        )
    try:
        claims = ConsentDocument.from_payload(obj.payload)
    except ValidationError as exc:
        return _malformed(f"a consent's claims ({entry_problems(exc)})")
    if claims.issued_at > now + leeway or claims.valid_from > now + leeway:
        return Refused(
            Refusal.NOT_YET_VALID,
            "the consent is not in force yet (its nbf, or the time it was issued, lies ahead): "
            "present it once its period has begun",
        )
    if claims.valid_until is not None and claims.valid_until <= now:
        return Refused(
            Refusal.EXPIRED,
            "the consent's period has ended (exp): ask the family for a new consent",
        )
    if claims.child_cpr != child:
        return Refused(
            Refusal.OTHER_CHILD,
            "the document is another child's consent than the one in the path",
        )
    return claims


def _malformed(what: str) -> Refused:
    return Refused(Refusal.MALFORMED, f"the consent document is not {what}")


def parse_jwks(raw: bytes) -> KeySet:
    """The public signing keys of a JWKS (``{"keys": [...]}``): EC P-256 keys for ES256, each
    with a ``kid``; other keys (another type, ``use`` other than ``sig``) are skipped, as RFC
    7517 asks. :class:`JwksError` when none is left, or for a set that is no JWKS or that
    publishes a private key."""
    if len(raw) > MAX_JWKS_BYTES:
        raise JwksError(f"the key set is larger than {MAX_JWKS_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise JwksError("the key set is not JSON") from None
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise JwksError('the key set is not a JWKS (a JSON object with a "keys" list)')
    keys: list[ECKey] = []
    kids: set[str] = set()
    for entry in entries[:MAX_KEYS]:
        if not isinstance(entry, dict):
            continue
        if "d" in entry:
            raise JwksError("the key set publishes a private key; refusing all of it")
        if entry.get("kty") != "EC" or entry.get("crv") != "P-256":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not 1 <= len(kid) <= _KID_LENGTH or kid in kids:
            continue
        try:
            key = ECKey.import_key(
                {name: entry[name] for name in ("kty", "crv", "x", "y") if name in entry},
                parameters={"kid": kid, "use": "sig", "alg": ALGORITHM},
            )
        except (JoseError, ValueError, TypeError):
            continue
        kids.add(kid)
        keys.append(key)
    if not keys:
        raise JwksError("the key set holds no EC P-256 signing key with a kid")
    return KeySet(list(keys))
