"""Mine børn: the organisation's children with an active case, and the person's recent
lookups — where a caseworker finds a child without knowing the CPR number by heart.

The list is ``GET /v1/children`` (the organisation's own active cases by child, newest
activity first; not logged: nothing of another organisation is shown). A row: the child's CPR
number (written as everywhere in the app), the name when a letter read in this session named
the child (the hub holds no names), the organisation's own case kinds, ``✚ n`` for the
partners the hub has told the organisation of (not whether they still have a case: that is
the overview's, under consent), ``✉ n`` for unread letters about the child, and the day of
the latest activity. ``+``/``-`` page through it.

Under it, "Seneste opslag": the children the person looked up in this session
(:class:`~tui.screens.lookups.RecentLookups`, kept in memory only). Enter on either opens the
child's overview (:class:`~tui.screens.lookups.OpenChild`, which the app carries out).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.screens.base import CaseworkerRoom
from tui.screens.formatting import fit, show_cpr
from tui.screens.lookups import OpenChild, RecentLookups
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.entry_table import EntryTable
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar

PAGE = 50
REFRESH_TIMES = 10  # refreshed every ten of the app's refresh intervals (and on return, "g")


class MyChildrenScreen(Screen[None], CaseworkerRoom):
    DEFAULT_CSS = """
    MyChildrenScreen DataTable#mine { height: 2fr; }
    MyChildrenScreen DataTable#recent { height: 1fr; }
    MyChildrenScreen #mine-explain { color: $text-muted; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "switch", show=False),
        Binding("plus", "page(1)", show=False),
        Binding("minus", "page(-1)", show=False),
        Binding("g", "reload", show=False),
        Binding("escape", "app.pop_screen", show=False),
        Binding("question_mark", "app.help", show=False),
    ]

    def __init__(self, recent: RecentLookups) -> None:
        super().__init__()
        self.recent = recent
        self.page_start = 0
        self.total = 0
        self.rows: list[dict[str, Any]] = []  # this page, as shown

    def compose(self) -> ComposeResult:
        t = self.caseworker.texts
        yield TopBar()
        yield ConnectionBanner()
        yield Static(id="mine-head", classes="heading")
        mine = EntryTable(id="mine")
        mine.add_column(t("mine.child"), key="cpr", width=11)
        mine.add_column(t("mine.name"), key="name", width=16)
        mine.add_column(t("mine.cases"), key="cases", width=18)
        mine.add_column(t("mine.partners"), key="partners", width=8)
        mine.add_column(t("mine.letters"), key="letters", width=6)
        mine.add_column(t("mine.latest"), key="latest", width=6)
        yield mine
        yield Static(t("mine.explain"), id="mine-explain")
        yield Static(t("recent.title"), id="recent-head", classes="heading")
        recent = EntryTable(id="recent")
        recent.add_column(t("mine.child"), key="cpr", width=11)
        recent.add_column(t("mine.name"), key="name", width=16)
        recent.add_column(t("recent.at"), key="at", width=9)
        yield recent
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.caseworker.texts
        self.opened(
            [
                ("enter", t("key.open")),
                ("tab", t("key.next")),
                ("+/-", t("key.page")),
                ("g", t("key.refresh")),
                ("esc", t("key.back")),
            ],
            focus="#mine",
        )
        self._draw_recent()
        self.reload()
        self.set_interval(self.caseworker.refresh_seconds * REFRESH_TIMES, self.reload)

    def on_screen_resume(self) -> None:
        self._draw_recent()
        self.reload()

    # --- loading ---------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.start("mine", self._load)

    async def _load(self) -> None:
        app = self.caseworker
        offset = self.page_start
        page = await self.hub(lambda: app.client.my_children(limit=PAGE, offset=offset))
        if page is None:
            return
        self.total = int(page.get("total", 0))
        children = page.get("children", [])
        if not children and offset > 0 and self.total > 0:  # the list shrank under this page
            self.page_start = max(0, (self.total - 1) // PAGE * PAGE)
            self.reload()
            return
        self.rows = children
        self._draw_mine()

    def action_page(self, step: int) -> None:
        offset = self.page_start + step * PAGE
        if 0 <= offset < self.total:
            self.page_start = offset
            self.reload()

    # --- drawing ---------------------------------------------------------------------------

    def names(self) -> dict[str, str]:
        """The children's names that letters read in this session gave (CPR -> name)."""
        known: dict[str, str] = {}
        for letter in self.caseworker.letters.values():
            patient = letter.patient
            if patient.cpr:
                known[patient.cpr] = " ".join(p for p in (patient.given_name, patient.surname) if p)
        return known

    def _draw_mine(self) -> None:
        app = self.caseworker
        t = app.texts
        names = self.names()
        self.query_one("#mine", EntryTable).refill(
            ((str(child["child_cpr"]), self._child_cells(child, names)) for child in self.rows),
            keep="key",
        )
        head = Text(t("mine.title", org=app.org_name), style="bold")
        if self.total:
            pages = (self.total + PAGE - 1) // PAGE
            counts = t(
                "mine.counts", total=self.total, page=self.page_start // PAGE + 1, pages=pages
            )
            head.append("   " + counts, style="not bold")
        else:
            head.append("   " + t("mine.none", org=app.org_name), style="not bold")
        self.query_one("#mine-head", Static).update(head)

    def _child_cells(self, child: dict[str, Any], names: dict[str, str]) -> tuple[str | Text, ...]:
        app = self.caseworker
        cpr = str(child["child_cpr"])
        kinds = ", ".join(app.texts("kind." + c["kind"]) for c in child.get("cases", []))
        partners = int(child.get("partners_told", 0))
        unread = int(child.get("unread_letters", 0))
        return (
            show_cpr(cpr),
            fit(names.get(cpr, ""), 16).rstrip(),
            fit(kinds, 18).rstrip(),
            Text(f"✚ {partners}", style="bold cyan") if partners else "",
            Text(f"✉ {unread}", style="bold") if unread else "",
            app.local(child["activity_at"], "%d.%m"),
        )

    def _draw_recent(self) -> None:
        app = self.caseworker
        t = app.texts
        names = self.names()
        self.query_one("#recent", EntryTable).refill(
            (
                (
                    lookup.cpr,
                    (
                        show_cpr(lookup.cpr),
                        fit(names.get(lookup.cpr, ""), 16).rstrip(),
                        app.local(lookup.at, "%H:%M"),
                    ),
                )
                for lookup in self.recent.newest_first()
            ),
            keep="none",
        )
        head = t("recent.title") + ("" if len(self.recent) else "\n" + t("recent.none"))
        self.query_one("#recent-head", Static).update(head)

    # --- keys ------------------------------------------------------------------------------

    def action_switch(self) -> None:
        mine = self.query_one("#mine", EntryTable)
        recent = self.query_one("#recent", EntryTable)
        (recent if mine.has_focus else mine).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row of either list: the child's overview."""
        event.stop()
        if event.row_key.value is not None:
            self.app.post_message(OpenChild(event.row_key.value))
