"""Wake long-polls when a message for an organisation is committed.

In one process, :class:`Notifier` hands each waiting ``GET /v1/inbox`` a future that the
committer resolves right after its commit. Across processes on PostgreSQL, the committer also
sends ``NOTIFY samspil_inbox, '<gln>,<gln>...'`` inside the transaction (delivered on commit),
and :func:`listen` relays those notifications into this process's notifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable

from coordinator.database.listen import listen_channel

log = logging.getLogger(__name__)

CHANNEL = "samspil_inbox"


class Notifier:
    """Futures per organisation GLN, resolved when something arrives for it."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Future[None]]] = defaultdict(set)

    def waiter(self, gln: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[gln].add(future)
        return future

    def discard(self, gln: str, future: asyncio.Future[None]) -> None:
        waiting = self._waiters.get(gln)
        if waiting is not None:
            waiting.discard(future)
            if not waiting:
                del self._waiters[gln]

    def notify(self, glns: Iterable[str]) -> None:
        for gln in glns:
            for future in self._waiters.pop(gln, ()):
                if not future.done():
                    future.set_result(None)

    def notify_all(self) -> None:
        self.notify(list(self._waiters))

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())


def notify_payloads(glns: Iterable[str], limit: int = 7000) -> list[str]:
    """Comma-joined GLNs, split under PostgreSQL's 8000-byte NOTIFY payload limit."""
    payloads: list[str] = []
    current = ""
    for gln in sorted(set(glns)):
        candidate = f"{current},{gln}" if current else gln
        if len(candidate) > limit:
            payloads.append(current)
            candidate = gln
        current = candidate
    if current:
        payloads.append(current)
    return payloads


def listen(dsn: str, notifier: Notifier) -> contextlib.AbstractAsyncContextManager[None]:
    """Relay PostgreSQL notifications into ``notifier`` until the context ends; reconnects,
    and wakes every long-poll to re-read after each (re)connection."""
    return listen_channel(
        dsn,
        CHANNEL,
        relay=lambda payload: notifier.notify(payload.split(",")),
        on_connect=notifier.notify_all,
        wait_until_listening=True,
    )
