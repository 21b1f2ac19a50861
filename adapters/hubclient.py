"""A small async client for the hub's HTTP API (aiohttp), as an adapter uses it.

One :class:`HubClient` per organisation token; it owns its ``aiohttp.ClientSession`` (use it
as ``async with HubClient(url, token) as hub: ...`` or call :meth:`HubClient.close`).

Over HTTPS the hub's certificate is checked against ``ca_file`` (else the system's CAs).
With ``client_cert`` (and ``client_key`` unless the PEM holds both) the client presents a
certificate for mutual TLS; its subject names the organisation (``GLN:<13 digits>``) and
the token may then be empty.

Every method either returns the hub's answer or raises:

* :class:`~adapters.errors.HubUnavailable` — no connection, a timeout, a 5xx or a 429: the
  same request may succeed later (the outbox retries it);
* :class:`~adapters.errors.HubRefused` — a 4xx ``application/problem+json``: ``code`` is the
  problem's machine-readable code (``ukendt_lokationsnummer``, ``syntaksfejl``,
  ``no-active-case``...), ``status`` the HTTP status. Sending it again cannot help.

The message API is issue 3's (``/v1/messages``, ``/v1/inbox``...); the index API issue 4's
(``/v1/cases``, ``/v1/appointments``, ``/v1/children/{cpr}/...``). No method logs a body,
a CPR number or the token.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.errors import HubRefused, HubUnavailable

__all__ = ["HubClient", "InboxEntry", "Submitted"]

XML = "application/xml"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Submitted:
    """The hub's answer to ``POST /v1/messages``: 202 new, 200 a duplicate of an earlier one."""

    id: str
    status: str
    duplicate: bool = False
    resend: bool = False


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One message waiting in the organisation's inbox (``GET /v1/inbox``)."""

    id: str
    type: str
    sender: str
    received_at: str
    size: int
    suggested_case: bool = False


