"""Errors on ``/fhir/``: every problem+json answer becomes an ``OperationOutcome``.

The hub's errors are made once, as problem+json, by :mod:`coordinator.problems` (and the
authentication and limits middlewares before any FHIR route runs). This middleware sits
outside that one and, for a request under ``/fhir/``, rewrites such an answer as FHIR: the
same HTTP status and headers (``WWW-Authenticate``, ``Retry-After``, ``Allow``), the problem's
code in ``issue.details.coding`` and its detail as the text
(:func:`coordinator.fhir.mapping.operation_outcome`). So a FHIR client sees the ``/v1``
API's codes and statuses, and no error path is written twice.
"""

from __future__ import annotations

import json

from aiohttp import web
from pydantic_core import to_json

from coordinator.fhir.capability import FHIR_JSON
from coordinator.fhir.mapping import operation_outcome
from coordinator.problems import PROBLEM_CODE, PROBLEM_JSON, Handler

FHIR_PREFIX = "/fhir/"
_KEPT_HEADERS = ("WWW-Authenticate", "Retry-After", "Allow")


def fhir_response(resource: object, *, status: int = 200) -> web.Response:
    """A FHIR resource (JSON-ready: strings, numbers, lists, dicts) as
    ``application/fhir+json``, serialised by pydantic's core (a few times faster than
    :func:`json.dumps` for an overview's Bundle)."""
    return web.Response(
        body=to_json(resource), status=status, content_type=FHIR_JSON, charset="utf-8"
    )


def as_outcome(response: web.Response) -> web.Response:
    """A problem+json ``response`` as the same answer in ``OperationOutcome`` form."""
    try:
        problem = json.loads(response.body) if isinstance(response.body, bytes) else {}
    except ValueError:
        problem = {}
    code = str(problem.get("code") or response.get(PROBLEM_CODE) or "http-error")
    detail = str(problem.get("detail") or response.reason)
    converted = fhir_response(
        operation_outcome(response.status, code, detail), status=response.status
    )
    for name in _KEPT_HEADERS:
        if name in response.headers:
            converted.headers[name] = response.headers[name]
    converted[PROBLEM_CODE] = code  # for the metrics middleware
    return converted


@web.middleware
async def outcome_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if (
        request.path.startswith(FHIR_PREFIX)
        and isinstance(response, web.Response)
        and response.content_type == PROBLEM_JSON
    ):
        return as_outcome(response)
    return response
