"""Inbox threads: by episode of care, else by the letters the entries answer."""

from __future__ import annotations

from typing import Any

from tui.threads import threads


def entry(
    n: int,
    at: str,
    *,
    episode: str | None = None,
    unread: bool = False,
    in_reply_to: str | None = None,
) -> Any:
    return {
        "id": f"m{n}",
        "type": "XDIS91",
        "letter_id": f"L{n}",
        "episode_id": episode,
        "in_reply_to": in_reply_to,
        "received_at": f"2026-12-02T{at}:00Z",
        "status": "accepted" if unread else "downloaded",
    }


def ids(grouped: list[list[Any]]) -> list[list[str]]:
    return [[e["id"] for e in thread] for thread in grouped]


def test_one_thread_per_episode_newest_first_unread_threads_first() -> None:
    inbox = [
        entry(1, "09:00", episode="E1"),
        entry(2, "10:00", episode="E2", unread=True),
        entry(3, "11:00", episode="E1"),
        entry(4, "12:00"),
    ]
    assert ids(threads(inbox)) == [["m2"], ["m4"], ["m3", "m1"]]


def test_without_an_episode_an_entry_follows_the_letter_it_answers() -> None:
    inbox = [
        entry(1, "09:00", episode="E1"),
        entry(2, "10:00"),  # answers L1: joins E1's thread
        entry(3, "11:00"),  # answers L2, which answers L1: also E1
        entry(4, "12:00"),  # answers L9 (a letter we sent, not in the inbox) ...
        entry(5, "13:00"),  # ... as does this one: the two are one thread
        entry(6, "14:00"),  # answers nothing known: alone
    ]
    answers = {"m2": "L1", "m3": "L2", "m4": "L9", "m5": "L9"}
    assert ids(threads(inbox, answers)) == [["m6"], ["m5", "m4"], ["m3", "m2", "m1"]]


def test_letters_answering_each_other_in_a_loop_are_one_thread() -> None:
    inbox = [entry(1, "09:00"), entry(2, "10:00")]
    assert ids(threads(inbox, {"m1": "L2", "m2": "L1"})) == [["m2", "m1"]]


def test_the_hubs_in_reply_to_threads_a_reply_before_it_is_read() -> None:
    inbox = [
        entry(1, "09:00", episode="E1"),
        entry(2, "10:00", in_reply_to="L1"),  # joins E1's thread from the list
        entry(3, "11:00", in_reply_to="L9"),  # answers a letter not in the inbox ...
        entry(4, "12:00"),  # ... as this one does, learnt when it was read
        entry(5, "13:00"),
    ]
    assert ids(threads(inbox)) == [["m5"], ["m4"], ["m3"], ["m2", "m1"]]
    assert ids(threads(inbox, {"m4": "L9"})) == [["m5"], ["m4", "m3"], ["m2", "m1"]]
