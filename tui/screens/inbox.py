"""The organisation's inbox in threads (unread first) and its sent letters with their journey.

Entries are grouped by :func:`tui.threads.threads` (episode of care, else letter linkage:
the hub's ``in_reply_to``, or what reading a letter taught); a thread's later letters are
marked ``↳``. An XDIS91 about a child this organisation has no
active case for is marked ``✚`` with a hint to register one (``suggested_case``; the hub
never says which child). Refreshes every few seconds in a worker, so a sent letter's status
is seen changing (``accepteret → hentet → modtaget → ✔ kvitteret``) without a key press.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.screens.base import Caseworker, CaseworkerRoom
from tui.screens.formatting import fit, fit_words, share
from tui.screens.letter import LetterScreen
from tui.threads import threads
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar


def status_label(texts: Any, entry: dict[str, Any]) -> str:
    if entry.get("overdue") and entry["status"] not in ("receipted", "rejected", "expired"):
        return str(texts("status.overdue"))
    return str(texts(f"status.{entry['status']}"))


class InboxScreen(Screen[None], CaseworkerRoom):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", show=False),
        Binding("n", "app.compose", show=False),
        Binding("b", "app.archive", show=False),
        Binding("g", "reload", show=False),
        Binding("tab", "switch", show=False),
        Binding("escape", "app.pop_screen", show=False),
        Binding("question_mark", "app.help", show=False),
        Binding("q", "app.quit", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.inbox: list[dict[str, Any]] = []  # in thread order, as shown
        self.thread_of: dict[str, list[dict[str, Any]]] = {}  # message id -> its thread
        self.sent: list[dict[str, Any]] = []
        self.loaded = False  # the hub has answered once: there is something to draw

    def compose(self) -> ComposeResult:
        t = self.caseworker.texts
        yield TopBar()
        yield ConnectionBanner()
        yield Static(id="inbox-head", classes="heading")
        yield DataTable(id="inbox", cursor_type="row")
        yield Static(t("inbox.sent"), classes="heading")
        sent: DataTable[str] = DataTable(id="sent", cursor_type="row")
        yield sent
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.caseworker.texts
        self.query_one(KeyBar).show(
            [
                ("enter", t("key.open")),
                ("tab", t("key.next")),
                ("n", t("key.new")),
                ("b", t("key.archive")),
                ("g", t("key.refresh")),
                ("esc", t("key.back")),
                ("q", t("key.quit")),
            ]
        )
        self._columns()
        self.ready()
        self.query_one("#inbox", DataTable).focus()
        self.reload()
        self.set_interval(self.caseworker.refresh_seconds, self.reload)

    def on_screen_resume(self) -> None:
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.start("inbox", self._load)

    async def _load(self) -> None:
        app = self.caseworker
        inbox = await self.hub(app.client.inbox)
        sent = await self.hub(app.client.outbox)
        if inbox is None or sent is None:
            return
        # threads with something unread (never fetched) first, then the newest
        grouped = threads(inbox, app.answers)
        self.inbox = [entry for thread in grouped for entry in thread]
        self.thread_of = {str(e["id"]): thread for thread in grouped for e in thread}
        self.sent = sent
        self.loaded = True
        self._draw()

    def on_resize(self) -> None:
        if self.loaded:  # drawn again: the columns take the room there is
            self.call_after_refresh(self._draw)

    def _columns(self) -> tuple[int, int, int, int]:
        """Both tables' columns, as wide as the screen lets the names and subjects be: the
        widths of the inbox's sender and subject, and of the sent list's receiver and
        subject."""
        app = self.caseworker
        t = app.texts
        subject = t("compose.subject").split(" (")[0]
        inbox, sent = self.query_one("#inbox", DataTable), self.query_one("#sent", DataTable)
        room = (self.size.width or 80) - 2  # a scrollbar
        froms = [cell_len(app.org_label(m["sender"])) for m in self.inbox]
        # mark 2, time 11, type 6, and each column's padding of 2
        from_w, about_w = share(room - 19 - 10, [(20, max(froms, default=0)), (27, 70)])
        inbox.clear(columns=True)
        inbox.add_column(" ", key="mark", width=2)
        inbox.add_column(t("inbox.time"), key="time", width=11)
        inbox.add_column(t("inbox.from"), key="from", width=from_w)
        inbox.add_column(subject, key="subject", width=about_w)
        inbox.add_column(t("inbox.type"), key="type", width=6)
        states = [cell_len(status_label(t, m)) for m in self.sent]
        tos = [cell_len(app.org_label(m["receiver"])) for m in self.sent]
        # time 11, type 6, and each column's padding of 2
        state_w, to_w, subject_w = share(
            room - 17 - 10,
            [(10, max(states, default=0)), (14, max(tos, default=0)), (12, 70)],
        )
        sent.clear(columns=True)
        sent.add_column(t("inbox.time"), key="time", width=11)
        sent.add_column(t("inbox.to"), key="to", width=to_w)
        sent.add_column(subject, key="subject", width=subject_w)
        sent.add_column(t("inbox.type"), key="type", width=6)
        sent.add_column(t("inbox.status"), key="status", width=state_w)
        return from_w, about_w, to_w, subject_w

    def _draw(self) -> None:
        app = self.caseworker
        t = app.texts
        unread = sum(1 for m in self.inbox if m.get("status") == "accepted")
        pending = sum(1 for m in self.sent if m["type"] == "XDIS91" and m["status"] not in _FINAL)
        head = Text(t("inbox.title", org=app.org_name), style="bold")
        head.append("   " + t("inbox.counts", unread=unread, pending=pending))
        if without := sum(1 for m in self.inbox if m.get("suggested_case")):
            head.append("   " + t("inbox.suggested_count", n=without), style="yellow")
        if app.system_takes_letters:
            head.append("   " + t("inbox.system_takes"), style="italic")
        self.query_one("#inbox-head", Static).update(head)
        inbox = self.query_one("#inbox", DataTable)
        sent = self.query_one("#sent", DataTable)
        row, sent_row = inbox.cursor_row, sent.cursor_row
        from_w, about_w, to_w, subject_w = self._columns()
        for m in self.inbox:
            first = self.thread_of[str(m["id"])][0] is m
            subject = _subject_of(app, m)
            inbox.add_row(
                ("●" if m.get("status") == "accepted" else " ")
                + ("✚" if m.get("suggested_case") else " "),
                app.local(m["received_at"], "%d.%m %H:%M"),
                fit_words(app.org_label(m["sender"]), from_w).rstrip(),
                fit(subject if first else "↳ " + subject, about_w).rstrip(),
                m["type"],
                key=m["id"],
            )
        if self.inbox:
            inbox.move_cursor(row=min(max(row, 0), len(self.inbox) - 1))
        for m in self.sent:
            sent.add_row(
                app.local(m["received_at"], "%d.%m %H:%M"),
                fit_words(app.org_label(m["receiver"]), to_w).rstrip(),
                fit(m.get("subject") or _what(t, m), subject_w).rstrip(),
                m["type"],
                status_label(t, m),
                key=m["id"],
            )
        if self.sent:
            sent.move_cursor(row=min(max(sent_row, 0), len(self.sent) - 1))
        self._hint()

    def _highlighted(self) -> dict[str, Any] | None:
        inbox = self.query_one("#inbox", DataTable)
        if not self.inbox or inbox.cursor_row < 0:
            return None
        return self.inbox[min(inbox.cursor_row, len(self.inbox) - 1)]

    def _hint(self) -> None:
        """Under the lists: the inbox is empty, or the highlighted letter's child has no case
        here, or nothing."""
        t = self.caseworker.texts
        entry = self._highlighted()
        if not self.inbox:
            self.query_one(Notice).tell(t("inbox.empty"))
        elif entry is not None and entry.get("suggested_case"):
            self.query_one(Notice).tell("✚ " + t("inbox.suggested"))
        else:
            self.query_one(Notice).tell("")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "inbox":
            self._hint()

    def action_switch(self) -> None:
        inbox, sent = self.query_one("#inbox", DataTable), self.query_one("#sent", DataTable)
        (sent if inbox.has_focus else inbox).focus()

    def action_open(self) -> None:
        inbox = self.query_one("#inbox", DataTable)
        if inbox.has_focus and self.inbox and inbox.cursor_row >= 0:
            entry = self.inbox[inbox.cursor_row]
            thread = [e for e in self.thread_of.get(str(entry["id"]), []) if e is not entry]
            self.app.push_screen(
                LetterScreen(
                    entry["id"],
                    incoming=True,
                    thread=thread,
                    suggested_case=bool(entry.get("suggested_case")),
                )
            )
            return
        sent = self.query_one("#sent", DataTable)
        if sent.has_focus and self.sent and sent.cursor_row >= 0:
            self.app.push_screen(LetterScreen(self.sent[sent.cursor_row]["id"], incoming=False))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()


_FINAL = ("receipted", "rejected", "expired")


def _subject_of(app: Caseworker, entry: dict[str, Any]) -> str:
    """What the inbox says an entry is about: its subject, the one read, or its kind."""
    return str(entry.get("subject") or _subject_read(app, entry) or _what(app.texts, entry))


def _subject_read(app: Caseworker, entry: dict[str, Any]) -> str:
    letter = app.letters.get(str(entry["id"]))
    return str(letter.subject or "") if letter is not None else ""


def _what(texts: Any, entry: dict[str, Any]) -> str:
    """A subject for an entry that has none: what kind of message it is."""
    return str(texts(f"inbox.kind.{entry['type']}")) if entry["type"] != "XDIS91" else ""
