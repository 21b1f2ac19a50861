"""The top line of both apps: where you are, who you are, the time and the hub's state."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class TopBar(Horizontal):
    """``Samspil · PPR Aalborg · Pia Psykolog            14:32  hub ●``"""

    def __init__(self) -> None:
        super().__init__()
        self._title = Static(id="top-title")
        self._state = Static(id="top-state")

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._state

    def show(self, title: str, clock: str, hub: str, *, connected: bool) -> None:
        self._title.update(Text(" " + title, style="bold"))
        state = Text(clock + "  ")
        state.append(hub, style="bold green" if connected else "bold red")
        self._state.update(state)
