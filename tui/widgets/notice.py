"""One line for the outcome of the last action or the reason nothing can be shown."""

from __future__ import annotations

from textual.widgets import Static


class Notice(Static):
    """A sentence under the content; ``tell(text, error=True)`` marks it as a problem."""

    def tell(self, text: str, *, error: bool = False) -> None:
        self.set_class(error, "error")
        self.update(text)
