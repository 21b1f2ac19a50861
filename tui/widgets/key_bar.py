"""The visible key bar at the bottom: ``/ barn  i indbakke  n nyt brev  ? hjælp``."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class KeyBar(Static):
    """Keys and what they do, in the app's language."""

    def show(self, keys: list[tuple[str, str]]) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        for key, what in keys:
            line.append(f" {key}", style="bold reverse")
            line.append(f" {what} ")
        self.update(line)
