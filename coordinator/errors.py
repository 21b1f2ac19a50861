"""The hub's errors: a subtree of :class:`messages.errors.SamspilError`.

Each carries an HTTP ``status`` and a machine-readable ``code``; :mod:`coordinator.problems`
turns them into ``application/problem+json``::

    SamspilError
    └── CoordinatorError                 (500, hub-error)
        ├── ConfigError                  settings that cannot be used
        ├── BackupError                  a backup that could not be made (``code`` says why)
        ├── Unauthorized                 (401) no credential, or an unknown, disabled,
        │                                      expired or revoked token or certificate
        ├── Forbidden                    (403) the token may not do this
        │   └── NoActiveCase             no active case of the caller's for the child
        ├── NotFound                     (404) no such thing, or not the caller's
        ├── Expired                      (410) a letter that expired before the receiver
        │                                      acknowledged it (the sender got an XCTL01)
        ├── LetterRemoved                (410) a message the letter retention removed: only
        │                                      its identifiers are kept
        ├── BadRequest                   (400) a malformed request (not a message problem)
        ├── PayloadTooLarge              (413) a body over the limit
        ├── UnsupportedMediaType         (415) a body of a Content-Type the route does not take
        ├── TooManyRequests              (429) a limit was reached; ``retry_after`` seconds
        ├── UnknownReceiver              (422) receiver GLN not registered
        ├── NetworkReceiptRefused        (422) a network receipt (XCTL03) sent to the hub
        ├── InvalidOrganisation          (422) an organisation's field that cannot be used
        ├── InvalidEntry                 (422) an index entry's value that cannot be used
        ├── InvalidRevocation            (422) a certificate revocation's serial or reason
        ├── InvalidSearch                (422) a letter archive search that cannot be used
        ├── Conflict                     (409) a request the current state refuses
        │   ├── IllegalTransition        a message status change the state machine refuses
        │   ├── ResendLimit              a letter sent again more often than MedCom allows
        │   ├── AlreadyReceipted         a second positive receipt for one letter
        │   ├── OrganisationExists       a GLN registered twice
        │   ├── ConsumedElsewhere        a letter taken by the party that does not own
        │   │                            the mailbox (``letters-consumed-by-system|people``)
        │   └── CertificateAlreadyRevoked a certificate serial revoked twice
        ├── StoreError                   (503) the database could not be reached or used
        │                                      (``database-unavailable``, with Retry-After)
        └── ConsentKeysUnavailable       (503) the consent service's keys could not be fetched
                                               to check a signed consent (with Retry-After)

Database errors are translated where the database is called, with :func:`store_error`::

    except SQLAlchemyError as exc:
        raise store_error(exc, "the index") from exc
"""

from __future__ import annotations

from datetime import datetime

from messages.errors import RefuseCode, SamspilError


class CoordinatorError(SamspilError):
    """Root of the hub's errors."""

    status: int = 500
    code = "hub-error"


class ConfigError(CoordinatorError):
    """A setting that cannot be used."""

    code = "config"


class BackupError(CoordinatorError):
    """A backup that could not be made (``code`` says why)."""

    code = "backup-failed"


class Unauthorized(CoordinatorError):
    status = 401
    code = "unauthorized"


class Forbidden(CoordinatorError):
    status = 403
    code = "forbidden"


class NoActiveCase(Forbidden):
    """The caller's organisation has no active case for the child: no browsing, no search."""

    code = "no-active-case"

    def __init__(self) -> None:
        super().__init__(
            "your organisation has no active case for this child; register one first "
            "(PUT /v1/cases/{ref}) - Samspil shows a child only to those involved"
        )


class NotFound(CoordinatorError):
    status = 404
    code = "not-found"


class Expired(CoordinatorError):
    """A letter the receiver may no longer read: it expired unacknowledged, and its sender
    was told by an XCTL01 that it was not delivered."""

    status = 410
    code = "expired"


class LetterRemoved(CoordinatorError):
    """A message the letter retention removed after it was delivered, or after its sender
    had the XCTL01 saying it expired (:mod:`coordinator.mailbox.retention`): its body and
    history are gone, its identifiers kept. Said to its sender and receiver only."""

    status = 410
    code = "letter-removed"

    @classmethod
    def of(
        cls, *, kind: str, status: str, changed_at: datetime, removed_at: datetime
    ) -> LetterRemoved:
        """The error for a removed message: what became of it, and when (never content)."""
        changed, removed = f"{changed_at:%Y-%m-%d %H:%M} UTC", f"{removed_at:%Y-%m-%d}"
        if status == "expired":
            what = (
                f"this {kind} expired on {changed} before its receiver acknowledged it (its "
                f"sender had an XCTL01 saying it was not delivered)"
            )
        else:
            what = f"this {kind} was delivered (last status {status}, on {changed})"
        return cls(
            f"{what}, and was removed from the hub on {removed} after the retention period; "
            "only its identifiers are kept, so sending it again is answered as a duplicate "
            "and not delivered twice"
        )


class BadRequest(CoordinatorError):
    status = 400
    code = "bad-request"


class PayloadTooLarge(CoordinatorError):
    status = 413
    code = "payload-too-large"


class UnsupportedMediaType(CoordinatorError):
    status = 415
    code = "unsupported-media-type"


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


class NetworkReceiptRefused(CoordinatorError):
    status = 422
    code = "network-receipt-not-accepted"


class InvalidOrganisation(CoordinatorError):
    """A field of the organisation that cannot be used (``code`` names which)."""

    status = 422
    code = "invalid-organisation"


class InvalidEntry(CoordinatorError):
    """An entry the index refuses (a field's value, not the request's form)."""

    status = 422
    code = "invalid-entry"


class InvalidRevocation(CoordinatorError):
    """A certificate revocation's serial number or reason that cannot be used (``code``
    names which)."""

    status = 422
    code = "invalid-revocation"


class InvalidSearch(CoordinatorError):
    """A search of the letter archive that cannot be used (``code`` names which field)."""

    status = 422
    code = "invalid-search"


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


class ResendLimit(Conflict):
    """A letter sent again more often than MedCom allows."""

    code = "resend-limit"


class AlreadyReceipted(Conflict):
    """A positive receipt for a letter that already has one (one receipt per letter)."""

    code = "already-receipted"


class OrganisationExists(Conflict):
    code = "organisation-exists"


class ConsumedElsewhere(Conflict):
    """A consuming call (the receiver's fetch or acknowledgement, a lease, a system's inbox
    poll) from the party that does not own the organisation's mailbox: its people where its
    system consumes its letters (``letters-consumed-by-system``), or its system where its
    people do (``letters-consumed-by-people``)."""

    code = "letters-consumed-by-system"

    @classmethod
    def by(cls, owner: str) -> ConsumedElsewhere:
        if owner == "people":
            return cls(
                "your organisation's letters are taken in by its caseworkers in the Samspil "
                "app, not by its system; an operator can change who takes them in",
                code="letters-consumed-by-people",
            )
        return cls(
            "your organisation's letters are taken in by its case system; you can read them "
            "here, but only the system takes them out of the inbox",
            code="letters-consumed-by-system",
        )


class CertificateAlreadyRevoked(Conflict):
    """A certificate serial number that is revoked already (a revocation is for good)."""

    code = "certificate-already-revoked"


class StoreError(CoordinatorError):
    status = 503
    code = "database-unavailable"
    retry_after = 2


class ConsentKeysUnavailable(CoordinatorError):
    """No key of the consent service to check a signed consent with (its JWKS could not be
    fetched); the same request may succeed after ``retry_after`` seconds."""

    status = 503
    code = "consent-keys-unavailable"

    def __init__(self, message: str, *, retry_after: int = 30) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


def store_error(exc: Exception, what: str = "the message store") -> StoreError:
    """The :class:`StoreError` for a database error ``exc`` met while using ``what``; raise
    it ``from exc``. Names only the error's type: its text may quote parameters (a CPR)."""
    return StoreError(f"{what} is unavailable ({type(exc).__name__}); try again")
