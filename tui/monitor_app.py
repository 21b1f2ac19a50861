"""``samspil monitor``: the operator monitor (operator or admin role)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from tui.base import HubApp
from tui.screens.help import HelpScreen
from tui.screens.monitor import MonitorScreen
from tui.workers import in_worker


class MonitorApp(HubApp):
    CSS_PATH = "monitor.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", show=False)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.names: dict[str, str] = {}

    def title_line(self) -> str:
        org = self.me.get("organisation", {}).get("name")
        head = self.texts("mon.title", org=org) if org else "Samspil"
        return head

    def org_label(self, gln: str) -> str:
        return self.names.get(gln, gln)

    def on_mount(self) -> None:
        self.push_screen(MonitorScreen())
        in_worker(self, self._who, "who")

    async def _who(self) -> None:
        me = await self.hub(self.client.whoami)
        directory = await self.hub(self.client.organisations)
        if me is not None:
            self.me = me
        if directory is not None:
            self.names = {o["gln"]: o["name"] for o in directory}
        self.update_chrome()

    def action_help(self) -> None:
        t = self.texts
        keys = [
            ("tab", t("key.next")),
            ("enter", t("key.trail")),
            ("r", t("key.redeliver")),
            ("s", t("key.report")),
            ("d", t("key.token")),
            ("x", t("status.expired")),
            ("q", t("key.quit")),
        ]
        self.push_screen(HelpScreen(t("help.title"), keys, t("help.close")))
