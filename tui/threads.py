"""Inbox entries grouped into threads: by episode of care, else by the letters they answer.

An inbox entry carries ``letter_id``, ``episode_id``, ``in_reply_to`` and ``subject``
(``GET /v1/inbox``). Letters in one episode of care (``Letter/EpisodeOfCareIdentifier``) are
one thread. An entry without an episode falls back to letter linkage: the letter identifier
it answers is its ``in_reply_to`` (a Samspil reply's reference, read by the hub at intake),
else ``answers[id]``, learnt when the letter is read (e.g. the first original letter of a
receipt); it joins the thread of the entry with that letter identifier, or else of the other
entries answering the same letter. Alone, an entry is a thread of its own. Pure functions:
no Textual, no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Entry = dict[str, Any]


def thread_key(entry: Entry, by_letter: Mapping[str, Entry], answers: Mapping[str, str]) -> str:
    """The thread ``entry`` belongs to (``episode:…`` or ``letter:…``)."""
    seen: set[str] = set()
    current = entry
    while True:
        if current.get("episode_id"):
            return f"episode:{current['episode_id']}"
        answered = current.get("in_reply_to") or answers.get(str(current["id"]))
        if answered is None:
            return f"letter:{current.get('letter_id') or current['id']}"
        if answered in seen:  # letters answering each other in a loop: one thread
            return f"letter:{min(seen)}"
        parent = by_letter.get(answered)
        if parent is None:
            return f"letter:{answered}"
        seen.add(answered)
        current = parent


def threads(entries: list[Entry], answers: Mapping[str, str] | None = None) -> list[list[Entry]]:
    """``entries`` as threads: the newest entry first in each, threads with something unread
    (status ``accepted``) first, then the thread with the newest entry first."""
    answers = answers or {}
    by_letter = {str(e["letter_id"]): e for e in entries if e.get("letter_id")}
    grouped: dict[str, list[Entry]] = {}
    for entry in entries:
        grouped.setdefault(thread_key(entry, by_letter, answers), []).append(entry)
    result = [
        sorted(group, key=lambda e: e["received_at"], reverse=True) for group in grouped.values()
    ]
    result.sort(key=lambda group: group[0]["received_at"], reverse=True)
    result.sort(key=lambda group: not any(e.get("status") == "accepted" for e in group))
    return result
