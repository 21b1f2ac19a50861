"""JSON answers made from the wire models (``wire/``), the one way a route answers in JSON."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel


def json_response(
    model: BaseModel,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
    exclude_unset: bool = False,
) -> web.Response:
    """``model`` as ``application/json``: serialised by pydantic's core straight to bytes
    (routes build their models with ``model_construct`` from values of the right types)."""
    body = model.__pydantic_serializer__.to_json(
        model,
        exclude_defaults=exclude_defaults,
        exclude_none=exclude_none,
        exclude_unset=exclude_unset,
    )
    return web.Response(
        body=body,
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )
