"""What a client of the hub (or of the consent service) raises when it says no, or says
nothing::

    SamspilError
    └── HubError                         (hub-error) anything the hub said or did not say
        ├── HubUnavailable               no connection, a timeout, a 408, a 429 or a 5xx:
        │   │                            the same request may succeed later, unchanged
        │   └── HubAnswerUnreadable      a 2xx answer that is not what the API promises
        │                                (not JSON, not the shape): a proxy or a hub in
        │                                the middle of an upgrade; later it may be right
        └── HubRefused                   a 4xx: sending the same request again cannot help
            └── CredentialRefused        a 401, or a 403 that refuses the credential itself:
                                         nothing this token or certificate sends will do
    ConsentServiceError                  (consent-service-error) the consent service's
        │                                client (:mod:`wire.consent_service`)
        ├── ConsentServiceUnavailable    no answer, a 5xx: try again later
        └── ConsentServiceRefused        a 4xx (its problem ``code``)

Each carries the HTTP ``status`` (0 when there was no answer) and a machine-readable
``code``: the problem's own (``ukendt_lokationsnummer``, ``rate-limited``...) when the hub
sent ``application/problem+json``, else ``http-<status>``. A 429 or 503 says in
``retry_after`` how many seconds the hub asked the client to wait (None when it did not say).

A 403 with a code of its own (``no-active-case``, ``sender-mismatch``) is about the one
request, not about the credential: it is a plain :class:`HubRefused`, so that one letter the
hub will not take never stops everything else an adapter sends. A 403 ``forbidden`` (the
role may not do this) or a 403 without a problem code refuses the credential.

The transport's own errors (aiohttp's, ``OSError``) never leave :mod:`wire.client`. No error
here names the token or a CPR number, in its text, its ``repr`` or its chain of causes: the
request's path is given with the CPR number masked (``/v1/children/***/overview``).
"""

from __future__ import annotations

from messages.errors import SamspilError

__all__ = [
    "ConsentServiceError",
    "ConsentServiceRefused",
    "ConsentServiceUnavailable",
    "CredentialRefused",
    "HubAnswerUnreadable",
    "HubError",
    "HubRefused",
    "HubUnavailable",
]


class HubError(SamspilError):
    """Root of what the hub's client raises. ``status`` is the HTTP status (0: no answer)."""

    code = "hub-error"

    def __init__(self, message: str, *, status: int = 0, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status


class HubUnavailable(HubError):
    """No answer, a timeout, a 408, a 429 or a 5xx: the request may succeed later, unchanged.

    ``retry_after``: the seconds the hub asked for (``Retry-After``), when it said.
    """

    code = "hub-unavailable"

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class HubAnswerUnreadable(HubUnavailable):
    """A 2xx answer the client cannot read: not JSON, or not the object or list the API
    promises. ``status`` is the answer's; the body is never quoted."""

    code = "unreadable-answer"


class HubRefused(HubError):
    """A 4xx answer: sending the same request again cannot help.

    ``code`` is the problem's code (e.g. ``ukendt_lokationsnummer``) and ``detail`` the hub's
    sentence, fit to show a person; the message (``str(error)``) adds the request's method
    and path (a CPR number in it masked) for a log line.
    """

    code = "hub-refused"

    def __init__(
        self, message: str, *, status: int = 0, code: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.detail = detail if detail is not None else message


class CredentialRefused(HubRefused):
    """The hub refuses the token or certificate itself (401, or a 403 ``forbidden``): every
    request sent with it will be refused the same way until someone changes the credential."""

    code = "credential-refused"


class ConsentServiceError(SamspilError):
    """Root of what the consent service's client raises (``status`` 0: no answer)."""

    code = "consent-service-error"

    def __init__(self, message: str, *, status: int = 0, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status


class ConsentServiceUnavailable(ConsentServiceError):
    """No answer, or a 5xx: the same request may succeed later."""

    code = "consent-service-unavailable"


class ConsentServiceRefused(ConsentServiceError):
    """A 4xx: the service will not sign (or rotate) this; ``code`` is its problem code."""

    code = "consent-service-refused"
