"""The help screen: every key of the current app, in its language."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", show=False)
    ]

    def __init__(self, title: str, keys: list[tuple[str, str]], close: str) -> None:
        super().__init__()
        self.heading = title
        self.keys = keys
        self.close = close

    def compose(self) -> ComposeResult:
        text = Text()
        text.append(self.heading + "\n\n", style="bold")
        for key, what in self.keys:
            text.append(f" {key:>7} ", style="bold reverse")
            text.append(f"  {what}\n")
        text.append("\n" + self.close, style="dim")
        with Vertical(id="dialog"):
            yield Static(text)
