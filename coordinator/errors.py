"""The hub's errors: a subtree of :class:`messages.errors.SamspilError`.

Each carries an HTTP ``status`` and a machine-readable ``code``; :mod:`coordinator.problems`
turns them into ``application/problem+json``::

    SamspilError
    └── CoordinatorError                 (500, hub-error)
        ├── ConfigError                  settings that cannot be used
        ├── Unauthorized                 (401) no or an unknown/disabled token
        ├── Forbidden                    (403) the token may not do this
        ├── NotFound                     (404) no such thing, or not the caller's
        ├── Expired                      (410) a letter that expired before the receiver
        │                                      acknowledged it (the sender got an XCTL01)
        ├── BadRequest                   (400) a malformed request (not a message problem)
        ├── PayloadTooLarge              (413) a body over the limit
        ├── TooManyRequests              (429) a limit was reached; ``retry_after`` seconds
        ├── UnknownReceiver              (422) receiver GLN not registered
        ├── Conflict                     (409) a request the current state refuses
        │   └── IllegalTransition        a message status change the state machine refuses
        ├── StoreError                   (503) the database could not be reached or used
        │                                      (``database-unavailable``, with Retry-After)
        └── OrganisationExists           (409) a GLN registered twice
"""

from __future__ import annotations

from messages.errors import RefuseCode, SamspilError


class CoordinatorError(SamspilError):
    """Root of the hub's errors."""

    status: int = 500
    code = "hub-error"


class ConfigError(CoordinatorError):
    """A setting that cannot be used."""

    code = "config"


class Unauthorized(CoordinatorError):
    status = 401
    code = "unauthorized"


class Forbidden(CoordinatorError):
    status = 403
    code = "forbidden"


class NotFound(CoordinatorError):
    status = 404
    code = "not-found"


class Expired(CoordinatorError):
    """A letter the receiver may no longer read: it expired unacknowledged, and its sender
    was told by an XCTL01 that it was not delivered."""

    status = 410
    code = "expired"


class BadRequest(CoordinatorError):
    status = 400
    code = "bad-request"


class PayloadTooLarge(CoordinatorError):
    status = 413
    code = "payload-too-large"


class TooManyRequests(CoordinatorError):
    """A limit was reached (``rate-limited``, ``too-many-long-polls``,
    ``too-many-failures``); the client may try again after ``retry_after`` seconds."""

    status = 429
    code = "rate-limited"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class UnknownReceiver(CoordinatorError):
    status = 422
    code = RefuseCode.UNKNOWN_LOCATION_NUMBER.value


class Conflict(CoordinatorError):
    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    """A status change the message state machine does not allow."""

    code = "illegal-transition"

    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"a message in status {current!r} cannot become {wanted!r}")
        self.current = current
        self.wanted = wanted


class StoreError(CoordinatorError):
    status = 503
    code = "database-unavailable"
    retry_after = 2


class OrganisationExists(Conflict):
    code = "organisation-exists"
