"""Verified consents: documents signed by the consent service (the stand-in, really running on
its own port) are checked by a real hub against the service's published keys, recorded as
verified and listed as such; every refusal has its own code and records nothing; a key
rotation at the running service reaches the running hub without a restart. SQLite and
PostgreSQL, real HTTP. The hub's clock is turned forward instead of waiting for its key
refresh or its cooldown."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select

from coordinator.index.tables import CONSENT
from coordinator.sqltypes import utcnow
from coordinator.state import CONSENT_KEYS, ENGINE
from coordinator.tables import Sector
from samspil.consent_service.keys import KeyStore
from samspil.consent_service.server import RunningService, running_service
from samspil.consent_service.signing import claims_for, sign_document
from tests.commands import samspil
from tests.functional.conftest import FAMILY_GLN, GP_GLN, PPR_GLN, Client, Hub, MakeHub
from tests.functional.index_samples import PERSON, call, case, consent, cpr_aged, ok
from wire.consent_document import ConsentRequest
from wire.consent_service import ConsentServiceClient, sign_consent
from wire.errors import ConsentServiceRefused
from wire.index import ConsentRelation

COOLDOWN = timedelta(minutes=10)  # far longer than a test runs: only turning the clock passes it
REFRESH = timedelta(hours=1)
DAY = timedelta(days=1)
SERVICE_TOKEN = "consent-service-test-token"  # noqa: S105 - a test's own token


class TurnedClock:
    """The hub's now, turned forward by the test."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.ahead

    def turn(self, by: timedelta) -> None:
        self.ahead += by


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[RunningService]:
    async with running_service(tmp_path / "consent-service") as running:
        yield running


async def _hub(make_hub: MakeHub, jwks: str, clock: TurnedClock | None = None) -> Hub:
    return await make_hub(
        clock=clock or TurnedClock(),
        consent_jwks=jwks,
        consent_jwks_refresh=REFRESH,
        consent_jwks_cooldown=COOLDOWN,
    )


def _request(cpr: str, **changes: Any) -> ConsentRequest:
    body: dict[str, Any] = {
        "child_cpr": cpr,
        "given_by_name": "Mette Nielsen",
        "relation": "custodial-parent",
        "sectors": ["ppr", "family"],
    }
    body.update(changes)
    return ConsentRequest.model_validate(body)


async def _signed(service: RunningService, cpr: str, **changes: Any) -> str:
    """A document signed by the running service over HTTP."""
    return (await sign_consent(service.url, _request(cpr, **changes))).document


