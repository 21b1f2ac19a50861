"""What both apps share: the hub client, the words, the clock, staying connected, and never
crashing on what the hub says.

Network calls run in Textual workers (:func:`tui.workers.in_worker`), so the screen never
waits for the hub. Every call goes through :func:`tui.workers.through_hub`, which tells
the app by message whether the hub answered: when it cannot be reached the banner is shown
and a timer tries ``/healthz`` every few seconds; when it answers again the banner goes and
the current screen reloads (:meth:`tui.screens.base.HubRoom.reload`).

A refusal a worker leaves unhandled reaches the app (:class:`tui.workers.WorkRefused`):

* the hub no longer takes the person's token (a 401: expired, unknown, disabled): no more
  calls are sent, and :class:`~tui.screens.session.SessionScreen` asks for a new token over
  the current screen. The token is tried (``/v1/whoami``; it must be the same person's) and
  put in the client's hands; the work that was refused meanwhile runs again. Esc ends the
  app with :attr:`~tui.exits.ExitStatus.SESSION_ENDED`;
* anything else (a 4xx problem, a 429, a 5xx, an answer that cannot be read): one line on
  the screen where it happened, in the app's words (:mod:`tui.problems`), never the hub's.

Anything else that escapes — a fault in the app — reaches Textual's last resort, which here
logs and prints one line (the error's kind and where; never its text or a traceback, whose
locals would hold the token and the child's CPR number) and ends the app with
:attr:`~tui.exits.ExitStatus.INTERNAL_ERROR`. Quitting before the hub ever answered ends it
with :attr:`~tui.exits.ExitStatus.HUB_UNREACHABLE`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.dom import DOMNode, NoScreen
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import WorkerFailed

from messages.timezone import COPENHAGEN
from tui import problems
from tui.clock import Clock, parse_time, system_clock
from tui.exits import ExitStatus, fault_line
from tui.i18n import Texts
from tui.screens.base import HubRoom, ScreenReady
from tui.screens.help import HelpScreen
from tui.screens.session import SessionScreen
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar
from tui.workers import HubAnswered, HubLost, SessionEnded, WorkRefused, in_worker, through_hub
from wire.client import HubClient
from wire.errors import CredentialRefused, HubError, HubUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_SECONDS = 3.0


class HubApp(App[None]):
    """An app that talks to one hub through one :class:`HubClient`."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", show=False)]
    HELP_KEYS: ClassVar[Sequence[tuple[str, str]]] = ()
    """What the help screen lists: (key, text key of what it does)."""
    CHROME_SECONDS: ClassVar[float] = 15.0
    """How often the top line's clock is drawn again and, while the hub is thought to be
    there, the hub asked (``/healthz``), so the top line never says ``hub ●`` of a hub that
    has gone while nothing else was asked."""

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
        self.reached = False  # the hub has answered at least once since the app started
        self.session_ended = False  # the hub refused the token; no call is sent until a new one
        self.session = 0  # how many new tokens have been taken into use since the start
        self.me: dict[str, Any] = {}
        self._retry: Timer | None = None
        self._asking = False  # the token prompt is open, or a new token is being tried
        self._session_reason = ""
        self._waiting: dict[tuple[int, str], tuple[DOMNode, Callable[[], None]]] = {}

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
        self.reached = True
        if not self.connected:
            self.found()

    def on_work_refused(self, event: WorkRefused) -> None:
        """A worker's call was refused and the work did not handle it (see the docstring)."""
        error = event.error
        if isinstance(error, SessionEnded) and (
            error.refusal is None or error.session != self.session
        ):  # nothing new about the token in use: the work waits for one, or runs now
            self._wait_or_run(event)
        elif isinstance(error, SessionEnded) or problems.ends_session(error):
            self._waiting[(id(event.node), event.group)] = (event.node, event.again)
            refusal = error.refusal if isinstance(error, SessionEnded) else error
            self.end_session(refusal if isinstance(refusal, CredentialRefused) else None)
        elif isinstance(error, HubUnavailable) and error.status == 0:
            self.lost()  # the screen loads again once the hub is back
        else:
            self.reached = True
            self.tell(event.node, problems.notice(self.texts, error))

    def _wait_or_run(self, event: WorkRefused) -> None:
        """Work refused with a token no longer in use, or not sent while the session is over:
        run it again once there is a token, or now if there is one already."""
        if self.session_ended:
            self._waiting[(id(event.node), event.group)] = (event.node, event.again)
        elif event.node.is_attached:
            event.again()

    def tell(self, node: DOMNode, line: str, *, error: bool = True) -> None:
        """Say ``line`` in the notice line of ``node``'s screen (the current screen's when
        ``node`` is gone or is the app), or else as a notification."""
        screen: Screen[Any] = self.screen
        if node is not self and node.is_attached:
            with contextlib.suppress(NoScreen):
                screen = node.screen
        try:
            notice = screen.query(Notice).first()
        except NoMatches:
            self.notify(line, severity="error" if error else "information", markup=False)
            return
        notice.tell(line, error=error)

    # --- the session: a new token when the hub refuses the one in use -------------------

    def end_session(self, refusal: CredentialRefused | None) -> None:
        """Send nothing more and ask for a new token (once, however many calls were refused)."""
        self.session_ended = True
        if self._asking:
            return
        self._asking = True
        self.reached = True
        t = self.texts
        self._session_reason = (
            problems.sentence(t, refusal) if refusal is not None else t("session.title")
        )
        self.push_screen(SessionScreen(t, self._session_reason), self._token_given)

    def _token_given(self, token: str | None) -> None:
        if token is None:
            reason = self._session_reason
            self.exit(
                return_code=ExitStatus.SESSION_ENDED,
                message=_line(self.texts("exit.session", reason=reason)),
            )
            return
        self.client.use_token(token)  # the prompt took only a token a header can carry
        in_worker(self, self._try_token, "session")

    def _ask_again(self, why: str) -> None:
        again = SessionScreen(self.texts, self._session_reason, again=why)
        self.push_screen(again, self._token_given)

    async def _try_token(self) -> None:
        """Ask the hub who the new token is; carry on if it is the same person's."""
        t = self.texts
        try:
            me = await self.client.whoami()
        except HubError as exc:
            key = "session.refused" if problems.ends_session(exc) else "session.unchecked"
            self._ask_again(t(key, reason=problems.sentence(t, exc)))
            return
        if self.me and _person(me) != _person(self.me):
            name, org = _person(me)[:2]
            whose = t.genitive(name)
            self._ask_again(t("session.other", whose=whose, org=org, me=_person(self.me)[0]))
            return
        self.me = me
        self.session += 1
        self.session_ended = False
        self._asking = False
        waiting, self._waiting = list(self._waiting.values()), {}
        self.update_chrome()
        self.tell(self, t("session.resumed"), error=False)
        for node, again in waiting:
            if node.is_attached:
                again()

    def on_screen_ready(self, _: ScreenReady) -> None:
        self.update_chrome()

    def tick(self) -> None:
        """The clock drawn again, and the hub asked whether it is there (see
        :attr:`CHROME_SECONDS`); a lost hub is retried as any other."""
        self.update_chrome()
        if self.connected and not self.session_ended:
            in_worker(self, self._probe, "probe")

    async def _probe(self) -> None:
        try:
            await self.client.healthz()
        except HubUnavailable as exc:
            if exc.status == 0:
                self.lost()
                return
        except HubError:
            pass  # it answers: whatever it says, a screen's next call will tell
        if not self.reached:
            self.reached = True
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
        except HubError:
            pass  # something answers there again; the screen's reload will say what
        self.reached = True
        self.found()

    async def on_unmount(self) -> None:
        await self.client.close()

    # --- how the app ends ------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit: :attr:`ExitStatus.QUIT`, or :attr:`ExitStatus.HUB_UNREACHABLE` (and a line
        saying so) when the hub has not answered once since the app started."""
        if self.reached:
            self.exit(return_code=ExitStatus.QUIT)
            return
        hub = urlsplit(self.client.base_url).netloc.rpartition("@")[2]  # never a user:password
        self.exit(
            return_code=ExitStatus.HUB_UNREACHABLE,
            message=_line(self.texts("exit.unreachable", hub=hub)),
        )

    def _handle_exception(self, error: Exception) -> None:
        """Textual's last resort for an exception nothing handled (Textual's own prints a
        traceback with every frame's locals: the client's headers, the child's CPR number).

        A hub refusal in a worker not started by :func:`tui.workers.in_worker` is told like
        any other; anything else ends the app with :attr:`ExitStatus.INTERNAL_ERROR` and one
        line, logged and printed on exit: the error's kind and where, never its text."""
        cause = error.error if isinstance(error, WorkerFailed) else error
        if isinstance(error, WorkerFailed) and isinstance(cause, HubError | SessionEnded):
            self.post_message(WorkRefused(cause, self, "worker", _nothing))
            return
        line = fault_line(cause)
        log.error("samspil %s ended: internal error: %s", type(self).__name__, line)
        if self._exception is None:  # as Textual does: a test's pilot raises it at its end
            self._exception = cause if isinstance(cause, Exception) else error
            self._exception_event.set()
        self.exit(return_code=ExitStatus.INTERNAL_ERROR)
        self.panic(_line(self.texts("exit.internal", reason=line)))

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
        if not self.connected:
            return self.texts("hub.lost")
        return self.texts("hub.ok" if self.reached else "hub.unknown")

    def update_chrome(self) -> None:
        hub = self.hub_state()
        for bar in self.screen.query(TopBar):
            bar.show(self.title_line(), self.local(self.now()), hub, connected=self.connected)
        for banner in self.screen.query(ConnectionBanner):
            banner.update(self.texts("banner.lost", seconds=f"{self.retry_seconds:g}"))
            banner.display = not self.connected


def _person(me: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """Whom ``/v1/whoami`` names: (name, organisation's name, its GLN, role)."""
    organisation = me.get("organisation") or {}
    return (
        str(me.get("name", "")),
        str(organisation.get("name", "")),
        str(organisation.get("gln", "")),
        str(me.get("role", "")),
    )


def _nothing() -> None:
    """Nothing to start again: the worker's work is not known."""


def _line(text: str) -> Text:
    """A line said on exit: one line, however narrow the terminal (a log keeps it whole)."""
    return Text(text, no_wrap=True, overflow="ignore", end="\n")
