"""The visible key bar at the bottom: ``/ barn  i indbakke  n nyt brev  ? hjælp``."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widgets import Static


class KeyBar(Static):
    """Keys and what they do, in the app's language: on as many lines as its width needs,
    each key whole on one line (never one cut off at the right edge)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: list[tuple[str, str]] = []

    def show(self, keys: list[tuple[str, str]]) -> None:
        self._keys = list(keys)
        self.refresh(layout=True)

    def lines(self, width: int) -> list[Text]:
        """The keys laid out on lines of at most ``width`` cells."""
        lines = [Text(no_wrap=True, overflow="ellipsis")]
        for key, what in self._keys:
            part = Text(no_wrap=True)
            part.append(f" {key}", style="bold reverse")
            part.append(f" {what} ")
            if lines[-1].cell_len and lines[-1].cell_len + part.cell_len > max(width, 1):
                lines.append(Text(no_wrap=True, overflow="ellipsis"))
            lines[-1].append_text(part)
        return lines

    def render(self) -> Text:
        return Text("\n", no_wrap=True).join(self.lines(self.size.width or 10_000))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))
