"""The consent service's signing keys, kept in a key directory.

The directory (mode 0700) holds ``keys.json`` (mode 0600): every key still published, each
an EC P-256 private JWK (its ``kid`` is the RFC 7638 thumbprint) with when it was made and,
once a newer key took its place, until when it is still published. It is created with a
first key on the first start. The newest key signs; the JWKS
(``GET /.well-known/jwks.json``) publishes the public halves of the signing key and of every
retired key still within its overlap, so documents signed just before a rotation keep
verifying at hubs that have not fetched the keys since.

:meth:`KeyStore.rotate` (``samspil consent-service rotate``, or ``POST /admin/rotate`` on the
running service) makes a new signing key and retires the old one for ``overlap``; keys past
their overlap are dropped then. The file is replaced atomically under a lock (``keys.lock``),
and a running service reads it again when it changed, so a rotation from the command line
reaches it without a restart. The file is refused when others may read it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from messages.errors import SamspilError
from wire.consent_document import ALGORITHM

__all__ = ["KEYS_FILE", "Clock", "KeyStore", "KeyStoreError", "StoredKey", "utcnow"]

KEYS_FILE = "keys.json"
LOCK_FILE = "keys.lock"
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Now, tz-aware UTC (the service's default clock)."""
    return datetime.now(UTC)


class KeyStoreError(SamspilError):
    """The key directory cannot be used (the sentence says why and what to do)."""

    code = "consent-keys"


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One signing key: the private JWK, when it was made, and (once retired) until when its
    public half is still published."""

    key: ECKey
    created_at: datetime
    publish_until: datetime | None = None

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def as_json(self) -> dict[str, Any]:
        return {
            "jwk": self.key.as_dict(private=True),
            "created_at": self.created_at.isoformat(),
            "publish_until": self.publish_until.isoformat() if self.publish_until else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredKey:
        key = ECKey.import_key(data["jwk"])
        if not key.is_private or key.kid is None:
            raise KeyStoreError("a stored key is not a private key with a kid")
        until = data.get("publish_until")
        return cls(
            key,
            datetime.fromisoformat(data["created_at"]),
            datetime.fromisoformat(until) if until else None,
        )


def new_key(now: datetime) -> StoredKey:
    """A fresh P-256 signing key; its kid is its RFC 7638 thumbprint."""
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": ALGORITHM}, auto_kid=True)
    return StoredKey(key, now)


class KeyStore:
    """The key directory ``directory``; times by ``clock`` (UTC)."""

    def __init__(self, directory: Path, *, clock: Clock = utcnow) -> None:
        self.directory = directory
        self._clock = clock
        self._keys: list[StoredKey] = []
        self._seen: tuple[int, int] | None = None  # the file's (inode, mtime_ns) when read

    @property
    def path(self) -> Path:
        return self.directory / KEYS_FILE

    def open(self) -> KeyStore:
        """Read the keys, creating the directory and a first key when there are none."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._locked():
            if not self.path.exists():
                self._write([new_key(self._clock())])
            self._read()
        return self

    def signing_key(self) -> ECKey:
        """The newest key: the one that signs now."""
        return self._current()[-1].key

    def jwks(self) -> dict[str, Any]:
        """The published public keys, newest first: ``{"keys": [...]}``."""
        now = self._clock()
        published = [k for k in self._current() if k.publish_until is None or now < k.publish_until]
        return {"keys": [k.key.as_dict(private=False) for k in reversed(published)]}

    def rotate(self, overlap: timedelta) -> str:
        """A new signing key; the old one stays published for ``overlap``. Keys past their
        overlap are dropped. Returns the new key's kid."""
        if overlap < timedelta(0):
            raise KeyStoreError("the overlap of a rotation cannot be negative")
        now = self._clock()
        with self._locked():
            self._read()
            kept = [k for k in self._keys if k.publish_until is None or now < k.publish_until]
            retired = [
                k if k.publish_until is not None else StoredKey(k.key, k.created_at, now + overlap)
                for k in kept
            ]
            fresh = new_key(now)
            self._write([*retired, fresh])
            self._read()
        return fresh.kid

    # --- the file ------------------------------------------------------------------------

    def _current(self) -> list[StoredKey]:
        """The keys, read again when the file changed (a rotation from the command line)."""
        try:
            info = self.path.stat()
        except OSError as exc:
            raise KeyStoreError(f"{self.path} cannot be read ({type(exc).__name__})") from exc
        if (info.st_ino, info.st_mtime_ns) != self._seen:
            with self._locked():
                self._read()
        return self._keys

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the directory's lock (between this service and the command line)."""
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _read(self) -> None:
        try:
            info = self.path.stat()
            if stat.S_IMODE(info.st_mode) & 0o077:
                raise KeyStoreError(
                    f"{self.path} may be read by others (mode {stat.S_IMODE(info.st_mode):o}): "
                    f"it holds private keys; chmod 600 {self.path}"
                )
            data = json.loads(self.path.read_bytes())
            keys = [StoredKey.from_json(entry) for entry in data["keys"]]
        except KeyStoreError:
            raise
        except (OSError, ValueError, KeyError, TypeError, JoseError) as exc:
            raise KeyStoreError(
                f"{self.path} is not a key file of the consent service ({type(exc).__name__}); "
                "move it away to start with a new key"
            ) from exc
        if not keys:
            raise KeyStoreError(f"{self.path} holds no key; move it away to start afresh")
        self._keys = sorted(keys, key=lambda k: k.created_at)
        self._seen = (info.st_ino, info.st_mtime_ns)

    def _write(self, keys: list[StoredKey]) -> None:
        """Replace the key file atomically, created 0600 (never readable by others)."""
        temporary = self.directory / f".{KEYS_FILE}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps({"keys": [k.as_json() for k in keys]}, indent=1).encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
