"""The hub's HTTP door below the application: requests aiohttp cannot parse, and its log.

aiohttp answers a request it cannot parse (a control byte in the path or a header, a space in
the path, a line too long) itself, before any middleware runs: ``text/plain`` quoting the raw
line back, and an ``ERROR`` log record whose traceback quotes it again. That line may hold a
CPR number (``GET /v1/children/<cpr>\\x01/overview``) or a token (``Authorization: Bearer
<token>\\x01``), and the logs promise codes, ids and counts only. So:

* :class:`HubRunner` (what ``samspil serve`` runs) serves every connection with
  :class:`HubRequestHandler`, which answers such a request with a problem+json 400
  (``malformed-request``) like every other refusal, counts it in ``samspil_problems_total``
  and logs one line: the status, the code and the parser's exception type;
* :data:`HANDLER_ARGS`, which :func:`coordinator.app.create_app` gives the application, so that
  it holds under any runner: aiohttp's own error log goes through :class:`WithheldText`
  (an exception's type and frames, never its text), and there is no access log (its request
  line holds the CPR of every ``/v1/children/{cpr}/...`` call).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler

from coordinator.operations.metrics import METRICS
from coordinator.problems import problem

log = logging.getLogger(__name__)


def _withheld(exc: BaseException) -> str:
    """An exception as its type and frames: its text may quote what the client sent."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{type(exc).__name__} (its text withheld)\n{frames}".rstrip()


class WithheldText(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger, with an exception's text left out of every record."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        exc_info = kwargs.pop("exc_info", None)
        exc = sys.exc_info()[1] if exc_info is True else exc_info
        if isinstance(exc, tuple):
            exc = exc[1]
        if isinstance(exc, BaseException):
            text = str(msg) % args if args else str(msg)
            msg, args = "%s: %s", (text, _withheld(exc))
        super().log(level, msg, *args, **kwargs)


HANDLER_ARGS: dict[str, Any] = {
    "logger": WithheldText(logging.getLogger("aiohttp.server"), {}),
    "access_log": None,
}


def _malformed(exc: BaseException | None) -> str:
    if isinstance(exc, http_exceptions.LineTooLong):
        return "the request line or a header is longer than the hub reads"
    if isinstance(exc, http_exceptions.BadStatusLine | http_exceptions.InvalidURLError):
        return (
            "the request line is not HTTP/1.1: a control character or a space in the path, "
            "or an unknown method or version"
        )
    return (
        "the request is not valid HTTP/1.1: a header holds a control character or is "
        "malformed, or the body's length is unclear"
    )


class HubRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own errors as problem+json and counting
    them in ``problems`` (the application's ``samspil_problems_total``) when given."""

    problems: MutableMapping[str, int] | None = None

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The answer to a request the application never saw (unparseable: 400) or that
        escaped every middleware (500, 504); ``message`` quotes the request and is dropped."""
        if status < 500:
            code, detail = "malformed-request", _malformed(exc)
            log.info("refused a malformed request: %d %s (%s)", status, code, type(exc).__name__)
        elif status == 504:
            code, detail = "timeout", "the hub did not answer in time"
            log.warning("a request timed out: 504 %s", code)
        else:
            code, detail = "internal", "the hub could not handle the request; it was logged"
            reason = _withheld(exc) if exc is not None else "no exception"
            log.error("unhandled error outside the application: %d %s\n%s", status, code, reason)
        if request.writer.output_size > 0:
            raise ConnectionError("the response has begun; no problem can follow it")
        if self.problems is not None:
            self.problems[code] = self.problems.get(code, 0) + 1
        response = problem(status, code, detail)
        response.force_close()
        return response


class _HubServer(web.Server):
    problems: MutableMapping[str, int] | None = None

    def __call__(self) -> RequestHandler:
        handler = HubRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.problems = self.problems
        return handler


class HubRunner(web.AppRunner):
    """An :class:`aiohttp.web.AppRunner` whose connections are :class:`HubRequestHandler`."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()  # starts the application
        # the same server, but making HubRequestHandlers: the arguments the application
        # computed (its handler_args, debug, the access log class) are carried over
        hub_server = _HubServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
        if METRICS in self.app:
            hub_server.problems = self.app[METRICS].errors
        return hub_server