async def _post(
    client: Client, cpr: str, document: Any, *, key: str | None = None
) -> tuple[int, Any]:
    headers = {"X-On-Behalf-Of": PERSON, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    status, parsed, _ = await client.request(
        "POST",
        f"/v1/children/{cpr}/consents",
        body=json.dumps({"document": document}).encode(),
        headers=headers,
    )
    return status, parsed


async def _consents(client: Client, cpr: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = (await ok(client, "GET", f"/v1/children/{cpr}/consents"))[
        "consents"
    ]
    return listed


async def _involved(hub: Hub, cpr: str) -> tuple[Client, Client]:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    family = await hub.org(FAMILY_GLN, Sector.FAMILY, "Familieafdelingen")
    await ok(ppr, "PUT", "/v1/cases/P1", case(cpr))
    await ok(family, "PUT", "/v1/cases/F1", case(cpr, kind="family-support"))
    return ppr, family


async def test_a_signed_consent_is_recorded_and_listed_as_verified(
    make_hub: MakeHub, service: RunningService
) -> None:
    hub = await _hub(make_hub, service.jwks_url)
    child = cpr_aged(9)
    ppr, family = await _involved(hub, child)
    seen = (await call(ppr, "GET", f"/v1/children/{child}/overview"))[1]
    assert seen["consent"]["sectors"]["family"] == "no-consent"

    signed = await sign_consent(
        service.url,
        _request(child, given_by_name="Søren Madsen", organisations=[GP_GLN, FAMILY_GLN]),
    )
    status, recorded = await _post(ppr, child, signed.document)
    assert status == 201, recorded
    assert recorded["created"] is True
    await ok(ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr"]))  # attested

    verified, attested = sorted(await _consents(ppr, child), key=lambda c: c["verification"])[::-1]
    assert verified["id"] == recorded["id"]
    assert verified["verification"] == "verified"
    assert verified["given_by_name"] == "Søren Madsen"  # the document's, not the caller's
    assert verified["relation"] == "custodial-parent"
    assert verified["form"] == "digital"
    assert sorted(verified["sectors"]) == ["family", "ppr"]
    assert verified["organisations"] == sorted([GP_GLN, FAMILY_GLN])
    assert verified["recorded_by_you"] is True
    assert verified["active"] is True
    assert attested["verification"] == "attested"
    assert attested["organisations"] == []

    async with hub.app[ENGINE].connect() as conn:  # the document itself is kept
        row = (
            await conn.execute(
                select(CONSENT.c.document_id, CONSENT.c.document, CONSENT.c.recorded_by).where(
                    CONSENT.c.id == uuid.UUID(verified["id"])
                )
            )
        ).one()
    assert (row.document_id, row.document) == (signed.document_id, signed.document)
    assert row.recorded_by == PERSON

    # it opens the sectors it names, like any consent
    seen = (await call(ppr, "GET", f"/v1/children/{child}/overview"))[1]
    assert seen["consent"]["sectors"]["family"] == "shared"
    assert [c["organisation"] for c in seen["others"]["cases"]] == [FAMILY_GLN]
    # the family department lists the consent that names it (the verified one), not PPR's
    # attested consent for PPR alone
    listed = await _consents(family, child)
    assert [c["verification"] for c in listed] == ["verified"]

    # a document may name organisations only: stored and shown, no sector opened by it
    named = await _signed(service, child, sectors=[], organisations=[GP_GLN])
    assert (await _post(family, child, named))[0] == 201
    newest = (await _consents(family, child))[0]
    assert (newest["sectors"], newest["organisations"]) == ([], [GP_GLN])
    seen = (await call(family, "GET", f"/v1/children/{child}/overview"))[1]
    assert seen["consent"]["sectors"]["gp"] == "no-consent"


async def test_every_refusal_has_its_own_code_and_records_nothing(
    make_hub: MakeHub, service: RunningService
) -> None:
    hub = await _hub(make_hub, service.jwks_url)
    child, other_child = cpr_aged(9), cpr_aged(10)
    ppr, family = await _involved(hub, child)
    now = datetime.now(UTC)
    good = await _signed(service, child)
    stranger = ECKey.generate_key("P-256", auto_kid=True)
    impostor = ECKey.generate_key("P-256", parameters={"kid": str(service.store.signing_key().kid)})
    forged_claims = claims_for(_request(child), issuer="urn:forger", now=now)
    header, payload, signature = good.split(".")
    other_payload = (await _signed(service, child, sectors=["ppr", "psychiatry"])).split(".")[1]

    refusals: list[tuple[Any, int, str]] = [
        ("not a document", 422, "consent-document-malformed"),
        ("e30.e30.AAAA", 422, "consent-document-malformed"),
        (f"{header}.{payload}", 422, "consent-document-malformed"),
        (sign_document(forged_claims, stranger), 422, "consent-document-unknown-key"),
        (sign_document(forged_claims, impostor), 422, "consent-document-bad-signature"),
        (f"{header}.{other_payload}.{signature}", 422, "consent-document-bad-signature"),
        (
            await _signed(
                service,
                child,
                valid_from=now - timedelta(days=30),
                valid_until=now - timedelta(days=1),
            ),
            422,
            "consent-document-expired",
        ),
        (
            await _signed(service, child, valid_from=now + timedelta(days=2)),
            422,
            "consent-document-not-yet-valid",
        ),
        (await _signed(service, other_child), 422, "consent-document-other-child"),
        (await _signed(service, child, relation="self"), 422, "consent-not-valid-for-age"),
        (5, 422, "invalid-entry"),
        ("x" * 16_385, 422, "invalid-entry"),
    ]
    for document, want_status, want_code in refusals:
        status, problem = await _post(ppr, child, document)
        assert (status, problem["code"]) == (want_status, want_code), (want_code, problem)
        assert child not in problem["detail"]
        if isinstance(document, str) and len(document) > 40:
            assert document not in problem["detail"]
    assert await _consents(ppr, child) == []

    # a document beside the fields of an attested consent is neither
    status, problem = await call(
        ppr, "POST", f"/v1/children/{child}/consents", {"document": good, **consent(["ppr"])}
    )
    assert (status, problem["code"]) == (422, "invalid-entry")
    assert await _consents(ppr, child) == []

    # recorded once; the same organisation's retry under its Idempotency-Key gets the first
    # answer, any other second use of the document is refused
    first = await _post(ppr, child, good, key="consent-1")
    assert first[0] == 201
    retry = await _post(ppr, child, good, key="consent-1")
    assert (retry[0], retry[1]["id"], retry[1]["created"]) == (200, first[1]["id"], False)
    for client, key in ((ppr, None), (ppr, "consent-2"), (family, "consent-1")):
        status, problem = await _post(client, child, good, key=key)
        assert (status, problem["code"]) == (409, "consent-document-reused"), key
    assert [c["id"] for c in await _consents(ppr, child)] == [first[1]["id"]]

    # the caller still needs an active case of its own, as for any consent
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset")
    status, problem = await _post(gp, child, await _signed(service, child))
    assert (status, problem["code"]) == (403, "no-active-case")
    assert len(await _consents(ppr, child)) == 1


async def test_a_hub_without_the_services_keys_takes_attested_consents_only(
    hub: Hub, service: RunningService
) -> None:
    child = cpr_aged(16)
    ppr, _ = await _involved(hub, child)
    status, problem = await _post(ppr, child, await _signed(service, child))
    assert (status, problem["code"]) == (422, "consent-service-not-configured")
    assert "SAMSPIL_CONSENT_JWKS" in problem["detail"]
    assert await _consents(ppr, child) == []
    await ok(ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr"], relation="self"))
    assert [c["verification"] for c in await _consents(ppr, child)] == ["attested"]


async def test_a_key_rotation_at_the_running_service_reaches_the_running_hub(
    make_hub: MakeHub, service: RunningService
) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, service.jwks_url, clock)
    keys = hub.app[CONSENT_KEYS]
    assert keys is not None
    child = cpr_aged(12)
    ppr, _ = await _involved(hub, child)
    first_kid = str(service.store.signing_key().kid)
    assert keys.key_ids == [first_kid]  # fetched at start-up
    fetched = keys.fetches
    assert (await _post(ppr, child, await _signed(service, child)))[0] == 201
    signed_before = await _signed(service, child)  # by the first key, presented later

    async with ConsentServiceClient(service.url) as admin:
        rotated = await admin.rotate()
        new_kid = rotated["key_id"]
        assert rotated["published"] == [new_kid, first_kid]  # the old key stays, for a while
        signed_after = await _signed(service, child)

        # the new key is unknown until the hub may fetch again: not before the cooldown
        status, problem = await _post(ppr, child, signed_after)
        assert (status, problem["code"]) == (422, "consent-document-unknown-key")
        assert keys.fetches == fetched
        clock.turn(COOLDOWN)
        status, recorded = await _post(ppr, child, signed_after)
        assert status == 201, recorded
        assert keys.fetches == fetched + 1
        assert sorted(keys.key_ids) == sorted([new_kid, first_kid])
        # the old key verifies through the overlap
        assert (await _post(ppr, child, signed_before))[0] == 201

        # made-up key ids cannot make the hub hammer the service: one fetch per cooldown
        for _ in range(5):
            stranger = ECKey.generate_key("P-256", auto_kid=True)
            made_up = sign_document(claims_for(_request(child), issuer="x", now=clock()), stranger)
            status, problem = await _post(ppr, child, made_up)
            assert (status, problem["code"]) == (422, "consent-document-unknown-key")
        assert keys.fetches == fetched + 1
        clock.turn(COOLDOWN)
        assert (await _post(ppr, child, made_up))[1]["code"] == "consent-document-unknown-key"
        assert keys.fetches == fetched + 2

        # a key the service withdraws (a rotation without overlap) stops counting once the
        # hub's keys are older than the refresh interval
        withdrawn = await _signed(service, child)  # by the second key
        await admin.rotate(overlap_seconds=0)
        assert new_kid not in [k["kid"] for k in (await admin.jwks())["keys"]]
    clock.turn(REFRESH)
    status, problem = await _post(ppr, child, withdrawn)
    assert (status, problem["code"]) == (422, "consent-document-unknown-key")
    assert keys.fetches == fetched + 3
    assert new_kid not in keys.key_ids
    assert len(await _consents(ppr, child)) == 3


async def test_keys_from_a_file_and_a_rotation_on_the_command_line(
    make_hub: MakeHub, tmp_path: Path
) -> None:
    keys_dir = tmp_path / "consent-keys"
    store = KeyStore(keys_dir).open()
    jwks = tmp_path / "jwks.json"
    jwks.write_text("not yet a key set", encoding="utf-8")
    clock = TurnedClock()
    hub = await _hub(make_hub, str(jwks), clock)
    child = cpr_aged(15)
    ppr, _ = await _involved(hub, child)

    def signed(request: ConsentRequest) -> str:  # the service's own functions, no HTTP
        claims = claims_for(request, issuer="urn:test", now=clock())
        return sign_document(claims, store.signing_key())

    # no usable keys yet: the request may be sent again later
    status, problem = await _post(ppr, child, signed(_request(child)))
    assert (status, problem["code"]) == (503, "consent-keys-unavailable")
    jwks.write_text(json.dumps(store.jwks()), encoding="utf-8")
    clock.turn(COOLDOWN)
    assert (await _post(ppr, child, signed(_request(child))))[0] == 201

    # `samspil consent-service rotate` on the key directory; the file is published again
    done = samspil("consent-service", "rotate", "--keys-dir", str(keys_dir))
    assert done.returncode == 0, done.stderr
    assert "new signing key" in done.stdout
    assert str(store.signing_key().kid) in done.stdout  # the store reads the rotated file again
    jwks.write_text(json.dumps(store.jwks()), encoding="utf-8")
    clock.turn(REFRESH)
    status, recorded = await _post(ppr, child, signed(_request(child, relation="self")))
    assert status == 201, recorded
    listed = await _consents(ppr, child)
    assert [c["relation"] for c in listed] == ["self", "custodial-parent"]
    assert {c["verification"] for c in listed} == {"verified"}


async def test_the_service_refuses_what_it_cannot_sign_and_keeps_its_keys_private(
    tmp_path: Path,
) -> None:
    keys_dir = tmp_path / "keys"
    async with running_service(keys_dir, token=SERVICE_TOKEN) as service:
        async with ConsentServiceClient(service.url) as anonymous:
            with pytest.raises(ConsentServiceRefused) as refused:
                await anonymous.sign(_request(cpr_aged(9)))
            assert (refused.value.status, refused.value.code) == (401, "unauthorized")
            assert len((await anonymous.jwks())["keys"]) == 1  # the keys are public
        async with ConsentServiceClient(service.url, SERVICE_TOKEN) as client:
            with pytest.raises(ConsentServiceRefused) as refused:
                await client.sign(
                    _request(
                        cpr_aged(9),
                        valid_from=datetime.now(UTC),
                        valid_until=datetime.now(UTC) - timedelta(days=1),
                    )
                )
            assert (refused.value.status, refused.value.code) == (422, "invalid-consent")
            signed = await client.sign(
                _request(cpr_aged(9), relation=ConsentRelation.GUARDIAN.value)
            )
            assert signed.document.count(".") == 2
    key_file = keys_dir / "keys.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert keys_dir.stat().st_mode & 0o777 == 0o700
    assert '"d"' in key_file.read_text(encoding="utf-8")  # private keys, for the owner only
