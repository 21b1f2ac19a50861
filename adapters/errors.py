"""The adapters' errors: a subtree of :class:`messages.errors.SamspilError`::

    SamspilError
    └── AdapterError                     (adapter-error)
        ├── AdapterConfigError           a configuration file that cannot be used
        ├── AdapterCredentialsRefused    the hub refuses the adapter's credential at start-up
        │                                (hub-credentials): the adapter does not start
        ├── ControlIdReused              an HL7 message whose sending facility used its
        │                                control id (MSH-10) before for other content
        │                                (control-id-reused): nothing of it is stored
        ├── EventError                   a municipal event line that cannot be used (its
        │                                code says why: invalid-json, missing-field...)
        └── OutboxError                  the adapter's SQLite file (its durable outbox) failed:
            │                            cannot be opened, written (outbox-unstorable), or is
            │                            from a newer adapter (outbox-schema-newer)
            └── OutboxFull               the outbox holds its configured maximum

What the hub says or does not say is :mod:`wire.errors`' (``HubError``: ``HubUnavailable``,
``HubRefused``, ``CredentialRefused``). aiohttp and sqlite3 errors never leave the module
that calls them. Every exception an adapter raises on purpose is defined here;
:meth:`adapters.base.Adapter.stop` logs a failed step by its ``code`` and type, never by its
message.
"""

from __future__ import annotations

from messages.errors import SamspilError

__all__ = [
    "AdapterConfigError",
    "AdapterCredentialsRefused",
    "AdapterError",
    "ControlIdReused",
    "EventError",
    "OutboxError",
    "OutboxFull",
]


class AdapterError(SamspilError):
    """Root of the adapters' errors."""

    code = "adapter-error"


class AdapterConfigError(AdapterError):
    """A configuration file or value that cannot be used."""

    code = "adapter-config"


class EventError(AdapterError):
    """One event line from a municipal case system that the adapter cannot use: the line is
    rejected (a reason file, a webhook answer) with ``code`` and the sentence, the others go
    on. The sentence names fields, never their values."""

    code = "invalid-event"


class OutboxError(AdapterError):
    """The adapter's SQLite file could not be opened or the durable outbox could not store
    an item."""

    code = "outbox-failed"


class OutboxFull(OutboxError):
    """The outbox already holds its configured maximum of unsent items."""

    code = "outbox-full"


class AdapterCredentialsRefused(AdapterError):
    """At start-up, the hub answered 401/403: the adapter's token or certificate is wrong.

    A direct child of :class:`AdapterError` (``hub-credentials``)."""

    code = "hub-credentials"


class ControlIdReused(AdapterError):
    """An HL7 message's sending facility and control id (``MSH-10``) were claimed before by
    a message with other content: nothing of this one is stored. The MLLP door answers it
    ``AE`` with this code (:mod:`adapters.hl7feed`).

    Raised by :meth:`adapters.outbox.Outbox.put_many`, whose transaction decides it: not an
    :class:`OutboxError`, since the database did its job."""

    code = "control-id-reused"
