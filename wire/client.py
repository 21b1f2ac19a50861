"""The one client of the hub's HTTP API, for the sector adapters and the terminal apps alike.

One :class:`HubClient` per credential: a bearer token (a system's or a person's), or a client
certificate for mutual TLS (``client_cert``, and ``client_key`` unless the PEM holds both;
the token may then be empty). It owns its transport (``async with HubClient(url, token) as
hub: ...`` or :meth:`HubClient.close`). Over HTTPS the hub's certificate is checked against
``ca_file`` (else the system's CAs).

Every request goes through :meth:`HubClient.call` and a transport
(:mod:`wire.transport`: aiohttp for real, :class:`~wire.transport.MockTransport` in tests).
Every method either returns the hub's answer or raises from :mod:`wire.errors`:

* :class:`~wire.errors.HubUnavailable` — no connection, a timeout, a 408, a 429 or a 5xx
  (``retry_after`` when the hub said how long to wait): the same request may succeed later;
  :class:`~wire.errors.HubAnswerUnreadable` when a 2xx answer is not the JSON promised;
* :class:`~wire.errors.HubRefused` — any other 4xx: ``status``, ``code`` (the problem's
  machine-readable code, ``http-<status>`` without one) and ``detail`` (the hub's sentence);
  :class:`~wire.errors.CredentialRefused` when it is the credential that is refused.

Each endpoint reads its answer in one private ``_decode`` step, so that typed wire models
can take the place of today's dictionaries one endpoint at a time. No method logs a body,
a CPR number or the token, and no error names a CPR number (``/v1/children/***/...``) or
carries the token, in its text, ``repr`` or causes.

A person's token may expire while an app runs: :meth:`HubClient.use_token` puts the new one in
its place.
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from wire.errors import CredentialRefused, HubAnswerUnreadable, HubRefused, HubUnavailable
from wire.tls import tls_context
from wire.transport import (
    AiohttpTransport,
    NoAnswer,
    Request,
    Response,
    Transport,
    TransportClient,
    safe_path,
)

__all__ = ["JSON", "PROBLEM_JSON", "XML", "HubClient", "Json", "usable_token"]

XML = "application/xml"
FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"

Json = dict[str, Any]


def usable_token(token: str) -> bool:
    """Whether ``token`` can travel in an ``Authorization`` header: printable ASCII without
    spaces (no line break that could start a header of its own)."""
    return bool(token) and token.isascii() and token.isprintable() and " " not in token


class HubClient(TransportClient):
    """The hub's ``/v1`` API for one credential."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        connections: int = 32,
        on_behalf_of: str | None = None,
        ca_file: Path | str | None = None,
        client_cert: Path | str | None = None,
        client_key: Path | str | None = None,
        transport: Transport | None = None,
    ) -> None:
        """``on_behalf_of``: the person a system token acts for (``X-On-Behalf-Of``) on every
        request; ``transport``: how requests travel (default: aiohttp to ``base_url``)."""
        self.base_url = base_url.rstrip("/")
        self._headers: dict[str, str] = {}
        self.use_token(token)
        if on_behalf_of:
            self._headers["X-On-Behalf-Of"] = on_behalf_of
        self._timeout = timeout
        self._transport: Transport = transport or AiohttpTransport(
            self.base_url,
            ssl_context=tls_context(ca_file, client_cert, client_key),
            connections=connections,
            timeout=timeout,
        )

    def use_token(self, token: str) -> None:
        """Send ``token`` from the next request on (empty: none, a client certificate alone).

        Raises ValueError, naming no part of it, for a token no HTTP header can carry
        (a line break, a control character, a character beyond ASCII).
        """
        if not token:
            self._headers.pop("Authorization", None)
            return
        if not usable_token(token):
            raise ValueError("a token is printable ASCII without spaces")
        self._headers["Authorization"] = f"Bearer {token}"

    # --- the one place that talks HTTP -----------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        json: Any = None,
        seconds: float | None = None,
        on_behalf_of: str | None = None,
        idempotency_key: str | None = None,
        access_reason: str | None = None,
    ) -> tuple[int, Any, bytes]:
        """One request: ``(status, parsed JSON or None, raw body)`` for a 2xx answer.

        ``json``: a payload to send as ``application/json`` (instead of ``body`` and
        ``content_type``); ``seconds``: how long this exchange may take (a long-poll's wait
        and then some). Raises as the module docstring says.
        """
        headers = dict(self._headers)
        if json is not None:
            body, content_type = jsonlib.dumps(json).encode(), JSON
        if content_type:
            headers["Content-Type"] = content_type
        if on_behalf_of:
            headers["X-On-Behalf-Of"] = on_behalf_of
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if access_reason:
            headers["X-Access-Reason"] = access_reason
        request = Request(method, path, headers, body, seconds)
        try:
            answer = await self._transport(request)
        except OSError as exc:  # TimeoutError and ConnectionError are OSErrors
            reason = exc.kind if isinstance(exc, NoAnswer) else type(exc.__cause__ or exc).__name__
            raise HubUnavailable(
                f"the hub at {self.base_url} did not answer {method} {safe_path(path)}: {reason}"
            ) from exc
        parsed = _parsed(answer)
        if 200 <= answer.status < 300:
            return answer.status, parsed, answer.body
        raise _error(method, path, answer, parsed)

    async def _get(self, path: str, **options: Any) -> _Answer:
        status, parsed, _ = await self.call("GET", path, **options)
        return _Answer("GET", path, status, parsed)

    async def _send(self, method: str, path: str, payload: Any = None) -> _Answer:
        status, parsed, _ = await self.call(method, path, json=payload)
        return _Answer(method, path, status, parsed)

    # --- who and where ---------------------------------------------------------------------

    async def healthz(self) -> bool:
        """``GET /healthz``: True when the hub answers; HubUnavailable when it does not."""
        await self.call("GET", "/healthz")
        return True

    async def whoami(self) -> Json:
        """``GET /v1/whoami``: the credential's person (or system), role and organisation."""
        return _decode_object(await self._get("/v1/whoami"))

    async def organisations(self) -> list[Json]:
        """``GET /v1/organisations``: the directory of organisations on the hub."""
        return _decode_list(await self._get("/v1/organisations"), "organisations")

    # --- messages --------------------------------------------------------------------------

    async def submit(self, document: bytes, *, content_type: str = XML) -> Json:
        """``POST /v1/messages`` with an OIOXML ``Emessage`` (or, with ``content_type``
        :data:`FHIR_JSON` or :data:`FHIR_XML`, a MedCom FHIR bundle): ``id`` and ``status``
        (202 new; 200 with ``duplicate`` for one the hub holds already, ``resend`` for a
        resending)."""
        status, parsed, _ = await self.call(
            "POST", "/v1/messages", body=document, content_type=content_type
        )
        return _decode_submitted(_Answer("POST", "/v1/messages", status, parsed))

    async def inbox(self, limit: int = 200, *, wait: float = 0) -> list[Json]:
        """``GET /v1/inbox``: the organisation's waiting messages (``id``, ``type``,
        ``sender``, ``received_at``, ``size``, ``status``, and for threads ``letter_id``,
        ``episode_id``, ``in_reply_to`` and ``subject``); a long-poll of up to ``wait``
        seconds for a first one when ``wait`` is above 0."""
        if wait > 0:
            path = f"/v1/inbox?wait={wait:g}&limit={limit}"
            answer = await self._get(path, seconds=wait + self._timeout)
        else:
            answer = await self._get(f"/v1/inbox?limit={limit}")
        return _decode_list(answer, "messages")

    async def fetch(self, message_id: str) -> bytes:
        """``GET /v1/messages/{id}``: the message byte for byte, in the organisation's format
        (the inbox entry's ``format``: OIOXML, or FHIR as the hub converted it; a receiver
        gets 410 ``expired`` for a letter that expired before it was acknowledged)."""
        _, _, raw = await self.call("GET", f"/v1/messages/{_seg(message_id)}")
        return raw

    async def ack(self, message_id: str) -> Json:
        """``POST /v1/messages/{id}/ack`` (idempotent): the message's new ``status``."""
        return _decode_object(await self._send("POST", f"/v1/messages/{_seg(message_id)}/ack"))

    async def status(self, message_id: str) -> Json:
        """``GET /v1/messages/{id}/status``: where a sent message is."""
        return _decode_object(await self._get(f"/v1/messages/{_seg(message_id)}/status"))

    async def outbox(self, limit: int = 200, *, status: str | None = None) -> list[Json]:
        """``GET /v1/outbox``: the organisation's sent messages and where they are."""
        query = f"?limit={limit}" + (f"&status={_seg(status)}" if status else "")
        return _decode_list(await self._get("/v1/outbox" + query), "messages")

    async def search_letters(self, **asked: Any) -> Json:
        """``POST /v1/letters/search``: a page of the organisation's letters, incoming and
        sent, newest first (``letters``, ``next``), and ``letters_consumed_by``. ``asked``:
        ``child`` (a CPR number: in the body, never in a URL), ``senders``, ``subject``,
        ``direction``, ``before`` (the previous page's ``next``), ``limit``."""
        return _decode_object(await self._send("POST", "/v1/letters/search", asked))

    # --- the shared index ------------------------------------------------------------------

    async def put_case(self, ref: str, case: Json) -> Json:
        """``PUT /v1/cases/{ref}``: upsert one of the organisation's own cases."""
        return _decode_object(await self._send("PUT", f"/v1/cases/{_seg(ref)}", case))

    async def put_appointment(self, ref: str, appointment: Json) -> Json:
        """``PUT /v1/appointments/{ref}``: upsert one of the organisation's appointments."""
        path = f"/v1/appointments/{_seg(ref)}"
        return _decode_object(await self._send("PUT", path, appointment))

    async def overview(self, cpr: str, *, on_behalf_of: str | None = None) -> Json:
        """``GET /v1/children/{cpr}/overview`` (403 ``no-active-case`` without an own case).

        A system token must name the person who looks (``X-On-Behalf-Of``): every
        disclosure is logged with who looked.
        """
        path = f"/v1/children/{_seg(cpr)}/overview"
        return _decode_object(await self._get(path, on_behalf_of=on_behalf_of))

    async def fhir_overview(self, cpr: str, *, on_behalf_of: str | None = None) -> Json:
        """``GET /fhir/r4/Patient/$overview``: the overview as a FHIR R4 ``searchset``
        Bundle (the same rule and the same logged disclosure as :meth:`overview`)."""
        path = f"/fhir/r4/Patient/$overview?identifier=urn:oid:1.2.208.176.1.2|{_seg(cpr)}"
        status, _, raw = await self.call("GET", path, on_behalf_of=on_behalf_of)
        try:
            found = jsonlib.loads(raw)
        except (ValueError, RecursionError):
            found = None
        if not isinstance(found, dict):
            raise HubAnswerUnreadable(
                f"GET {safe_path(path)} answered {status} without a FHIR Bundle", status=status
            )
        return found

    async def my_children(self, *, limit: int = 50, offset: int = 0) -> Json:
        """``GET /v1/children``: a page of the organisation's own children (``children``,
        ``total``, ``offset``), the most recent activity first."""
        return _decode_object(await self._get(f"/v1/children?limit={limit}&offset={offset}"))

    async def partner_events(self, since: str = "0", *, limit: int = 100) -> Json:
        """``GET /v1/partner-events``: a page of other organisations' changes about the
        organisation's own children after the cursor ``since`` (``events``, ``cursor``,
        ``more``); the hub logs the page before it answers."""
        since = since if since.isdigit() else "0"
        return _decode_object(await self._get(f"/v1/partner-events?since={since}&limit={limit}"))

    async def consents(self, cpr: str) -> list[Json]:
        """``GET /v1/children/{cpr}/consents``."""
        return _decode_list(await self._get(f"/v1/children/{_seg(cpr)}/consents"), "consents")

    async def add_consent(self, cpr: str, consent: Json) -> Json:
        """``POST /v1/children/{cpr}/consents``."""
        path = f"/v1/children/{_seg(cpr)}/consents"
        return _decode_object(await self._send("POST", path, consent))

    async def add_signed_consent(
        self, cpr: str, document: str, *, idempotency_key: str | None = None
    ) -> Json:
        """``POST /v1/children/{cpr}/consents`` with a consent document signed by the consent
        service (``{"document": ...}``): recorded as verified."""
        path = f"/v1/children/{_seg(cpr)}/consents"
        _, parsed, _ = await self.call(
            "POST", path, json={"document": document}, idempotency_key=idempotency_key
        )
        return _decode_object(parsed)

    async def revoke_consent(self, cpr: str, consent_id: str) -> Json:
        """``DELETE /v1/children/{cpr}/consents/{id}``: takes effect at once."""
        path = f"/v1/children/{_seg(cpr)}/consents/{_seg(consent_id)}"
        return _decode_object(await self._send("DELETE", path))

    async def dispute_consent(self, cpr: str, consent_id: str, reason: str) -> Json:
        """``POST /v1/children/{cpr}/consents/{id}/dispute``: the organisation disputes an
        attested consent that covers its data; from the next call it opens nothing of it."""
        path = f"/v1/children/{_seg(cpr)}/consents/{_seg(consent_id)}/dispute"
        return _decode_object(await self._send("POST", path, {"reason": reason}))

    async def set_coordinator(self, cpr: str, coordinator: Json) -> Json:
        """``PUT /v1/children/{cpr}/coordinator``: name the child's coordinator (tovholder),
        ``{"organisation": gln, "contact": {...}}``."""
        path = f"/v1/children/{_seg(cpr)}/coordinator"
        return _decode_object(await self._send("PUT", path, coordinator))

    async def access_log(self, cpr: str, *, reason: str | None = None) -> list[Json]:
        """``GET /v1/children/{cpr}/access-log``: who looked at the child's data. An operator
        states ``reason`` (``X-Access-Reason``, e.g. the family's request reference)."""
        path = f"/v1/children/{_seg(cpr)}/access-log"
        return _decode_list(await self._get(path, access_reason=reason), "entries")

    async def access_notifications(self, *, limit: int | None = None) -> list[Json]:
        """``GET /v1/access-notifications``, newest first (the hub's default number, or
        ``limit``: 1-1000)."""
        query = f"?limit={limit}" if limit is not None else ""
        return _decode_list(await self._get("/v1/access-notifications" + query), "notifications")

    # --- operators -------------------------------------------------------------------------

    async def summary(self) -> Json:
        """``GET /v1/operator/summary``."""
        return _decode_object(await self._get("/v1/operator/summary"))

    async def throughput(self, minutes: int = 60) -> Json:
        """``GET /v1/operator/throughput``."""
        return _decode_object(await self._get(f"/v1/operator/throughput?minutes={minutes}"))

    async def health(self) -> Json:
        """``GET /v1/operator/health``."""
        return _decode_object(await self._get("/v1/operator/health"))

    async def operator_organisations(self) -> list[Json]:
        """``GET /v1/operator/organisations``: the partners, their queues and last polls."""
        return _decode_list(await self._get("/v1/operator/organisations"), "organisations")

    async def queue(self, gln: str, *, status: str | None = None) -> list[Json]:
        """``GET /v1/operator/organisations/{gln}/queue``."""
        path = f"/v1/operator/organisations/{_seg(gln)}/queue"
        if status:
            path += f"?status={_seg(status)}"
        return _decode_list(await self._get(path), "messages")

    async def trail(self, message_id: str) -> Json:
        """``GET /v1/operator/messages/{id}``: a message's journey."""
        return _decode_object(await self._get(f"/v1/operator/messages/{_seg(message_id)}"))

    async def redeliver(self, message_id: str) -> Json:
        """``POST /v1/operator/messages/{id}/redeliver``."""
        path = f"/v1/operator/messages/{_seg(message_id)}/redeliver"
        return _decode_object(await self._send("POST", path))

    async def status_report(self, message_id: str) -> Json:
        """``POST /v1/operator/messages/{id}/status-report``."""
        path = f"/v1/operator/messages/{_seg(message_id)}/status-report"
        return _decode_object(await self._send("POST", path))

    async def set_token(self, gln: str, *, disabled: bool) -> Json:
        """``POST /v1/operator/organisations/{gln}/disable`` (or ``/enable``)."""
        action = "disable" if disabled else "enable"
        path = f"/v1/operator/organisations/{_seg(gln)}/{action}"
        return _decode_object(await self._send("POST", path))

    async def set_letters_consumer(self, gln: str, owner: str) -> Json:
        """``POST /v1/operator/organisations/{gln}/letters-consumed-by``: who takes the
        organisation's letters in (``system`` or ``people``), audited."""
        path = f"/v1/operator/organisations/{_seg(gln)}/letters-consumed-by"
        return _decode_object(await self._send("POST", path, {"letters_consumed_by": owner}))

    async def set_format(self, gln: str, fmt: str) -> Json:
        """``PUT /v1/operator/organisations/{gln}/format``: the letter format the
        organisation receives (``oioxml`` or ``fhir``), audited."""
        path = f"/v1/operator/organisations/{_seg(gln)}/format"
        return _decode_object(await self._send("PUT", path, {"format": fmt}))

    async def revoke_certificate(self, gln: str, serial: str, reason: str | None = None) -> Json:
        """``POST /v1/operator/organisations/{gln}/revoked-certificates``: one client
        certificate of ``gln`` refused from now on (``serial`` in hexadecimal)."""
        path = f"/v1/operator/organisations/{_seg(gln)}/revoked-certificates"
        payload: Json = {"serial": serial}
        if reason:
            payload["reason"] = reason
        return _decode_object(await self._send("POST", path, payload))

    async def revoked_certificates(self, gln: str) -> list[Json]:
        """``GET /v1/operator/organisations/{gln}/revoked-certificates``, newest first."""
        path = f"/v1/operator/organisations/{_seg(gln)}/revoked-certificates"
        return _decode_list(await self._get(path), "certificates")


