"""The pure verifier of signed consent documents (:mod:`coordinator.index.verified_consent`),
the hub's key holder with a fetch function and a clock the test owns
(:mod:`coordinator.index.consent_keys`), and the consent service's key directory
(:mod:`samspil.consent_service.keys`)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, KeySet, OctKey
from pydantic import ValidationError

from coordinator.errors import ConsentKeysUnavailable, InvalidEntry
from coordinator.index.consent_keys import ConsentKeys
from coordinator.index.verified_consent import (
    LEEWAY,
    JwksError,
    Refusal,
    Refused,
    parse_jwks,
    verify_document,
)
from samspil.consent_service.keys import KeyStore, KeyStoreError
from samspil.consent_service.signing import claims_for, sign_document
from wire.consent_document import ConsentDocument, ConsentRequest

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CHILD = "0101164123"  # born 1 January 2016
OTHER = "0202164123"
GLN = "5790000010011"


def _key(kid: str | None = None) -> ECKey:
    parameters: Any = {"kid": kid} if kid else None
    return ECKey.generate_key("P-256", parameters=parameters, auto_kid=kid is None)


def _public(*keys: ECKey) -> KeySet:
    return parse_jwks(json.dumps({"keys": [k.as_dict(private=False) for k in keys]}).encode())


def _claims(**changes: Any) -> ConsentDocument:
    request: dict[str, Any] = {
        "child_cpr": CHILD,
        "given_by_name": "Mette Nielsen",
        "relation": "custodial-parent",
        "sectors": ["ppr", "psychiatry"],
        "organisations": [GLN],
    }
    request.update({k: v for k, v in changes.items() if k in ConsentRequest.model_fields})
    claims = claims_for(
        ConsentRequest.model_validate(request),
        issuer="urn:test",
        now=changes.get("now", NOW),
        document_id=changes.get("document_id"),
    )
    return claims


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _refusal(result: ConsentDocument | Refused) -> Refusal:
    assert isinstance(result, Refused), result
    return result.refusal


def test_a_document_signed_by_a_published_key_gives_its_claims() -> None:
    key = _key()
    claims = _claims()
    result = verify_document(sign_document(claims, key), keys=_public(key), now=NOW, child=CHILD)
    assert result == claims
    assert isinstance(result, ConsentDocument)
    assert result.organisations == [GLN]
    assert result.valid_until is None


def test_the_signature_and_the_key_decide_before_the_claims_are_read() -> None:
    key, stranger = _key(), _key()
    document = sign_document(_claims(), key)
    header, payload, signature = document.split(".")
    assert (
        _refusal(verify_document(document, keys=_public(stranger), now=NOW, child=CHILD))
        is Refusal.UNKNOWN_KEY
    )
    impostor = _key(kid=str(key.kid))  # the service's kid, someone else's key
    forged = sign_document(_claims(relation="self"), impostor)
    assert (
        _refusal(verify_document(forged, keys=_public(key), now=NOW, child=CHILD))
        is Refusal.BAD_SIGNATURE
    )
    other = sign_document(_claims(sectors=["ppr", "gp"]), key).split(".")[1]
    for changed in (f"{header}.{other}.{signature}", f"{header}.{payload}.{signature[:-4]}AAAA"):
        assert (
            _refusal(verify_document(changed, keys=_public(key), now=NOW, child=CHILD))
            is Refusal.BAD_SIGNATURE
        )
    # garbage in a signed payload is malformed, but only once the signature holds
    garbage = jws.serialize_compact(
        {"alg": "ES256", "kid": str(key.kid), "typ": "samspil-consent+jwt"}, b"{}", key
    )
    assert (
        _refusal(verify_document(garbage, keys=_public(key), now=NOW, child=CHILD))
        is Refusal.MALFORMED
    )
    assert (
        _refusal(verify_document(garbage, keys=_public(stranger), now=NOW, child=CHILD))
        is Refusal.UNKNOWN_KEY
    )


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "kid": "k", "typ": "samspil-consent+jwt"},
        {"alg": "HS256", "kid": "k", "typ": "samspil-consent+jwt"},
        {"alg": "ES256", "typ": "samspil-consent+jwt"},
        {"alg": "ES256", "kid": "k", "typ": "JWT"},
        {"alg": "ES256", "kid": "k"},
        {"alg": "ES256", "kid": "k", "typ": "samspil-consent+jwt", "jku": "https://evil/"},
        {"alg": "ES256", "kid": "k", "typ": "samspil-consent+jwt", "b64": False},
        {"alg": "ES256", "kid": 7, "typ": "samspil-consent+jwt"},
    ],
)
def test_only_an_es256_consent_header_naming_its_key_is_read(header: dict[str, Any]) -> None:
    key = _key(kid="k")
    payload = _b64(_claims().payload())
    document = f"{_b64(header)}.{payload}.{_b64(b'x' * 64)}"
    assert (
        _refusal(verify_document(document, keys=_public(key), now=NOW, child=CHILD))
        is Refusal.MALFORMED
    )


def test_an_hmac_signature_made_with_the_public_key_is_not_taken() -> None:
    """The algorithm confusion attack: HS256 keyed with the published key's bytes."""
    key = _key(kid="k")
    public = json.dumps(key.as_dict(private=False)).encode()
    header = {"alg": "HS256", "kid": "k", "typ": "samspil-consent+jwt"}
    document = jws.serialize_compact(
        header, _claims().payload(), OctKey.import_key(public), algorithms=["HS256"]
    )
    assert (
        _refusal(verify_document(document, keys=_public(key), now=NOW, child=CHILD))
        is Refusal.MALFORMED
    )


