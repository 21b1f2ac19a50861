"""The top line of both apps: where you are, who you are, the time and the hub's state."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class TopBar(Horizontal):
    """``Samspil · PPR Aalborg · Pia Psykolog            14:32  hub ●``"""

    def compose(self) -> ComposeResult:
        yield Static(id="top-title")
        yield Static(id="top-state")

    def show(self, title: str, clock: str, hub: str, *, connected: bool) -> None:
        self.query_one("#top-title", Static).update(Text(" " + title, style="bold"))
        state = Text(clock + "  ")
        state.append(hub, style="bold green" if connected else "bold red")
        self.query_one("#top-state", Static).update(state)
