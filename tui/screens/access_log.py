"""Who looked at this child's data, and others' views of my organisation's entries."""

from __future__ import annotations

from typing import Any, ClassVar

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
        self.opened([("esc", self.caseworker.texts("key.back"))])
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
        whose = t.genitive(app.org_name)
        out.append("\n" + t("log.notifications", whose=whose) + "\n", style="bold")
        mine = [n for n in notes if n.get("child_cpr") == self.cpr]
        seen = [n for n in mine if "viewer" in n]  # the views; the rest: what it was told
        for n in seen:
            viewer = n["viewer"]
            out.append(
                f" {app.local(n['at'], '%d.%m %H:%M')}  {fit(viewer['name'], 22)}  "
                f"{viewer['person']}\n"
            )
        if not seen:
            out.append(t("log.none") + "\n")
        told = [n for n in mine if "about" in n]
        if told:
            out.append("\n" + t("log.told", org=app.org_name) + "\n", style="bold")
        for n in told:
            out.append(f" {app.local(n['at'], '%d.%m %H:%M')}  {fit(n['about']['name'], 22)}  ")
            out.append(told_line(t, n) + "\n")
            if n.get("detail"):
                out.append(f"   {n['detail']}\n", style="dim")
        self.query_one("#log", Static).update(out)


def told_line(t: Any, note: dict[str, Any]) -> str:
    """What the organisation was told: a new partner with whom to call there, a consent that
    opened its entries, a dispute of its consent."""
    contact = note.get("contact") or {}
    reach = ", ".join(str(part) for part in (contact.get("role"), contact.get("phone")) if part)
    who = contact.get("name", "") + (f" ({reach})" if reach else "")
    return str(t(f"log.{note['kind']}", contact=who))
