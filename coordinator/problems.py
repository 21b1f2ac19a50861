"""``application/problem+json`` (RFC 9457) responses, and the middleware that makes them.

Every error a client sees has ``type``, ``title``, ``status``, ``detail`` and a
machine-readable ``code`` (a MedCom refuse code where one fits; ``line`` for a message error).
Never a traceback, and never a body, CPR number or token: the log gets the code, the route
and, for unexpected errors, the exception's type and traceback (which hold no request data).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable

from aiohttp import web

from coordinator.errors import CoordinatorError
from messages.errors import MessageError, SamspilError
from wire.problem import Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable message",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

PROBLEM_CODE = web.ResponseKey("problem_code", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int, code: str, detail: str, *, retry_after: int | None = None, line: int | None = None
) -> web.Response:
    """A problem+json response; 429 and 503 always carry ``Retry-After`` (seconds)."""
    body = Problem(
        type=f"https://samspil.dk/problems/{code}",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
        line=line,
    )
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="samspil"'
    if status in (429, 503):
        headers["Retry-After"] = str(retry_after or 1)
    response = web.Response(
        status=status,
        body=body.model_dump_json(exclude_none=True).encode(),
        content_type=PROBLEM_JSON,
        charset="utf-8",
        headers=headers,
    )
    response[PROBLEM_CODE] = code  # for the metrics middleware
    return response


def message_problem(exc: MessageError) -> web.Response:
    """400 for XML or FHIR that is not well-formed, 413 for a FHIR bundle over the size
    limit, 422 for a document MedCom's rules (or its profile's) refuse."""
    from messages.errors import FhirSyntaxError, XmlSyntaxError

    if isinstance(exc, FhirSyntaxError):
        status = 413 if exc.code == "fhir-too-large" else 400
    else:
        status = 400 if isinstance(exc, XmlSyntaxError) else 422
    return problem(status, exc.code, exc.message, line=exc.line)


def from_error(exc: SamspilError) -> web.Response:
    if isinstance(exc, MessageError):
        return message_problem(exc)
    if isinstance(exc, CoordinatorError):
        retry_after = getattr(exc, "retry_after", None)
        return problem(exc.status, exc.code, exc.message, retry_after=retry_after)
    return problem(422, exc.code, exc.message)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn our errors and aiohttp's HTTP errors into problem+json; hide the unexpected."""
    try:
        return await handler(request)
    except SamspilError as exc:
        response = from_error(exc)
        if response.status >= 500:
            log.warning(
                "%s %s -> %s %s", request.method, _route(request), response.status, exc.code
            )
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status, "http-error"
        )
        response = problem(exc.status, code, exc.reason)
        if "Allow" in exc.headers:  # RFC 9110: a 405 says which methods there are
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        # the type and the frames only: an exception's text may quote data (SQL parameters)
        log.error(
            "unexpected %s in %s %s\n%s",
            type(exc).__name__,
            request.method,
            _route(request),
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return problem(500, "internal", "the hub could not handle the request; it was logged")


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "(no route)"
