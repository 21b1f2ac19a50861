"""The adapters' errors: a subtree of :class:`messages.errors.SamspilError`::

    SamspilError
    └── AdapterError                     (adapter-error)
        ├── AdapterConfigError           a configuration file that cannot be used
        └── OutboxError                  the adapter's own durable outbox cannot take more
            └── OutboxFull               the outbox holds its configured maximum

What the hub says or does not say is :mod:`wire.errors`' (``HubError``: ``HubUnavailable``,
``HubRefused``, ``CredentialRefused``). aiohttp and sqlite3 errors never leave the module
that calls them.
"""

from __future__ import annotations

from messages.errors import SamspilError

__all__ = [
    "AdapterConfigError",
    "AdapterError",
    "OutboxError",
    "OutboxFull",
]


class AdapterError(SamspilError):
    """Root of the adapters' errors."""

    code = "adapter-error"


class AdapterConfigError(AdapterError):
    """A configuration file or value that cannot be used."""

    code = "adapter-config"


class OutboxError(AdapterError):
    """The durable outbox could not store an item."""

    code = "outbox-failed"


class OutboxFull(OutboxError):
    """The outbox already holds its configured maximum of unsent items."""

    code = "outbox-full"
