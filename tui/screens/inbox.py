"""The organisation's inbox (unread first) and its sent letters with their journey.

Refreshes every few seconds in a worker, so a sent letter's status is seen changing
(``accepteret → hentet → modtaget → ✔ kvitteret``) without a key press.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from tui.caseworker_app import CaseworkerApp


def status_label(texts: Any, entry: dict[str, Any]) -> str:
    if entry.get("overdue") and entry["status"] not in ("receipted", "rejected", "expired"):
        return str(texts("status.overdue"))
    return str(texts(f"status.{entry['status']}"))


class InboxScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", show=False),
        Binding("n", "app.compose", show=False),
        Binding("g", "reload", show=False),
        Binding("tab", "switch", show=False),
        Binding("escape", "app.pop_screen", show=False),
        Binding("question_mark", "app.help", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.inbox: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []

    @property
    def hub_app(self) -> CaseworkerApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        t = self.hub_app.texts
        yield TopBar()
        yield ConnectionBanner()
        yield Static(id="inbox-head", classes="heading")
        inbox: DataTable[str] = DataTable(id="inbox", cursor_type="row")
        inbox.add_column(" ", key="mark", width=1)
        inbox.add_column(t("inbox.time"), key="time", width=11)
        inbox.add_column(t("inbox.from"), key="from", width=24)
        inbox.add_column(t("compose.subject").split(" (")[0], key="subject", width=24)
        inbox.add_column(t("inbox.type"), key="type", width=7)
        yield inbox
        yield Static(t("inbox.sent"), classes="heading")
        sent: DataTable[str] = DataTable(id="sent", cursor_type="row")
        sent.add_column(t("inbox.time"), key="time", width=11)
        sent.add_column(t("inbox.to"), key="to", width=24)
        sent.add_column(t("inbox.type"), key="type", width=7)
        sent.add_column(t("inbox.status"), key="status", width=24)
        yield sent
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.hub_app.texts
        self.query_one(KeyBar).show(
            [
                ("enter", t("key.open")),
                ("tab", t("key.next")),
                ("n", t("key.new")),
                ("g", t("key.refresh")),
                ("esc", t("key.back")),
            ]
        )
        self.hub_app.update_chrome()
        self.query_one("#inbox", DataTable).focus()
        self.reload()
        self.set_interval(self.hub_app.refresh_seconds, self.reload)

    def on_screen_resume(self) -> None:
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.hub_app.start(self, "inbox", self._load)

    async def _load(self) -> None:
        app = self.hub_app
        inbox = await app.hub(app.client.inbox)
        sent = await app.hub(app.client.outbox)
        if inbox is None or sent is None:
            return
        # unread (never fetched) first, then by time, newest first
        inbox.sort(key=lambda m: m["received_at"], reverse=True)
        inbox.sort(key=lambda m: m.get("status") != "accepted")
        self.inbox, self.sent = inbox, sent
        self._draw()

    def _draw(self) -> None:
        app = self.hub_app
        t = app.texts
        unread = sum(1 for m in self.inbox if m.get("status") == "accepted")
        pending = sum(1 for m in self.sent if m["type"] == "XDIS91" and m["status"] not in _FINAL)
        self.query_one("#inbox-head", Static).update(
            t("inbox.title", org=app.org_name)
            + "   "
            + t("inbox.counts", unread=unread, pending=pending)
        )
        inbox = self.query_one("#inbox", DataTable)
        row = inbox.cursor_row
        inbox.clear()
        for m in self.inbox:
            letter = app.letters.get(m["id"])
            inbox.add_row(
                "●" if m.get("status") == "accepted" else " ",
                app.local(m["received_at"], "%d.%m %H:%M"),
                app.org_label(m["sender"]),
                letter.subject if letter else "",
                m["type"],
                key=m["id"],
            )
        if self.inbox:
            inbox.move_cursor(row=min(max(row, 0), len(self.inbox) - 1))
        sent = self.query_one("#sent", DataTable)
        row = sent.cursor_row
        sent.clear()
        for m in self.sent:
            sent.add_row(
                app.local(m["received_at"], "%d.%m %H:%M"),
                app.org_label(m["receiver"]),
                m["type"],
                status_label(t, m),
                key=m["id"],
            )
        if self.sent:
            sent.move_cursor(row=min(max(row, 0), len(self.sent) - 1))
        if not self.inbox:
            self.query_one(Notice).tell(t("inbox.empty"))
        else:
            self.query_one(Notice).tell("")

    def action_switch(self) -> None:
        inbox, sent = self.query_one("#inbox", DataTable), self.query_one("#sent", DataTable)
        (sent if inbox.has_focus else inbox).focus()

    def action_open(self) -> None:
        from tui.screens.letter import LetterScreen

        inbox = self.query_one("#inbox", DataTable)
        if inbox.has_focus and self.inbox and inbox.cursor_row >= 0:
            entry = self.inbox[inbox.cursor_row]
            self.app.push_screen(LetterScreen(entry["id"], incoming=True))
            return
        sent = self.query_one("#sent", DataTable)
        if sent.has_focus and self.sent and sent.cursor_row >= 0:
            self.app.push_screen(LetterScreen(self.sent[sent.cursor_row]["id"], incoming=False))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()


_FINAL = ("receipted", "rejected", "expired")
