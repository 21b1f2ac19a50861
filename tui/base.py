"""What both apps share: the hub client, the words, the clock, and staying connected.

Network calls run in Textual workers (``run_worker`` on async methods), so the screen never
waits for the hub. Every call goes through :func:`tui.screens.base.through_hub`, which tells
the app by message whether the hub answered: when it cannot be reached the banner is shown
and a timer tries ``/healthz`` every few seconds; when it answers again the banner goes and
the current screen reloads (:meth:`tui.screens.base.HubRoom.reload`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.timer import Timer

from messages.timezone import COPENHAGEN
from tui.clock import Clock, parse_time, system_clock
from tui.i18n import Texts
from tui.screens.base import HubAnswered, HubLost, HubRoom, ScreenReady, through_hub
from tui.screens.help import HelpScreen
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.top_bar import TopBar
from wire.client import HubClient
from wire.errors import HubUnavailable

T = TypeVar("T")
RETRY_SECONDS = 3.0


class HubApp(App[None]):
    """An app that talks to one hub through one :class:`HubClient`."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", show=False)]
    HELP_KEYS: ClassVar[Sequence[tuple[str, str]]] = ()
    """What the help screen lists: (key, text key of what it does)."""

    def __init__(
        self,
        client: HubClient,
        *,
        texts: Texts | None = None,
        clock: Clock = system_clock,
        refresh_seconds: float = 2.0,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        super().__init__()
        self.client = client
        self.texts = texts or Texts()
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self.retry_seconds = retry_seconds
        self.connected = True
        self.me: dict[str, Any] = {}
        self._retry: Timer | None = None

    # --- time ------------------------------------------------------------------------------

    def local(self, moment: datetime | str | None, fmt: str = "%H:%M") -> str:
        if moment is None:
            return ""
        if isinstance(moment, str):
            moment = parse_time(moment)
        return moment.astimezone(COPENHAGEN).strftime(fmt)

    def now(self) -> datetime:
        return self.clock()

    # --- the hub ---------------------------------------------------------------------------

    async def hub(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """``await call()``; None (and the banner) when the hub cannot be reached."""
        return await through_hub(self, call)

    def on_hub_lost(self, _: HubLost) -> None:
        self.lost()

    def on_hub_answered(self, _: HubAnswered) -> None:
        if not self.connected:
            self.found()

    def on_screen_ready(self, _: ScreenReady) -> None:
        self.update_chrome()

    def lost(self) -> None:
        if self.connected:
            self.connected = False
            self.update_chrome()
        if self._retry is None:
            self._retry = self.set_interval(self.retry_seconds, self._try_again)

    def found(self) -> None:
        self.connected = True
        if self._retry is not None:
            self._retry.stop()
            self._retry = None
        self.update_chrome()
        if isinstance(self.screen, HubRoom):
            self.screen.reload()

    async def _try_again(self) -> None:
        try:
            await self.client.healthz()
        except HubUnavailable:
            return
        self.found()

    async def on_unmount(self) -> None:
        await self.client.close()

    async def _who(self) -> None:
        """Who I am and the organisation directory, asked once at start-up."""
        me = await self.hub(self.client.whoami)
        directory = await self.hub(self.client.organisations)
        if me is not None:
            self.me = me
        if directory is not None:
            self.keep_directory(directory)
        self.update_chrome()

    def keep_directory(self, directory: list[dict[str, Any]]) -> None:
        """Keep what the app needs of the organisation directory."""

    # --- app-wide keys ---------------------------------------------------------------------

    def action_help(self) -> None:
        t = self.texts
        keys = [(key, t(label)) for key, label in self.HELP_KEYS]
        self.push_screen(HelpScreen(t("help.title"), keys, t("help.close")))

    # --- the top line and the banner on every screen ---------------------------------------

    def title_line(self) -> str:
        return "Samspil"

    def hub_state(self) -> str:
        """The top line's right-hand words about the hub."""
        return self.texts("hub.ok" if self.connected else "hub.lost")

    def update_chrome(self) -> None:
        hub = self.hub_state()
        for bar in self.screen.query(TopBar):
            bar.show(self.title_line(), self.local(self.now()), hub, connected=self.connected)
        for banner in self.screen.query(ConnectionBanner):
            banner.update(self.texts("banner.lost", seconds=f"{self.retry_seconds:g}"))
            banner.display = not self.connected
