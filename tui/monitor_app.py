"""``samspil monitor``: the operator monitor (operator or admin role).

``stale_after``: seconds without a poll by a partner's system after which it is highlighted
(the command line's ``--stale-after`` minutes, default 15). The title names the region the
hub serves (the summary's ``region``, ``SAMSPIL_REGION_NAME``); until the summary is read, or
from a hub that does not say, the operator's own organisation. ``where``: words the top line
shows after the title (``samspil demo`` shows its hub's URL there, which the monitor would
otherwise hide).
"""

from __future__ import annotations

from typing import Any

from tui.base import HubApp
from tui.screens.base import HubUptime
from tui.screens.monitor import STALE_POLL_SECONDS, MonitorScreen, age
from tui.workers import in_worker


class MonitorApp(HubApp):
    CSS_PATH = "monitor.tcss"
    HELP_KEYS = (
        ("tab", "key.next"),
        ("enter", "key.trail"),
        ("r", "key.redeliver"),
        ("s", "key.report"),
        ("d", "key.token"),
        ("f", "key.format"),
        ("c", "key.certificate"),
        ("x", "key.expired"),
        ("/", "key.filter"),
        ("q", "key.quit"),
    )

    def __init__(
        self,
        *args: Any,
        stale_after: float = STALE_POLL_SECONDS,
        where: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.where = where
        self.names: dict[str, str] = {}
        self.stale_after = stale_after
        self.uptime: float | None = None  # of the hub process that answered last
        self.region: str | None = None  # the region the hub serves, from its summary

    def hub_state(self) -> str:
        state = super().hub_state()
        if self.connected and self.uptime is not None:
            state = self.texts("mon.up", age=age(self.uptime)) + "  " + state
        return state

    def title_line(self) -> str:
        region = self.region or self.me.get("organisation", {}).get("name")
        head = self.texts("mon.title", region=region) if region else "Samspil"
        return f"{head} · {self.where}" if self.where else head

    def keep_region(self, region: str | None) -> None:
        if region and region != self.region:
            self.region = region
            self.update_chrome()

    def org_label(self, gln: str) -> str:
        return self.names.get(gln, gln)

    def on_mount(self) -> None:
        self.push_screen(MonitorScreen())
        in_worker(self, self._who, "who")

    def keep_directory(self, directory: list[dict[str, Any]]) -> None:
        self.names = {o["gln"]: o["name"] for o in directory}

    def on_hub_uptime(self, event: HubUptime) -> None:
        self.uptime = event.seconds
        self.update_chrome()