# --- reading answers -------------------------------------------------------------------------


def _parsed(answer: Response) -> Any:
    """The JSON in an answer that says it holds JSON; None otherwise (or when it does not)."""
    if answer.content_type not in (JSON, PROBLEM_JSON) or not answer.body:
        return None
    try:
        return jsonlib.loads(answer.body)
    except (ValueError, RecursionError):  # not JSON, or nested past what Python can read
        return None


class _Answer(NamedTuple):
    """A 2xx answer and the request it answers, for the ``_decode`` steps."""

    method: str
    path: str
    status: int
    parsed: Any

    def unreadable(self, what: str) -> HubAnswerUnreadable:
        return HubAnswerUnreadable(
            f"{self.method} {safe_path(self.path)}: {self.status} but {what}",
            status=self.status,
        )


def _decode_object(answer: _Answer) -> Json:
    """An answer that is one JSON object (HubAnswerUnreadable for anything else)."""
    if not isinstance(answer.parsed, dict):
        raise answer.unreadable("not a JSON object")
    return answer.parsed


def _decode_list(answer: _Answer, key: str) -> list[Json]:
    """The list of objects under ``key`` of an answer (``{"messages": [...]}``)."""
    items = _decode_object(answer).get(key)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise answer.unreadable(f"no list of objects under {key!r}")
    return items


