"""The letter archive: every letter of the organisation, incoming and sent, newest first,
searchable by child, sender and subject (``POST /v1/letters/search``).

One search field: a CPR number searches by child (sent in the request's body, never in a
URL), a GLN or a part of an organisation's name by sender, anything else by subject. Rows
show the date, who it came from (or ``→`` whom it went to), the subject and its state;
a letter the retention removed shows when (its subject went with it). Enter opens a letter
(:class:`~tui.screens.letter.LetterScreen`: read-only where the organisation's system takes
its letters in), ``m`` shows the next page.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from tui.screens.base import Caseworker, CaseworkerRoom
from tui.screens.formatting import cpr_problem, fit, show_cpr
from tui.screens.inbox import status_label
from tui.screens.letter import LetterScreen
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.entry_table import EntryTable
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar

PAGE = 50
SUBJECT_MAX = 70  # the hub's longest subject


def search_of(text: str, directory: Any) -> tuple[dict[str, Any], tuple[str, dict[str, str]]]:
    """What to ask the hub for ``text`` typed in the search field, and how to say it (a
    text key and its values): a CPR number is a child, a GLN or a part of organisations'
    names is senders, anything else a subject; nothing is everything."""
    text = text.strip()
    if not text:
        return {}, ("", {})
    digits = text.replace("-", "").replace(" ", "")
    if len(digits) == 10 and digits.isdigit() and cpr_problem(digits) is None:
        return {"child": digits}, ("archive.by_child", {"cpr": show_cpr(digits)[:7] + "xxxx"})
    if len(text) == 13 and text.isdigit():
        return {"senders": [text]}, ("archive.by_sender", {"names": text})
    wanted = text.casefold()
    named = [o for o in directory if wanted in str(o.get("name", "")).casefold()]
    if named:
        names = ", ".join(str(o["name"]) for o in named[:3]) + ("…" if len(named) > 3 else "")
        senders = [str(o["gln"]) for o in named[:50]]
        return {"senders": senders}, ("archive.by_sender", {"names": names})
    subject = text[:SUBJECT_MAX]
    return {"subject": subject}, ("archive.by_subject", {"text": subject})


def state_label(app: Caseworker, entry: dict[str, Any]) -> str:
    t = app.texts
    if entry.get("removed_at"):
        return t("archive.removed", date=app.local(entry["removed_at"], "%d.%m.%y"))
    if entry.get("in_inbox") and entry.get("direction") == "incoming":
        return t("archive.in_inbox")
    return status_label(t, entry)


class ArchiveScreen(Screen[None], CaseworkerRoom):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", show=False),
        Binding("slash", "focus_search", show=False),
        Binding("m", "more", show=False),
        Binding("escape", "app.pop_screen", show=False),
        Binding("question_mark", "app.help", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.letters: list[dict[str, Any]] = []
        self.next: str | None = None
        self.asked: dict[str, Any] = {}
        self.said: tuple[str, dict[str, str]] = ("", {})

    def compose(self) -> ComposeResult:
        t = self.caseworker.texts
        yield TopBar()
        yield ConnectionBanner()
        yield Static(id="archive-head", classes="heading")
        yield Input(placeholder=t("archive.search"), id="archive-search", max_length=SUBJECT_MAX)
        table = EntryTable(id="archive")
        table.add_column(t("inbox.time"), key="time", width=8)
        table.add_column(t("archive.party"), key="party", width=22)
        table.add_column(t("archive.subject"), key="subject", width=24)
        table.add_column(t("archive.state"), key="state", width=16)
        yield table
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.caseworker.texts
        self.opened(
            [
                ("enter", t("key.open")),
                ("/", t("key.search")),
                ("m", t("key.more")),
                ("esc", t("key.back")),
            ],
            focus="#archive",
        )
        self.reload()

    def reload(self) -> None:
        self.start("archive", self._first_page)

    def action_focus_search(self) -> None:
        self.query_one("#archive-search", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.asked, self.said = search_of(event.value, self.caseworker.directory)
        self.query_one("#archive", EntryTable).focus()
        self.reload()

    def action_more(self) -> None:
        if self.next is not None:
            self.start("archive", self._next_page)

    async def _first_page(self) -> None:
        await self._load(before=None)

    async def _next_page(self) -> None:
        await self._load(before=self.next)

    async def _load(self, *, before: str | None) -> None:
        app = self.caseworker
        asked = {**self.asked, "limit": PAGE, **({"before": before} if before else {})}
        page = await self.hub(lambda: app.client.search_letters(**asked))
        if page is None:
            return
        app.keep_letters_owner(str(page.get("letters_consumed_by", "system")))
        letters = list(page.get("letters") or [])
        self.letters = [*self.letters, *letters] if before else letters
        self.next = page.get("next")
        self._draw(keep_row=before is not None)

    def _draw(self, *, keep_row: bool) -> None:
        app = self.caseworker
        t = app.texts
        head = Text(t("archive.title", org=app.org_name), style="bold")
        count = t("archive.more" if self.next else "archive.found", n=len(self.letters))
        head.append("   " + count)
        key, values = self.said
        if key:
            head.append("   " + t(key, **values), style="italic")
        self.query_one("#archive-head", Static).update(head)
        table = self.query_one("#archive", EntryTable)
        table.refill(
            ((str(entry["id"]), self._cells(entry)) for entry in self.letters),
            keep="row" if keep_row else "none",
        )
        notice = self.query_one(Notice)
        if not self.letters:
            notice.tell(t("archive.none"))
        elif app.system_takes_letters:
            notice.tell(t("archive.read_only"))
        else:
            notice.tell(t("archive.people_take"))

    def _cells(self, entry: dict[str, Any]) -> tuple[str, ...]:
        app = self.caseworker
        incoming = entry.get("direction") == "incoming"
        party = (
            app.org_label(str(entry["sender"]))
            if incoming
            else app.texts("archive.to", name=app.org_label(str(entry["receiver"])))
        )
        return (
            app.local(entry["received_at"], "%d.%m.%y"),
            fit(party, 22).rstrip(),
            fit(str(entry.get("subject") or "—"), 24).rstrip(),
            fit(state_label(app, entry), 16).rstrip(),
        )

    def action_open(self) -> None:
        table = self.query_one("#archive", EntryTable)
        entry = table.under_cursor(self.letters) if table.has_focus else None
        if entry is None:
            return
        incoming = entry.get("direction") == "incoming"
        self.app.push_screen(LetterScreen(str(entry["id"]), incoming=incoming))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()
