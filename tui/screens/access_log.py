"""Who looked at this child's data, and others' views of my organisation's entries."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.screens.base import CaseworkerRoom
from tui.screens.formatting import fit, show_cpr
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar


class AccessLogScreen(Screen[None], CaseworkerRoom):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", show=False)]

    def __init__(self, cpr: str) -> None:
        super().__init__()
        self.cpr = cpr

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield ConnectionBanner()
        with VerticalScroll(id="body"):
            yield Static(id="log")
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(KeyBar).show([("esc", self.caseworker.texts("key.back"))])
        self.ready()
        self.reload()

    def reload(self) -> None:
        self.start("log", self._load)

    async def _load(self) -> None:
        app = self.caseworker
        t = app.texts
        views = await self.hub(lambda: app.client.access_log(self.cpr))
        notes = await self.hub(app.client.access_notifications)
        if views is None or notes is None:
            return
        out = Text()
        out.append(t("log.title", cpr=show_cpr(self.cpr)) + "\n\n", style="bold")
        out.append(t("log.views") + "\n", style="bold")
        for v in views:
            orgs = ", ".join(d["name"] for d in v.get("disclosed", []))
            person = v["person"] + (" *" if v.get("on_behalf_of") else "")
            out.append(
                f" {app.local(v['at'], '%d.%m %H:%M')}  {fit(v['organisation_name'], 22)}  "
                f"{fit(person, 16)}  {t('log.saw', orgs=orgs)}\n"
            )
        if any(v.get("on_behalf_of") for v in views):
            out.append(" * " + t("log.on_behalf") + "\n", style="dim")
        if not views:
            out.append(t("log.none") + "\n")
        out.append("\n" + t("log.notifications", org=app.org_name) + "\n", style="bold")
        mine = [n for n in notes if n.get("child_cpr") == self.cpr]
        for n in mine:
            viewer = n["viewer"]
            out.append(
                f" {app.local(n['at'], '%d.%m %H:%M')}  {fit(viewer['name'], 22)}  "
                f"{viewer['person']}\n"
            )
        if not mine:
            out.append(t("log.none") + "\n")
        self.query_one("#log", Static).update(out)