def _decode_submitted(answer: _Answer) -> Json:
    """``POST /v1/messages``: ``id`` and ``status``, ``duplicate`` and ``resend`` as booleans."""
    submitted = _decode_object(answer)
    return {
        **submitted,
        "duplicate": bool(submitted.get("duplicate")),
        "resend": bool(submitted.get("resend")),
    }


def _error(method: str, path: str, answer: Response, parsed: Any) -> HubUnavailable | HubRefused:
    """The error for a non-2xx answer (see :mod:`wire.errors`)."""
    status = answer.status
    problem = parsed if isinstance(parsed, dict) else {}
    code = problem.get("code") if isinstance(problem.get("code"), str) else None
    detail = problem.get("detail") if isinstance(problem.get("detail"), str) else None
    sentence = f"{method} {safe_path(path)}: {status} {detail or 'no detail'}"
    if status >= 500 or status in (408, 429):
        return HubUnavailable(
            sentence, status=status, code=code, retry_after=_seconds(answer.header("retry-after"))
        )
    detail = detail or f"the hub answered {status}"
    if status == 401 or (status == 403 and code in (None, "forbidden")):
        return CredentialRefused(sentence, status=status, code=code, detail=detail)
    return HubRefused(sentence, status=status, code=code or f"http-{status}", detail=detail)


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the hub sends a number; a date or nonsense is None)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < float("inf") else None


def _seg(value: str) -> str:
    """One path segment, quoted (a ``/`` in a reference cannot reach another path)."""
    return quote(value, safe="")
