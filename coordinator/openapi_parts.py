"""What every part of ``/v1/openapi.json`` is written with: a reference to a generated
schema, a JSON answer, the problem answers, a JSON request body, a message's id in a path."""

from __future__ import annotations

from typing import Any

__all__ = ["AUTH_ERRORS", "PROBLEM", "UUID_ID", "json_answer", "json_body", "problems", "ref"]

PROBLEM = {"$ref": "#/components/responses/Problem"}
AUTH_ERRORS = (401, 403)
UUID_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def ref(name: str) -> dict[str, str]:
    """The generated schema of the wire model ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_answer(name: str, description: str) -> dict[str, Any]:
    """An answer whose body is the wire model ``name`` as JSON."""
    return {"description": description, "content": {"application/json": {"schema": ref(name)}}}


def json_body(name: str) -> dict[str, Any]:
    """A request body that is the wire model ``name`` as JSON."""
    return {"required": True, "content": {"application/json": {"schema": ref(name)}}}


def problems(*codes: int) -> dict[str, Any]:
    """The problem+json answers for the statuses ``codes``."""
    return {str(code): PROBLEM for code in codes}
