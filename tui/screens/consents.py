"""A child's consents: see all, record one, revoke one — with the age rule spelt out."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui import problems
from tui.screens.base import CaseworkerRoom
from tui.screens.confirm import ConfirmScreen
from tui.screens.consent_form import ConsentForm
from tui.screens.formatting import age_rule_key, show_cpr
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar
from tui.workers import in_worker
from wire.errors import HubRefused


class ConsentsScreen(Screen[None], CaseworkerRoom):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "record", show=False),
        Binding("r", "revoke", show=False),
        Binding("escape", "app.pop_screen", show=False),
        Binding("question_mark", "app.help", show=False),
    ]

    def __init__(self, cpr: str, age: int) -> None:
        super().__init__()
        self.cpr = cpr
        self.age = age
        self.consents: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        t = self.caseworker.texts
        yield TopBar()
        yield ConnectionBanner()
        yield Static(t("consents.title", cpr=show_cpr(self.cpr), age=self.age), classes="heading")
        yield Static(t(age_rule_key(self.age)), id="rule")
        table: DataTable[str] = DataTable(id="consents", cursor_type="row", zebra_stripes=True)
        # most important first: at 80 columns the last ones may need a sideways scroll
        table.add_columns(
            t("consents.state"),
            t("consents.given_by"),
            t("consents.sectors"),
            t("consents.until"),
            t("consents.relation"),
            t("consents.form"),
        )
        yield table
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.caseworker.texts
        self.query_one(KeyBar).show(
            [("n", t("key.record")), ("r", t("key.revoke")), ("esc", t("key.back"))]
        )
        self.ready()
        self.reload()

    def reload(self) -> None:
        self.start("consents", self._load)

    async def _load(self) -> None:
        app = self.caseworker
        t = app.texts
        rows = await self.hub(lambda: app.client.consents(self.cpr))
        if rows is None:
            return
        self.consents = rows
        table = self.query_one(DataTable)
        table.clear()
        for c in rows:
            if c.get("revoked_at"):
                state = t("consents.revoked", date=app.local(c["revoked_at"], "%d.%m.%y"))
            elif c.get("active"):
                state = t("consents.active")
            else:
                state = t("consents.expired")
            table.add_row(
                state,
                c.get("given_by_name") or t("consents.name_withheld"),
                ", ".join(t(f"sector_short.{s}") for s in c["sectors"]),
                app.local(c.get("valid_until"), "%m.%Y") or "—",
                t(f"relation.{c['relation']}"),
                t(f"form.{c['form']}"),
                key=c["id"],
            )
        if not rows:
            self.query_one(Notice).tell(t("consents.none"))

    def action_record(self) -> None:
        def recorded(done: bool | None) -> None:
            if done:
                self.query_one(Notice).tell(self.caseworker.texts("consents.recorded_ok"))
                self.reload()

        self.app.push_screen(ConsentForm(self.cpr, self.age), recorded)

    def action_revoke(self) -> None:
        table = self.query_one(DataTable)
        if not self.consents or table.cursor_row < 0:
            return
        chosen = self.consents[table.cursor_row]
        if chosen.get("revoked_at"):
            return
        t = self.caseworker.texts

        def answer(yes: bool | None) -> None:
            if yes:
                in_worker(self, partial(self._revoke, chosen["id"]), "consents")

        self.app.push_screen(
            ConfirmScreen(
                t(
                    "consents.revoke_q",
                    name=chosen.get("given_by_name") or t("consents.name_withheld"),
                ),
                t("confirm.yes"),
                t("confirm.no"),
            ),
            answer,
        )

    async def _revoke(self, consent_id: str) -> None:
        app = self.caseworker
        try:
            done = await self.hub(lambda: app.client.revoke_consent(self.cpr, consent_id))
        except HubRefused as exc:
            self.query_one(Notice).tell(problems.notice(app.texts, exc), error=True)
            return
        if done is not None:
            self.query_one(Notice).tell(app.texts("consents.revoked_ok"))
            await self._load()