class HubClient:
    """The hub's ``/v1`` API for one organisation (its system token)."""

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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._ssl = tls_context(ca_file, client_cert, client_key)
        if on_behalf_of:
            self._headers["X-On-Behalf-Of"] = on_behalf_of
        self._timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never the token
        return f"HubClient({self.base_url!r})"

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections, ssl=self._ssl if self._ssl is not None else True
                ),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- the one place that talks HTTP -----------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        seconds: float | None = None,
        on_behalf_of: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[int, Any, bytes]:
        """One request: ``(status, parsed JSON or None, raw body)`` for a 2xx answer.

        Raises HubUnavailable or HubRefused as the module docstring says.
        """
        headers = dict(self._headers)
        if content_type:
            headers["Content-Type"] = content_type
        if on_behalf_of:
            headers["X-On-Behalf-Of"] = on_behalf_of
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        extra: dict[str, Any] = {}
        if seconds is not None:
            extra["timeout"] = aiohttp.ClientTimeout(total=seconds)
        try:
            async with self.session.request(
                method, self.base_url + path, data=body, headers=headers, **extra
            ) as response:
                raw = await response.read()
                status = response.status
                kind = response.content_type
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise HubUnavailable(
                f"the hub at {self.base_url} did not answer {method} {_safe(path)}: "
                f"{type(exc).__name__}"
            ) from exc
        parsed: Any = None
        if kind in (JSON, "application/problem+json") and raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        if 200 <= status < 300:
            return status, parsed, raw
        code = parsed.get("code") if isinstance(parsed, dict) else None
        detail = parsed.get("detail") if isinstance(parsed, dict) else None
        sentence = f"{method} {_safe(path)}: {status} {detail or 'no detail'}"
        if status >= 500 or status in (408, 429):
            raise HubUnavailable(sentence, status=status, code=code)
        raise HubRefused(sentence, status=status, code=code or f"http-{status}")

    async def _json(self, method: str, path: str, payload: Any = None) -> Any:
        body = json.dumps(payload).encode() if payload is not None else None
        _, parsed, _ = await self.call(method, path, body=body, content_type=JSON if body else None)
        return parsed

    # --- messages (issue 3) ----------------------------------------------------------------

    async def send_message(self, body: bytes) -> Submitted:
        """``POST /v1/messages`` with an OIOXML ``Emessage``."""
        _, parsed, _ = await self.call("POST", "/v1/messages", body=body, content_type=XML)
        return Submitted(
            id=parsed["id"],
            status=parsed["status"],
            duplicate=bool(parsed.get("duplicate")),
            resend=bool(parsed.get("resend")),
        )

    async def inbox(self, *, wait: float = 0, limit: int = 100) -> list[InboxEntry]:
        """``GET /v1/inbox``: waits up to ``wait`` seconds for a first message."""
        _, parsed, _ = await self.call(
            "GET", f"/v1/inbox?wait={wait:g}&limit={limit}", seconds=wait + self._timeout
        )
        return [
            InboxEntry(
                id=m["id"],
                type=m["type"],
                sender=m["sender"],
                received_at=m["received_at"],
                size=int(m.get("size", 0)),
                suggested_case=bool(m.get("suggested_case", False)),
            )
            for m in parsed["messages"]
        ]

    async def fetch(self, message_id: str) -> bytes:
        """``GET /v1/messages/{id}``: the stored XML, byte for byte."""
        _, _, raw = await self.call("GET", f"/v1/messages/{message_id}")
        return raw

    async def ack(self, message_id: str) -> str:
        """``POST /v1/messages/{id}/ack`` (idempotent); the message's new status."""
        parsed = await self._json("POST", f"/v1/messages/{message_id}/ack")
        return str(parsed["status"])

    async def status(self, message_id: str) -> dict[str, Any]:
        """``GET /v1/messages/{id}/status``."""
        result: dict[str, Any] = await self._json("GET", f"/v1/messages/{message_id}/status")
        return result

    async def outbox(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """``GET /v1/outbox``: the organisation's sent messages and where they are."""
        query = f"?limit={limit}" + (f"&status={status}" if status else "")
        parsed = await self._json("GET", "/v1/outbox" + query)
        result: list[dict[str, Any]] = parsed["messages"]
        return result

    async def healthy(self) -> bool:
        """``GET /healthz`` answered: the hub is reachable."""
        try:
            await self.call("GET", "/healthz", seconds=2.0)
        except (HubUnavailable, HubRefused):
            return False
        return True

    # --- the index (issue 4) ---------------------------------------------------------------

    async def put_case(self, ref: str, case: dict[str, Any]) -> dict[str, Any]:
        """``PUT /v1/cases/{ref}``: upsert one of the organisation's own cases."""
        result: dict[str, Any] = await self._json("PUT", f"/v1/cases/{_ref(ref)}", case)
        return result

    async def put_appointment(self, ref: str, appointment: dict[str, Any]) -> dict[str, Any]:
        """``PUT /v1/appointments/{ref}``: upsert one of the organisation's appointments."""
        path = f"/v1/appointments/{_ref(ref)}"
        result: dict[str, Any] = await self._json("PUT", path, appointment)
        return result

    async def overview(self, cpr: str, *, on_behalf_of: str | None = None) -> dict[str, Any]:
        """``GET /v1/children/{cpr}/overview`` (403 ``no-active-case`` without an own case).

        A system token must name the person who looks (``X-On-Behalf-Of``): every
        disclosure is logged with who looked.
        """
        _, parsed, _ = await self.call(
            "GET", f"/v1/children/{cpr}/overview", on_behalf_of=on_behalf_of
        )
        result: dict[str, Any] = parsed
        return result

    async def add_consent(self, cpr: str, consent: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/children/{cpr}/consents``."""
        result: dict[str, Any] = await self._json("POST", f"/v1/children/{cpr}/consents", consent)
        return result

    async def consents(self, cpr: str) -> list[dict[str, Any]]:
        """``GET /v1/children/{cpr}/consents``."""
        parsed = await self._json("GET", f"/v1/children/{cpr}/consents")
        result: list[dict[str, Any]] = parsed["consents"] if isinstance(parsed, dict) else parsed
        return result

    async def revoke_consent(self, cpr: str, consent_id: str) -> None:
        """``DELETE /v1/children/{cpr}/consents/{id}``: takes effect at once."""
        await self.call("DELETE", f"/v1/children/{cpr}/consents/{consent_id}")

    async def set_coordinator(self, cpr: str, coordinator: dict[str, Any]) -> dict[str, Any]:
        """``PUT /v1/children/{cpr}/coordinator``."""
        path = f"/v1/children/{cpr}/coordinator"
        result: dict[str, Any] = await self._json("PUT", path, coordinator)
        return result


def tls_context(
    ca_file: Path | str | None, client_cert: Path | str | None, client_key: Path | str | None
) -> ssl.SSLContext | None:
    """A TLS context trusting ``ca_file`` and presenting ``client_cert``; None for defaults."""
    if ca_file is None and client_cert is None:
        return None
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if client_cert is not None:
        context.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
    return context


def _ref(ref: str) -> str:
    return quote(ref, safe="")


def _safe(path: str) -> str:
    """A path fit for a log line or an error: CPR numbers in ``/v1/children/...`` masked."""
    if path.startswith("/v1/children/"):
        rest = path[len("/v1/children/") :]
        tail = rest.split("/", 1)[1] if "/" in rest else ""
        return f"/v1/children/***/{tail}"
    return path
