"""A message's trail for operators: metadata and every status event with its time.
Never the body or a CPR number (the hub does not send them)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.screens.base import MonitorRoom


class TrailScreen(ModalScreen[None], MonitorRoom):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "dismiss", show=False)]

    def __init__(self, message_id: str) -> None:
        super().__init__()
        self.message_id = message_id

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="trail")

    def on_mount(self) -> None:
        self.start("trail", self._load)

    async def _load(self) -> None:
        app = self.monitor
        t = app.texts
        trail = await self.hub(lambda: app.client.trail(self.message_id))
        if trail is None:
            return
        out = Text()
        out.append(t("mon.trail", id=trail["id"]) + "\n", style="bold")
        out.append(
            t(
                "mon.trail_meta",
                type=trail["type"],
                sender=app.org_label(trail["sender"]),
                receiver=app.org_label(trail["receiver"]),
            )
            + "\n"
        )
        flags = []
        if trail.get("ack_requested"):
            flags.append("✉ " + t("letter.receipt_wanted"))
        if trail.get("overdue"):
            flags.append(t("status.overdue"))
        if trail.get("resend"):
            flags.append("↻ resend")
        if flags:
            out.append("  ".join(flags) + "\n", style="yellow")
        out.append("\n")
        for event in trail.get("events", []):
            out.append(f" {app.local(event['at'], '%d.%m.%Y %H:%M:%S')}  ")
            out.append(t(f"status.{event['status']}") + "\n")
        out.append("\nEsc", style="dim")
        self.query_one("#trail", Static).update(out)
