"""A banner across the screen while the hub cannot be reached (hidden otherwise)."""

from __future__ import annotations

from textual.widgets import Static


class ConnectionBanner(Static):
    """``✖ Forbindelsen til hubben er afbrudt — prøver igen …``; display toggled by the app."""

    def on_mount(self) -> None:
        self.display = False
