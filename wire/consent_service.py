"""The consent service's client: have a consent signed, read the published keys, rotate.

For the simulation's families and for tests (the hub itself only reads the JWKS, see
``coordinator.index.consent_keys``)::

    signed = await sign_consent(
        "http://127.0.0.1:8090",
        ConsentRequest(child_cpr=cpr, given_by_name="Mette Nielsen",
                       relation=ConsentRelation.CUSTODIAL_PARENT, sectors=[Sector.PPR]),
    )
    await hub.add_signed_consent(cpr, signed.document)

It travels on the same injectable transport as the hub's client (:mod:`wire.transport`) and
raises from :mod:`wire.errors` (:class:`~wire.errors.ConsentServiceUnavailable`,
:class:`~wire.errors.ConsentServiceRefused`). Nothing it logs or raises holds a CPR number,
a name or a document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wire.consent_document import ConsentRequest, SignedConsent
from wire.errors import ConsentServiceRefused, ConsentServiceUnavailable
from wire.tls import tls_context
from wire.transport import AiohttpTransport, Request, Response, Transport, TransportClient

__all__ = ["JWKS_PATH", "ConsentServiceClient", "sign_consent"]

JWKS_PATH = "/.well-known/jwks.json"


class ConsentServiceClient(TransportClient):
    """The consent service at ``base_url``; ``token``: its bearer token, when it needs one."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        ca_file: Path | str | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._transport: Transport = transport or AiohttpTransport(
            self.base_url, ssl_context=tls_context(ca_file, None, None), timeout=timeout
        )

    async def sign(self, consent: ConsentRequest) -> SignedConsent:
        """``POST /v1/consents``: the consent, signed."""
        body = consent.model_dump_json(exclude_none=True).encode()
        answer = await self._call("POST", "/v1/consents", body)
        return SignedConsent.model_validate_json(answer.body)

    async def jwks(self) -> dict[str, Any]:
        """``GET /.well-known/jwks.json``: the published public keys."""
        answer = await self._call("GET", JWKS_PATH)
        keys: dict[str, Any] = json.loads(answer.body)
        return keys

    async def rotate(self, *, overlap_seconds: float | None = None) -> dict[str, Any]:
        """``POST /admin/rotate``: a new signing key (``key_id``) and the kids published."""
        query = "" if overlap_seconds is None else f"?overlap={overlap_seconds:g}"
        answer = await self._call("POST", "/admin/rotate" + query)
        rotated: dict[str, Any] = json.loads(answer.body)
        return rotated

    async def _call(self, method: str, path: str, body: bytes | None = None) -> Response:
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            answer = await self._transport(Request(method, path, headers, body))
        except OSError as exc:
            raise ConsentServiceUnavailable(
                f"the consent service at {self.base_url} did not answer {method} {path}: "
                f"{type(exc.__cause__ or exc).__name__}"
            ) from exc
        if 200 <= answer.status < 300:
            return answer
        problem: Any = None
        if answer.content_type == "application/problem+json":
            try:
                problem = json.loads(answer.body)
            except ValueError:
                problem = None
        problem = problem if isinstance(problem, dict) else {}
        code = problem.get("code") if isinstance(problem.get("code"), str) else None
        detail = problem.get("detail") if isinstance(problem.get("detail"), str) else None
        sentence = f"{method} {path}: {answer.status} {detail or 'no detail'}"
        if answer.status >= 500:
            raise ConsentServiceUnavailable(sentence, status=answer.status, code=code)
        raise ConsentServiceRefused(
            sentence, status=answer.status, code=code or f"http-{answer.status}"
        )


async def sign_consent(
    base_url: str, consent: ConsentRequest, *, token: str | None = None
) -> SignedConsent:
    """Have ``consent`` signed by the consent service at ``base_url`` (one request, its own
    connection)."""
    async with ConsentServiceClient(base_url, token) as client:
        return await client.sign(consent)