@pytest.mark.parametrize(
    "document", ["", "a.b", "a.b.c.d", "not a document", "é.é.é", "e30.e30.e30", "x" * 20_000]
)
def test_what_is_no_compact_jws_is_malformed(document: str) -> None:
    assert (
        _refusal(verify_document(document, keys=_public(_key()), now=NOW, child=CHILD))
        is Refusal.MALFORMED
    )


def test_the_period_and_the_child_are_judged_at_now() -> None:
    key = _key()
    keys = _public(key)

    def judged(
        claims: ConsentDocument, now: datetime = NOW, child: str = CHILD
    ) -> ConsentDocument | Refusal:
        result = verify_document(sign_document(claims, key), keys=keys, now=now, child=child)
        return result.refusal if isinstance(result, Refused) else result

    ends = NOW + timedelta(days=10)
    assert isinstance(judged(_claims(valid_until=ends)), ConsentDocument)
    assert judged(_claims(valid_until=ends), now=ends) is Refusal.EXPIRED
    assert judged(_claims(valid_until=ends), now=ends + timedelta(days=1)) is Refusal.EXPIRED
    starts = NOW + timedelta(days=1)
    assert judged(_claims(valid_from=starts)) is Refusal.NOT_YET_VALID
    assert isinstance(judged(_claims(valid_from=starts), now=starts), ConsentDocument)
    # an issuer's clock a little ahead is tolerated, further is not
    assert isinstance(judged(_claims(now=NOW + LEEWAY)), ConsentDocument)
    ahead = _claims(now=NOW + LEEWAY + timedelta(seconds=1))
    assert judged(ahead) is Refusal.NOT_YET_VALID
    assert judged(_claims(), child=OTHER) is Refusal.OTHER_CHILD


def test_a_refusal_is_a_422_with_its_code_and_without_the_child() -> None:
    result = verify_document(
        sign_document(_claims(), key := _key()), keys=_public(key), now=NOW, child=OTHER
    )
    assert isinstance(result, Refused)
    error = result.error()
    assert isinstance(error, InvalidEntry)
    assert (error.status, error.code) == (422, "consent-document-other-child")
    assert CHILD not in error.message
    assert OTHER not in error.message


def test_claims_refuse_what_is_not_a_consent() -> None:
    base = json.loads(_claims().payload())
    changes: tuple[dict[str, Any], ...] = (
        {"sub": "3102164123"},  # no 31 February
        {"organisations": ["5790000010012"]},  # a wrong check digit
        {"sectors": [], "organisations": []},
        {"relation": "neighbour"},
        {"nbf": "2026-03-02T10:00:00Z"},  # a NumericDate is whole seconds
        {"exp": base["nbf"]},
        {"extra": 1},
        {"jti": "short"},
    )
    for change in changes:
        with pytest.raises(ValidationError) as raised:
            ConsentDocument.from_payload(json.dumps({**base, **change}).encode())
        assert "3102164123" not in str(raised.value.errors(include_input=False)), change


