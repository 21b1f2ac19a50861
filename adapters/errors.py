"""The adapters' errors: a subtree of :class:`messages.errors.SamspilError`::

    SamspilError
    └── AdapterError                     (adapter-error)
        ├── AdapterConfigError           a configuration file that cannot be used
        ├── HubError                     anything the hub said or did not say
        │   ├── HubUnavailable           no answer, a 5xx or 429: retry later (transient)
        │   └── HubRefused               a 4xx problem+json: resending cannot help (permanent)
        └── OutboxError                  the adapter's own durable outbox cannot take more
            └── OutboxFull               the outbox holds its configured maximum

aiohttp and sqlite3 errors never leave the module that calls them.
"""

from __future__ import annotations

from messages.errors import SamspilError

__all__ = [
    "AdapterConfigError",
    "AdapterCredentialsRefused",
    "AdapterError",
    "HubError",
    "HubRefused",
    "HubUnavailable",
    "OutboxError",
    "OutboxFull",
]


class AdapterError(SamspilError):
    """Root of the adapters' errors."""

    code = "adapter-error"


class AdapterConfigError(AdapterError):
    """A configuration file or value that cannot be used."""

    code = "adapter-config"


class HubError(AdapterError):
    """The hub answered with an error, or not at all. ``status`` is the HTTP status (0: none)."""

    code = "hub-error"

    def __init__(self, message: str, *, status: int = 0, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status


class HubUnavailable(HubError):
    """No answer, a 5xx or a 429: the request may succeed later, unchanged."""

    code = "hub-unavailable"


class HubRefused(HubError):
    """A 4xx answer (``code`` is the problem's code, e.g. ``ukendt_lokationsnummer``):
    sending the same request again cannot help."""

    code = "hub-refused"


class OutboxError(AdapterError):
    """The durable outbox could not store an item."""

    code = "outbox-failed"


class OutboxFull(OutboxError):
    """The outbox already holds its configured maximum of unsent items."""

    code = "outbox-full"


class AdapterCredentialsRefused(AdapterError):
    """At start-up, the hub answered 401/403: the adapter's token or certificate is wrong.

    A direct child of :class:`AdapterError` (``hub-credentials``)."""

    code = "hub-credentials"
