"""The consent service's HTTP API: a stand-in for Digitalt Samtykke.

=========================  ===================================================================
``GET /.well-known/jwks.json``  the public keys (JWKS) documents are signed with: the signing
                           key and retired keys still within their overlap
``POST /v1/consents``      sign a consent (body :class:`wire.consent_document.ConsentRequest`):
                           201 :class:`wire.consent_document.SignedConsent`
``POST /admin/rotate``     a new signing key; the old one stays published for the overlap
                           (``?overlap=SECONDS``, default the service's): 200 with the kids
``GET /healthz``           200 while it runs
=========================  ===================================================================

Errors are ``application/problem+json`` (:class:`wire.problem.Problem`) with a ``code``:
400 ``invalid-json``, 401 ``unauthorized``, 415 ``unsupported-media-type``, 422
``invalid-consent``. With a ``token`` the two ``POST`` routes need ``Authorization: Bearer
<token>``. The real service has the consenting person log in (MitID) before it signs; this
stand-in signs what it is sent, so it belongs on a loopback address or behind its token, in
development, tests and the simulation only. It logs no CPR number, name or document.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from samspil.consent_service.keys import Clock, KeyStore, KeyStoreError, utcnow
from samspil.consent_service.signing import claims_for, sign_document
from wire.consent_document import ConsentRequest, SignedConsent
from wire.entries import entry_problems
from wire.problem import Problem

__all__ = ["DEFAULT_OVERLAP", "JWKS_PATH", "KEYS", "create_service_app"]

log = logging.getLogger(__name__)

JWKS_PATH = "/.well-known/jwks.json"
DEFAULT_OVERLAP = timedelta(days=7)
MAX_BODY = 64 * 1024


class ServiceSettings(BaseModel):
    """What one running service was told."""

    issuer: str
    token: str | None = None
    overlap: timedelta = DEFAULT_OVERLAP


class Rotated(BaseModel):
    """``POST /admin/rotate``'s answer."""

    key_id: str
    published: list[str]


KEYS = web.AppKey("consent_keys", KeyStore)
SETTINGS = web.AppKey("consent_settings", ServiceSettings)
CLOCK: web.AppKey[Clock] = web.AppKey("consent_clock")

routes = web.RouteTableDef()


class _Refused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable consent",
    503: "Service unavailable",
}


def _problem(status: int, code: str, detail: str) -> web.Response:
    body = Problem(
        type=f"https://samspil.dk/problems/{code}",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
    )
    headers = {"WWW-Authenticate": 'Bearer realm="consent-service"'} if status == 401 else {}
    return web.Response(
        status=status,
        body=body.model_dump_json(exclude_none=True).encode(),
        content_type="application/problem+json",
        headers=headers,
    )


@web.middleware
async def _problems(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except _Refused as exc:
        return _problem(exc.status, exc.code, exc.detail)
    except KeyStoreError as exc:
        log.error("the consent service's keys cannot be used: %s", exc.message)
        return _problem(503, "keys-unavailable", "the service's keys cannot be used now")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _problem(exc.status, "http-error", exc.reason)


def _authorised(request: web.Request) -> None:
    token = request.app[SETTINGS].token
    if token is None:
        return
    given = request.headers.get("Authorization", "")
    bearer = given[len("Bearer ") :] if given.startswith("Bearer ") else ""
    if not hmac.compare_digest(bearer.encode(), token.encode()):
        raise _Refused(401, "unauthorized", "send the service's token: Authorization: Bearer ...")


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=model.model_dump_json().encode(), content_type="application/json"
    )


@routes.get(JWKS_PATH)
async def jwks(request: web.Request) -> web.Response:
    return web.json_response(
        request.app[KEYS].jwks(), headers={"Cache-Control": "public, max-age=300"}
    )


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.post("/v1/consents")
async def sign(request: web.Request) -> web.Response:
    _authorised(request)
    if request.content_type != "application/json":
        raise _Refused(415, "unsupported-media-type", "send Content-Type: application/json")
    try:
        data: Any = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise _Refused(400, "invalid-json", "the body is not JSON") from None
    app = request.app
    try:
        consent = ConsentRequest.model_validate(data)
        now = app[CLOCK]()
        claims = claims_for(consent, issuer=app[SETTINGS].issuer, now=now)
    except ValidationError as exc:
        raise _Refused(
            422, "invalid-consent", f"the consent cannot be signed: {entry_problems(exc)}"
        ) from None
    key = app[KEYS].signing_key()
    signed = SignedConsent(
        document_id=claims.document_id,
        document=sign_document(claims, key),
        key_id=str(key.kid),
        issued_at=claims.issued_at,
    )
    log.info("signed consent document %s with key %s", claims.document_id, key.kid)
    return _json(signed, status=201)


@routes.post("/admin/rotate")
async def rotate(request: web.Request) -> web.Response:
    _authorised(request)
    overlap = request.app[SETTINGS].overlap
    raw = request.query.get("overlap")
    if raw is not None:
        try:
            overlap = timedelta(seconds=float(raw))
        except (ValueError, OverflowError):
            raise _Refused(400, "invalid-overlap", "overlap is a number of seconds") from None
        if not timedelta(0) <= overlap <= timedelta(days=365):
            raise _Refused(400, "invalid-overlap", "overlap is 0 to 31536000 seconds")
    store = request.app[KEYS]
    kid = store.rotate(overlap)
    published = [str(k["kid"]) for k in store.jwks()["keys"]]
    log.info("consent service keys rotated: %s signs, published %s", kid, ", ".join(published))
    return _json(Rotated(key_id=kid, published=published))


def create_service_app(
    store: KeyStore,
    *,
    issuer: str,
    token: str | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    clock: Clock = utcnow,
) -> web.Application:
    """The consent service as an aiohttp application, signing with ``store``'s keys (opened
    by the caller) as ``issuer``; ``token``: the bearer token its POST routes need."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_problems])
    app[KEYS] = store
    app[SETTINGS] = ServiceSettings(issuer=issuer, token=token or None, overlap=overlap)
    app[CLOCK] = clock
    app.add_routes(routes)
    return app
