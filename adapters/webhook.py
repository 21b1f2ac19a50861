"""The municipal case system's HTTP door: ``POST /events`` with JSON lines.

The case system may push its events instead of (or beside) writing files to the events
folder. The webhook is the folder's twin, not a second path for data: each line goes
through the same mapping (:meth:`~adapters.municipality.MunicipalityAdapter.take_lines`),
so a line that the folder would reject is rejected here with the same code.

Request::

    POST /events
    Authorization: Bearer <[webhook] token>
    Content-Type: application/x-ndjson        (or application/jsonl)

    {"id": "e1", "type": "case", ...}
    {"id": "e2", "type": "appointment", ...}

Answers (JSON; errors as ``application/problem+json`` with a ``code``):

* **202** — every line was judged and every accepted line is **committed** to the adapter's
  durable outbox: a 2xx means nothing is lost. The body lists each non-blank line::

      {"accepted": 1, "duplicates": 0, "rejected": 1,
       "lines": [{"line": 1, "id": "e1", "status": "accepted"},
                 {"line": 2, "status": "rejected", "code": "invalid-json", "detail": "..."}]}

  ``duplicate``: an event with this ``id`` was taken before (through the webhook or the
  folder); nothing new is sent, so posting a batch twice is harmless. A rejected line does
  not hold up the others.
* **400** ``no-events`` (only blank lines), **401** ``unauthorized`` (no or a wrong bearer
  secret; compared in constant time), **413** ``payload-too-large`` (over ``max_body``),
  **415** ``unsupported-media-type``, **503** ``outbox-full`` / ``outbox-failed`` with
  ``Retry-After`` — then nothing of the batch was stored; send it again.

With ``tls_cert`` (and ``tls_key``) the webhook serves HTTPS; without, plain HTTP, to be
bound to the case system's network only. No line, event id or secret is ever logged: only
counts, line numbers and codes.
"""

from __future__ import annotations

import codecs
import hmac
import json
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.config import WebhookConfig
from adapters.errors import AdapterError, OutboxError

__all__ = ["MEDIA_TYPES", "EventWebhook", "LineResult", "TakeLines"]

log = logging.getLogger(__name__)

MEDIA_TYPES = frozenset({"application/x-ndjson", "application/jsonl"})


@dataclass(frozen=True, slots=True)
class LineResult:
    """What became of one event line: ``accepted``, ``duplicate`` or ``rejected``."""

    line: int
    status: str
    event_id: str | None = None
    code: str | None = None
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.line, "status": self.status}
        if self.event_id is not None:
            data["id"] = self.event_id
        if self.code is not None:
            data["code"] = self.code
            data["detail"] = self.detail or ""
        return data


TakeLines = Callable[[Sequence[bytes | str], str], Awaitable[list[LineResult]]]
"""Judge the lines and store the good ones durably (one transaction); one result per
non-blank line. Raises OutboxError when nothing could be stored."""

Count = Callable[[int], None]


def _problem(status: int, code: str, detail: str, **headers: str) -> web.Response:
    body = {"type": f"https://samspil.dk/problems/{code}", "status": status, "code": code}
    body["detail"] = detail
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/problem+json",
        headers=headers,
    )


class EventWebhook:
    """Serves ``POST /events`` on ``config.host:config.port`` until :meth:`stop`."""

    def __init__(self, config: WebhookConfig, take: TakeLines, *, count: Count) -> None:
        self.config = config
        self._take = take
        self._count = count
        self._secret = config.token.encode()
        self._runner: web.AppRunner | None = None
        self.port = config.port

    def _tls(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(
                self.config.tls_cert, self.config.tls_key if self.config.tls_key else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise AdapterError(
                f"the events webhook cannot load its certificate: {type(exc).__name__}",
                code="webhook-tls",
            ) from None
        return context

    async def start(self) -> None:
        """Bind the port. Raises AdapterError (``webhook-bind``, ``webhook-tls``) when it
        cannot."""
        tls = self._tls()
        app = web.Application(client_max_size=self.config.max_body)
        app.router.add_post("/events", self._post)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.host, self.config.port, ssl_context=tls).start()
        except OSError as exc:
            await runner.cleanup()
            raise AdapterError(
                f"the events webhook cannot bind {self.config.host}:{self.config.port}: "
                f"{exc.strerror}",
                code="webhook-bind",
            ) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        scheme = "https" if tls is not None else "http"
        log.info("events webhook listening on %s://%s:%d", scheme, self.config.host, self.port)

    async def stop(self) -> None:
        """Stop accepting; requests in flight get up to 5 s to finish (their lines are stored
        and answered 202, or not stored at all)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self._secret)

    async def _post(self, request: web.Request) -> web.Response:
        response = await self._answer(request)
        self._count(response.status)
        return response

    async def _answer(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            log.warning("events webhook: refused a request without the shared secret")
            response = _problem(401, "unauthorized", "send the shared secret as a bearer token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="samspil-events"'
            return response
        if request.content_type not in MEDIA_TYPES:
            return _problem(
                415,
                "unsupported-media-type",
                "send JSON lines as Content-Type: application/x-ndjson or application/jsonl",
            )
        too_large = f"the body is over {self.config.max_body} bytes; send smaller batches"
        if (request.content_length or 0) > self.config.max_body:
            return _problem(413, "payload-too-large", too_large)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _problem(413, "payload-too-large", too_large)
        # a UTF-8 byte order mark before the first line, as the folder reads its files
        body = body.removeprefix(codecs.BOM_UTF8)
        lines: list[bytes | str] = [line.rstrip(b"\r") for line in body.split(b"\n")]
        if not any(line.strip() for line in lines):
            return _problem(400, "no-events", "the body holds no event lines")
        batch = uuid.uuid4().hex[:12]
        try:
            results = await self._take(lines, f"webhook:{batch}")
        except OutboxError as exc:
            log.error("events webhook: batch %s not stored: %s", batch, exc.code)
            return _problem(
                503, exc.code, f"the adapter cannot store events now: {exc}", **{"Retry-After": "5"}
            )
        tally = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for result in results:
            tally[result.status] += 1
        log.info(
            "events webhook: batch %s lines=%d accepted=%d duplicates=%d rejected=%d",
            batch,
            len(results),
            tally["accepted"],
            tally["duplicate"],
            tally["rejected"],
        )
        return web.json_response(
            {
                "accepted": tally["accepted"],
                "duplicates": tally["duplicate"],
                "rejected": tally["rejected"],
                "lines": [r.as_json() for r in results],
            },
            status=202,
        )