def test_a_key_set_gives_its_public_signing_keys_only() -> None:
    key, rsa_like = _key(), {"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}
    enc = _key().as_dict(private=False) | {"use": "enc", "kid": "e"}
    keys = parse_jwks(json.dumps({"keys": [rsa_like, enc, key.as_dict(private=False)]}).encode())
    assert [k.kid for k in keys] == [key.kid]
    for bad, why in (
        (b"[]", "not a JWKS"),
        (b"nonsense", "not JSON"),
        (json.dumps({"keys": [rsa_like]}).encode(), "no EC P-256"),
        (json.dumps({"keys": [key.as_dict(private=True)]}).encode(), "private key"),
        (b" " * 300_000, "larger"),
    ):
        with pytest.raises(JwksError, match=why):
            parse_jwks(bad)


# --- the hub's key holder ----------------------------------------------------------------


class Published:
    """The service's JWKS as the holder fetches it, and how often it was asked."""

    def __init__(self, *keys: ECKey) -> None:
        self.keys = list(keys)
        self.asked = 0
        self.down = False

    async def __call__(self) -> bytes:
        self.asked += 1
        if self.down:
            raise JwksError("no answer (ConnectionRefusedError)")
        return json.dumps({"keys": [k.as_dict(private=False) for k in self.keys]}).encode()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _holder(published: Published, clock: Clock) -> ConsentKeys:
    return ConsentKeys(
        published,
        where="test",
        clock=clock,
        refresh_every=timedelta(hours=1),
        cooldown=timedelta(seconds=30),
    )


async def test_the_holder_fetches_again_for_a_new_key_once_per_cooldown() -> None:
    first, second = _key(), _key()
    published, clock = Published(first), Clock()
    holder = _holder(published, clock)
    await holder.load()
    assert await holder.verify(sign_document(_claims(), first), child=CHILD)
    published.keys.append(second)
    with pytest.raises(InvalidEntry, match="kid is unknown"):
        await holder.verify(sign_document(_claims(), second), child=CHILD)
    assert published.asked == 1  # fetched at start-up, within the cooldown since
    clock.now += timedelta(seconds=30)
    assert await holder.verify(sign_document(_claims(), second), child=CHILD)
    assert published.asked == 2
    for _ in range(3):  # a made-up kid: no fetch within the cooldown
        with pytest.raises(InvalidEntry):
            await holder.verify(sign_document(_claims(), _key()), child=CHILD)
    assert published.asked == 2


async def test_the_holder_refreshes_old_keys_and_keeps_them_when_the_service_is_down() -> None:
    first = _key()
    published, clock = Published(first), Clock()
    holder = _holder(published, clock)
    await holder.load()
    published.down = True
    clock.now += timedelta(hours=1)
    assert await holder.verify(sign_document(_claims(), first), child=CHILD)  # kept
    assert published.asked == 2
    assert await holder.verify(sign_document(_claims(), first), child=CHILD)
    assert published.asked == 2  # a failed fetch is retried after the cooldown only
    # a new key while the service is down: the hub cannot tell, so it says to retry
    clock.now += timedelta(seconds=30)
    with pytest.raises(ConsentKeysUnavailable) as unavailable:
        await holder.verify(sign_document(_claims(), _key()), child=CHILD)
    assert unavailable.value.status == 503
    assert unavailable.value.retry_after == 30


async def test_the_holder_without_any_keys_says_to_come_back() -> None:
    published, clock = Published(_key()), Clock()
    published.down = True
    holder = _holder(published, clock)
    await holder.load()
    assert holder.key_ids == []
    with pytest.raises(ConsentKeysUnavailable):
        await holder.verify("a.b.c", child=CHILD)
    published.down = False
    clock.now += timedelta(seconds=30)
    with pytest.raises(InvalidEntry, match="not a compact JWS"):
        await holder.verify("a.b.c", child=CHILD)
    assert published.asked == 2


# --- the consent service's key directory --------------------------------------------------


def test_the_key_directory_rotates_with_an_overlap(tmp_path: Path) -> None:
    clock = Clock()
    store = KeyStore(tmp_path / "keys", clock=clock).open()
    first = str(store.signing_key().kid)
    assert (tmp_path / "keys" / "keys.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    second = store.rotate(timedelta(days=1))
    assert store.signing_key().kid == second
    assert [k["kid"] for k in store.jwks()["keys"]] == [second, first]
    assert all("d" not in k for k in store.jwks()["keys"])
    clock.now += timedelta(days=1)
    assert [k["kid"] for k in store.jwks()["keys"]] == [second]
    third = store.rotate(timedelta(0))
    assert [k["kid"] for k in store.jwks()["keys"]] == [third]
    # another process's rotation (the command line) is read at the next use
    other = KeyStore(tmp_path / "keys", clock=clock).open()
    fourth = other.rotate(timedelta(hours=1))
    assert store.signing_key().kid == fourth
    assert KeyStore(tmp_path / "keys").open().signing_key().kid == fourth  # kept on disk


def test_the_key_directory_refuses_a_key_file_others_may_read(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys").open()
    store.path.chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        KeyStore(tmp_path / "keys").open()
    store.path.chmod(0o600)
    store.path.write_text("{}", encoding="utf-8")
    with pytest.raises(KeyStoreError, match="not a key file"):
        KeyStore(tmp_path / "keys").open()
