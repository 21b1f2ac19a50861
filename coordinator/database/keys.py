"""Primary keys for the rows the hub writes most: time-ordered UUIDs (version 7).

A random key (UUID version 4) puts each new row's index entry on a random page of the
index: once an index has more pages than a group of writes has rows, every row of the group
dirties a page of its own, and the commit writes them all (SQLite's log, PostgreSQL's WAL and
its full-page images). A version 7 UUID (RFC 9562) begins with the time in milliseconds, so
the rows of a group land on the last few pages of the index, however large it grows.

The 12 bits after the time count the keys made in the same millisecond (RFC 9562's method 1),
so the keys one process makes sort in the order it made them: two status events of a
message written in one transaction, at the same time, are read back in the order they
happened. The last 62 bits are random: a key is not guessed from another, and it says only
when its row was made, which the row says anyway.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

__all__ = ["new_key"]

_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM = (1 << 62) - 1
_COUNTER = 0xFFF
_STAMP = (1 << 48) - 1

_lock = threading.Lock()
_last = [0, 0]  # the millisecond and the count of the last key made by new_key()


def new_key(millis: int | None = None) -> uuid.UUID:
    """A new version 7 UUID: 48 bits of Unix time in milliseconds, a 12-bit count within
    that millisecond, then 62 random bits. Keys made now are strictly increasing in this
    process (a clock that steps back does not make them go back); ``millis`` gives the time
    of a key made for a test, with a random count."""
    if millis is None:
        now = time.time_ns() // 1_000_000
        with _lock:
            last, count = _last
            if now <= last:  # the same millisecond, or the clock stepped back: count on
                now, count = last, count + 1
                if count > _COUNTER:  # 4,096 keys in one millisecond: borrow the next
                    now, count = now + 1, 0
            else:
                count = 0
            _last[0], _last[1] = now, count
    else:
        now, count = millis, int.from_bytes(os.urandom(2), "big") & _COUNTER
    random = int.from_bytes(os.urandom(8), "big") & _RANDOM
    return uuid.UUID(int=(now & _STAMP) << 80 | _VERSION_7 | count << 64 | _VARIANT | random)
