"""The hub no longer takes the person's token: ask for a new one, over the current screen.

Dismisses with the token typed (Enter) or None (Esc: the app ends, saying why). The field is
masked; the token is handed to the app and not kept here (the field is emptied on dismiss).
A token no HTTP header can carry is refused here, in the notice line, before it is sent.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.i18n import Texts
from tui.widgets.notice import Notice
from wire.client import usable_token

__all__ = ["SessionScreen"]


class SessionScreen(ModalScreen[str | None]):
    """``reason``: why the hub refused (one line, the app's words); ``again``: set when the
    token given before was refused as well."""

    DEFAULT_CSS = """
    SessionScreen { align: center middle; }
    SessionScreen #dialog {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $error;
        background: $surface;
        padding: 0 1;
    }
    SessionScreen #session-title { text-style: bold; }
    SessionScreen #session-reason { color: $error; text-style: bold; }
    SessionScreen #token { margin: 1 0 0 0; }
    SessionScreen #session-keys { color: $text-muted; }
    SessionScreen Notice { padding: 0 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, texts: Texts, reason: str, *, again: str = "") -> None:
        super().__init__()
        self.texts = texts
        self.reason = reason
        self.again = again

    def compose(self) -> ComposeResult:
        t = self.texts
        with Vertical(id="dialog"):
            yield Static(t("session.title"), id="session-title")
            yield Static(self.reason, id="session-reason")
            yield Static(t("session.explain"), id="session-explain")
            yield Input(placeholder=t("session.field"), password=True, id="token")
            yield Notice(id="session-notice")
            yield Static(t("session.keys"), id="session-keys")

    def on_mount(self) -> None:
        if self.again:
            self.query_one(Notice).tell(self.again, error=True)
        self.query_one("#token", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        token = event.value.strip()
        if not usable_token(token):
            self.query_one(Notice).tell(self.texts("session.unusable"), error=True)
            return
        event.input.value = ""
        self.dismiss(token)

    def action_cancel(self) -> None:
        self.query_one("#token", Input).value = ""
        self.dismiss(None)
