"""Finding a child again: the person's recent lookups, and the two messages that tie the
"my children" screen to the child overview.

:class:`RecentLookups` keeps the last few children the person looked up **in memory only**,
for as long as the app runs: a CPR number is sensitive, a terminal may be shared, and a file
of the children someone looked at would be one more register to protect. Nothing is written
to disk; quitting the app forgets them. Pure: no Textual, no network (the messages excepted).

- :class:`ChildLookedUp`: the overview screen showed a child's overview (the app notes it);
- :class:`OpenChild`: a screen asks the app to show a child's overview.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

__all__ = ["ChildLookedUp", "Lookup", "OpenChild", "RecentLookups"]

KEEP = 10


@dataclass(frozen=True, slots=True)
class Lookup:
    cpr: str
    at: datetime


class RecentLookups:
    """The last ``keep`` children looked up, the newest first, each once."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._lookups: list[Lookup] = []

    def note(self, cpr: str, at: datetime) -> None:
        self._lookups = [Lookup(cpr, at), *(x for x in self._lookups if x.cpr != cpr)]
        del self._lookups[self.keep :]

    def newest_first(self) -> list[Lookup]:
        return list(self._lookups)

    def __len__(self) -> int:
        return len(self._lookups)


class ChildLookedUp(Message):
    """A child's overview was shown (the child is the person's to look up again)."""

    def __init__(self, cpr: str) -> None:
        super().__init__()
        self.cpr = cpr


class OpenChild(Message):
    """Show this child's overview (the app goes back to the overview screen and looks)."""

    def __init__(self, cpr: str) -> None:
        super().__init__()
        self.cpr = cpr
