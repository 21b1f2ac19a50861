"""The hub's row keys: version 7 UUIDs, ordered by the millisecond they were made in."""

from __future__ import annotations

import itertools
import time
import uuid

from coordinator.database.keys import new_key

MILLIS = 1_796_000_000_000  # December 2026


def test_a_key_is_a_version_7_uuid_with_its_millisecond_first() -> None:
    key = new_key(MILLIS)
    assert key.version == 7
    assert key.variant == uuid.RFC_4122
    assert key.int >> 80 == MILLIS


def test_keys_sort_by_their_millisecond_as_uuids_and_as_stored_text() -> None:
    keys = [new_key(MILLIS + n) for n in range(0, 5000, 7)]
    assert sorted(keys) == keys
    assert sorted(k.hex for k in keys) == [k.hex for k in keys]  # SQLite's CHAR(32)


def test_keys_of_one_millisecond_differ() -> None:
    keys = {new_key(MILLIS) for _ in range(20_000)}
    assert len(keys) == 20_000


def test_keys_made_now_increase_strictly_in_the_order_they_were_made() -> None:
    keys = [new_key() for _ in range(20_000)]  # many in each millisecond
    assert all(a < b for a, b in itertools.pairwise(keys))
    assert all(k.version == 7 and k.variant == uuid.RFC_4122 for k in keys)


def test_a_key_made_now_carries_the_millisecond_it_was_made_in() -> None:
    before = time.time_ns() // 1_000_000
    key = new_key()
    after = time.time_ns() // 1_000_000
    # (at most one millisecond on, should 4,096 keys have been made in one)
    assert before <= key.int >> 80 <= after + 1
