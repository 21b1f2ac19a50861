"""A small typed client for the hub endpoints the terminal UIs use (aiohttp, JSON).

The UIs talk to the hub only through this class: no ``coordinator`` import anywhere in
``tui/``. Every call either returns the hub's answer or raises one of::

    TuiError
    ├── HubUnavailable   no connection, a timeout or a 5xx: try again later (the UI shows a
    │                    banner and reconnects)
    └── HubRefused       a 4xx problem+json: ``status``, ``code`` and the hub's sentence

All requests go through :meth:`HubClient.call`, which tests replace to serve fixed answers.
No method logs a body, a CPR number or the token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.hubclient import tls_context
from messages.errors import SamspilError

Json = dict[str, Any]


class TuiError(SamspilError):
    """Root of the terminal UIs' errors."""

    code = "tui-error"


class HubUnavailable(TuiError):
    code = "hub-unavailable"


class HubRefused(TuiError):
    """The hub said no (a 4xx): its machine-readable code and its sentence."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail, code=code)
        self.status = status
        self.detail = detail


class HubClient:
    """One token's view of one hub. Owns its session (``await client.close()``)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        ca_file: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
    ) -> None:
        """``ca_file``: the CA of an https:// hub; ``client_cert``/``client_key``: a
        certificate to present when the hub asks for mutual TLS."""
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._ssl = tls_context(ca_file, client_cert, client_key)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never the token
        return f"HubClient({self.base_url!r})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Json | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One request: the parsed JSON answer (bytes for XML), or an error above."""
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True)
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        sent = {"Authorization": f"Bearer {self._token}", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/xml"
        try:
            async with self._session.request(
                method, self.base_url + path, json=json, data=body, headers=sent
            ) as response:
                raw = await response.read()
                kind = response.content_type
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise HubUnavailable(f"the hub cannot be reached ({type(exc).__name__})") from exc
        if status >= 500:
            raise HubUnavailable(f"the hub answered {status}")
        if status >= 400:
            problem: Json = {}
            if kind in ("application/problem+json", "application/json"):
                problem = _json(raw)
            raise HubRefused(
                status,
                str(problem.get("code", status)),
                str(problem.get("detail", f"the hub answered {status}")),
            )
        if kind in ("application/json", "application/problem+json"):
            return _json(raw)
        return raw

    # --- who and where -------------------------------------------------------------------

    async def healthz(self) -> bool:
        await self.call("GET", "/healthz")
        return True

    async def whoami(self) -> Json:
        result: Json = await self.call("GET", "/v1/whoami")
        return result

    async def organisations(self) -> list[Json]:
        return list((await self.call("GET", "/v1/organisations"))["organisations"])

    # --- mail ----------------------------------------------------------------------------

    async def inbox(self, limit: int = 200) -> list[Json]:
        """The organisation's inbox entries: ``id``, ``type``, ``sender``, ``received_at``,
        ``status``, and for threads ``letter_id``, ``episode_id``, ``in_reply_to`` (the letter
        a reply answers, or ``None``) and ``subject``."""
        return list((await self.call("GET", f"/v1/inbox?limit={limit}"))["messages"])

    async def outbox(self, limit: int = 200) -> list[Json]:
        return list((await self.call("GET", f"/v1/outbox?limit={limit}"))["messages"])

    async def fetch(self, message_id: str) -> bytes:
        data: bytes = await self.call("GET", f"/v1/messages/{_seg(message_id)}")
        return data

    async def ack(self, message_id: str) -> Json:
        result: Json = await self.call("POST", f"/v1/messages/{_seg(message_id)}/ack")
        return result

    async def status(self, message_id: str) -> Json:
        result: Json = await self.call("GET", f"/v1/messages/{_seg(message_id)}/status")
        return result

    async def submit(self, document: bytes) -> Json:
        result: Json = await self.call("POST", "/v1/messages", body=document)
        return result

    # --- the shared index ----------------------------------------------------------------

    async def overview(self, cpr: str) -> Json:
        result: Json = await self.call("GET", f"/v1/children/{_seg(cpr)}/overview")
        return result

    async def consents(self, cpr: str) -> list[Json]:
        return list((await self.call("GET", f"/v1/children/{_seg(cpr)}/consents"))["consents"])

    async def add_consent(self, cpr: str, consent: Json) -> Json:
        result: Json = await self.call("POST", f"/v1/children/{_seg(cpr)}/consents", json=consent)
        return result

    async def revoke_consent(self, cpr: str, consent_id: str) -> Json:
        result: Json = await self.call(
            "DELETE", f"/v1/children/{_seg(cpr)}/consents/{_seg(consent_id)}"
        )
        return result

    async def set_coordinator(self, cpr: str, coordinator: Json) -> Json:
        """Name the child's coordinator (tovholder): ``{"organisation": gln, "contact": {...}}``."""
        path = f"/v1/children/{_seg(cpr)}/coordinator"
        result: Json = await self.call("PUT", path, json=coordinator)
        return result

    async def access_log(self, cpr: str) -> list[Json]:
        return list((await self.call("GET", f"/v1/children/{_seg(cpr)}/access-log"))["entries"])

    async def access_notifications(self) -> list[Json]:
        return list((await self.call("GET", "/v1/access-notifications"))["notifications"])

    # --- operators -----------------------------------------------------------------------

    async def summary(self) -> Json:
        result: Json = await self.call("GET", "/v1/operator/summary")
        return result

    async def throughput(self, minutes: int = 60) -> Json:
        result: Json = await self.call("GET", f"/v1/operator/throughput?minutes={minutes}")
        return result

    async def health(self) -> Json:
        result: Json = await self.call("GET", "/v1/operator/health")
        return result

    async def operator_organisations(self) -> list[Json]:
        return list((await self.call("GET", "/v1/operator/organisations"))["organisations"])

    async def queue(self, gln: str, *, status: str | None = None) -> list[Json]:
        path = f"/v1/operator/organisations/{_seg(gln)}/queue"
        if status:
            path += f"?status={_seg(status)}"
        return list((await self.call("GET", path))["messages"])

    async def trail(self, message_id: str) -> Json:
        result: Json = await self.call("GET", f"/v1/operator/messages/{_seg(message_id)}")
        return result

    async def redeliver(self, message_id: str) -> Json:
        path = f"/v1/operator/messages/{_seg(message_id)}/redeliver"
        result: Json = await self.call("POST", path)
        return result

    async def status_report(self, message_id: str) -> Json:
        path = f"/v1/operator/messages/{_seg(message_id)}/status-report"
        result: Json = await self.call("POST", path)
        return result

    async def set_token(self, gln: str, *, disabled: bool) -> Json:
        action = "disable" if disabled else "enable"
        path = f"/v1/operator/organisations/{_seg(gln)}/{action}"
        result: Json = await self.call("POST", path)
        return result


def _seg(value: str) -> str:
    return quote(value, safe="")


def _json(raw: bytes) -> Json:
    import json

    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {"value": parsed}
