"""What every authenticated operation of ``/v1/openapi.json`` can also answer, added in one
place: 429 (``rate-limited``, ``too-many-failures``, ``too-many-long-polls``) and 503
(``database-unavailable``), both with ``Retry-After``; 413 ``payload-too-large`` where an
operation takes a body; and mutual TLS as the alternative to a bearer token.
"""

from __future__ import annotations

from typing import Any

RETRY = {"$ref": "#/components/responses/Retry"}
METHODS = ("get", "put", "post", "delete", "patch")

RESPONSES = {
    "Retry": {
        "description": "Try again later (RFC 9457 problem): a limit was reached (429) or the "
        "database is unavailable (503).",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
}

SECURITY_SCHEMES = {
    "mutualTLS": {
        "type": "mutualTLS",
        "description": "A client certificate from the hub's client CA whose subject "
        "serialNumber or CN reads 'GLN:<13 digits>': that organisation's system credential.",
    }
}


def apply(document: dict[str, Any]) -> None:
    """Add the limits' answers to every operation that needs a credential."""
    components = document["components"]
    components["responses"].update(RESPONSES)
    components["securitySchemes"].update(SECURITY_SCHEMES)
    document["security"] = [{"bearer": []}, {"mutualTLS": []}]
    for item in document["paths"].values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None or operation.get("security") == []:
                continue
            responses = operation["responses"]
            responses["401"] = responses.get("401", {"$ref": "#/components/responses/Problem"})
            responses["429"] = RETRY
            responses["503"] = RETRY
            if "requestBody" in operation:
                responses.setdefault("413", {"$ref": "#/components/responses/Problem"})
