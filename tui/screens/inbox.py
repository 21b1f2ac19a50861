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
from tui.widgets.entry_table import ColumnSpec, EntryTable
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
        yield EntryTable(id="inbox")
        yield Static(t("inbox.sent"), classes="heading")
        yield EntryTable(id="sent")
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.caseworker.texts
        inbox_columns, sent_columns = self._columns()
        self.query_one("#inbox", EntryTable).refill((), keep="none", columns=inbox_columns)
        self.query_one("#sent", EntryTable).refill((), keep="none", columns=sent_columns)
        self.opened(
            [
                ("enter", t("key.open")),
                ("tab", t("key.next")),
                ("n", t("key.new")),
                ("b", t("key.archive")),
                ("g", t("key.refresh")),
                ("esc", t("key.back")),
                ("q", t("key.quit")),
            ],
            focus="#inbox",
        )
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

    def _columns(self) -> tuple[list[ColumnSpec], list[ColumnSpec]]:
        """Both tables' columns (the inbox's, the sent list's), as wide as the screen lets
        the names and subjects be."""
        app = self.caseworker
        t = app.texts
        subject = t("compose.subject").split(" (")[0]
        room = (self.size.width or 80) - 2  # a scrollbar
        froms = [cell_len(app.org_label(m["sender"])) for m in self.inbox]
        # mark 2, time 11, type 6, and each column's padding of 2
        from_w, about_w = share(room - 19 - 10, [(20, max(froms, default=0)), (27, 70)])
        inbox = [
            (" ", "mark", 2),
            (t("inbox.time"), "time", 11),
            (t("inbox.from"), "from", from_w),
            (subject, "subject", about_w),
            (t("inbox.type"), "type", 6),
        ]
        states = [cell_len(status_label(t, m)) for m in self.sent]
        tos = [cell_len(app.org_label(m["receiver"])) for m in self.sent]
        # time 11, type 6, and each column's padding of 2
        state_w, to_w, subject_w = share(
            room - 17 - 10,
            [(10, max(states, default=0)), (14, max(tos, default=0)), (12, 70)],
        )
        sent = [
            (t("inbox.time"), "time", 11),
            (t("inbox.to"), "to", to_w),
            (subject, "subject", subject_w),
            (t("inbox.type"), "type", 6),
            (t("inbox.status"), "status", state_w),
        ]
        return inbox, sent

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
        inbox_columns, sent_columns = self._columns()
        inbox_w = {key: width for _, key, width in inbox_columns}
        sent_w = {key: width for _, key, width in sent_columns}
        inbox_rows = []
        for m in self.inbox:
            first = self.thread_of[str(m["id"])][0] is m
            subject = _subject_of(app, m)
            inbox_rows.append(
                (
                    m["id"],
                    (
                        ("●" if m.get("status") == "accepted" else " ")
                        + ("✚" if m.get("suggested_case") else " "),
                        app.local(m["received_at"], "%d.%m %H:%M"),
                        fit_words(app.org_label(m["sender"]), inbox_w["from"]).rstrip(),
                        fit(subject if first else "↳ " + subject, inbox_w["subject"]).rstrip(),
                        m["type"],
                    ),
                )
            )
        sent_rows = [
            (
                m["id"],
                (
                    app.local(m["received_at"], "%d.%m %H:%M"),
                    fit_words(app.org_label(m["receiver"]), sent_w["to"]).rstrip(),
                    fit(m.get("subject") or _what(t, m), sent_w["subject"]).rstrip(),
                    m["type"],
                    status_label(t, m),
                ),
            )
            for m in self.sent
        ]
        self.query_one("#inbox", EntryTable).refill(inbox_rows, keep="row", columns=inbox_columns)
        self.query_one("#sent", EntryTable).refill(sent_rows, keep="row", columns=sent_columns)
        self._hint()

    def _highlighted(self) -> dict[str, Any] | None:
        return self.query_one("#inbox", EntryTable).under_cursor(self.inbox)

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
        inbox, sent = self.query_one("#inbox", EntryTable), self.query_one("#sent", EntryTable)
        (sent if inbox.has_focus else inbox).focus()

    def action_open(self) -> None:
        inbox = self.query_one("#inbox", EntryTable)
        entry = inbox.under_cursor(self.inbox) if inbox.has_focus else None
        if entry is not None:
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
        sent = self.query_one("#sent", EntryTable)
        letter = sent.under_cursor(self.sent) if sent.has_focus else None
        if letter is not None:
            self.app.push_screen(LetterScreen(letter["id"], incoming=False))

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
