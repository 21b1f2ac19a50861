"""Primary keys for the rows the hub writes most: time-ordered UUIDs (version 7).

A random key (UUID version 4) puts each new row's index entry on a random page of the
index: once an index has more pages than a group of writes has rows, every row of the group
dirties a page of its own, and the commit writes them all (SQLite's log, PostgreSQL's WAL and
its full-page images). A version 7 UUID (RFC 9562) begins with the time in milliseconds, so
the rows of a group land on the last few pages of the index, however large it grows. The
other 74 bits are random: a key is not guessed from another, and it says only when its row
was made, which the row says anyway.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["new_key"]

_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62


def new_key(millis: int | None = None) -> uuid.UUID:
    """A new version 7 UUID: 48 bits of Unix time in milliseconds (now, or ``millis``), then
    74 random bits."""
    random = int.from_bytes(os.urandom(10), "big")  # 80 bits, 74 of them used
    rand_a = (random >> 68) & 0xFFF
    rand_b = random & ((1 << 62) - 1)
    if millis is None:
        millis = time.time_ns() // 1_000_000
    stamp = (millis & ((1 << 48) - 1)) << 80
    return uuid.UUID(int=stamp | _VERSION_7 | rand_a << 64 | _VARIANT | rand_b)
