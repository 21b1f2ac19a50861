"""Revocation across processes: a revoked token or certificate is refused on its next
request.

The hub caches verified tokens and client certificates (``Settings.token_cache_seconds``);
every change that takes a credential away (an operator disabling a system token, ``samspil
org token`` rotating one, ``samspil org disable``, a client certificate revoked by
``samspil org cert revoke`` or an operator) makes every hub process empty that cache:

* **PostgreSQL**: the change calls :func:`announce` inside its transaction, so ``NOTIFY
  samspil_credentials`` is delivered when it commits; :func:`listen` keeps one LISTEN
  connection per hub process and empties the cache on every notification. While that
  connection is down the verifier caches nothing, so a revocation is never missed.
* **SQLite**: after the change has committed, :func:`mark` appends a byte to a marker file
  beside the database (``<database>-revocations``); each request compares the file's size
  and modification time with what it saw last (one ``stat``, about a microsecond, where a
  lookup would cost some 35) and empties the cache when they changed (:class:`Marker`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coordinator.database.backend import kind_of
from coordinator.database.engine import sqlite_file
from coordinator.database.listen import listen_channel
from coordinator.security.auth import TokenVerifier

log = logging.getLogger(__name__)

CHANNEL = "samspil_credentials"


def marker_path(engine: AsyncEngine) -> Path | None:
    """The revocation marker beside a SQLite database file (None for PostgreSQL, memory)."""
    database = sqlite_file(engine.url)
    return None if database is None else Path(f"{database}-revocations")


def mark(engine: AsyncEngine) -> None:
    """After a revocation has committed on SQLite: tell every hub process on that file."""
    path = marker_path(engine)
    if path is None:
        return
    try:
        with path.open("ab") as marker:
            marker.write(b".")
    except OSError as exc:
        log.warning(
            "the revocation marker %s cannot be written (%s): a running hub may accept the "
            "revoked token until its cache entry runs out",
            path,
            exc.strerror,
        )


def committed(verifier: TokenVerifier, engine: AsyncEngine) -> None:
    """After a revocation this process committed (an operator's route): forget here at
    once, and tell the other hub processes on a SQLite file (PostgreSQL: the change's
    :func:`announce`)."""
    verifier.forget()
    mark(engine)


class Marker:
    """Has the SQLite revocation marker changed since :meth:`changed` last looked?"""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def changed(self) -> bool:
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return True


async def announce(conn: AsyncConnection) -> None:
    """Tell every hub process, on commit, that a credential was revoked (PostgreSQL's
    NOTIFY; the backend of a SQLite file has none: :func:`mark` after the commit)."""
    await kind_of(conn).notify(conn, CHANNEL, ("",))


@contextlib.asynccontextmanager
async def listen(dsn: str, verifier: TokenVerifier) -> AsyncIterator[None]:
    """Empty ``verifier``'s cache on every revocation until the context ends; reconnects.
    The cache is allowed only while the LISTEN connection is up (a revocation is never
    missed)."""

    def connected() -> None:
        verifier.forget()  # whatever was revoked while we were away
        verifier.cache_allowed = True

    def lost() -> None:
        verifier.cache_allowed = False
        verifier.forget()

    try:
        async with listen_channel(
            dsn,
            CHANNEL,
            relay=lambda _payload: verifier.forget(),
            on_connect=connected,
            on_lost=lost,
        ):
            yield
    finally:
        verifier.cache_allowed = False
