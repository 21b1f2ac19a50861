"""What a screen stands on: its app, seen through one typed property, and the messages it
posts to the app.

A screen never imports its app's module (an import-linter contract in ``pyproject.toml``
says so). What it needs from the app is a :class:`typing.Protocol`: :class:`Caseworker` for
the caseworker app's screens (``self.caseworker``), :class:`Monitor` for the operator
monitor's (``self.monitor``) — the hub client, the clock, the words, the settings and what
the app has learnt (who I am, the directory). What a screen has to tell its app it posts to
the app as a Textual message:

- :class:`HubLost` / :class:`HubAnswered`: a call could not reach the hub / one did; the app
  shows or hides the banner, retries ``/healthz`` and reloads the screen when the hub is back;
- :class:`~tui.workers.WorkRefused`: a worker's hub call was refused and the work did not
  handle it; the app says so on the screen, or asks for a new token (see :mod:`tui.workers`);
- :class:`ScreenReady`: the screen is up; the app draws its top line and banner;
- :class:`LetterRead` (caseworker): a letter was read; the app keeps it for the threads;
- :class:`HubUptime` (monitor): how long the hub process has run, for the top line.

A screen is a Textual screen with a room mixed in after its Textual base, e.g.
``class ChildScreen(Screen[None], CaseworkerRoom)`` or
``class ConsentForm(ModalScreen[bool], CaseworkerRoom)``: Textual takes a screen's CSS from
its first base, so the room comes second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from textual import events, on
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

from messages.medcom.model import Correspondence
from messages.medcom.registry import SchemaRegistry
from tui.i18n import Texts
from tui.widgets.key_bar import KeyBar
from tui.workers import HubAnswered, HubHost, HubLost, in_worker, through_hub
from wire.client import HubClient

__all__ = [
    "Caseworker",
    "CaseworkerRoom",
    "HubAnswered",
    "HubLost",
    "HubRoom",
    "HubUptime",
    "LetterRead",
    "Monitor",
    "MonitorRoom",
    "ScreenHost",
    "ScreenReady",
    "through_hub",
]

T = TypeVar("T")


# --- what the screens need from their app --------------------------------------------------


class ScreenHost(Protocol):
    """What every screen needs from the app it runs in."""

    @property
    def client(self) -> HubClient: ...

    @property
    def texts(self) -> Texts: ...

    @property
    def refresh_seconds(self) -> float: ...

    def now(self) -> datetime: ...

    def local(self, moment: datetime | str | None, fmt: str = "%H:%M") -> str: ...

    def org_label(self, gln: str) -> str: ...


class Caseworker(ScreenHost, Protocol):
    """The caseworker app, as its screens see it."""

    @property
    def me(self) -> Mapping[str, Any]: ...

    @property
    def directory(self) -> Sequence[Mapping[str, Any]]: ...

    @property
    def letters(self) -> Mapping[str, Correspondence]: ...

    @property
    def answers(self) -> Mapping[str, str]: ...

    @property
    def org_gln(self) -> str: ...

    @property
    def org_name(self) -> str: ...

    @property
    def org_sector(self) -> str: ...

    @property
    def system_takes_letters(self) -> bool:
        """The organisation's case system takes its letters in (``letters_consumed_by``):
        the app reads them, answers and forwards them, never takes them out of the inbox."""
        ...

    def keep_letters_owner(self, owner: str) -> None:
        """Who takes the letters in, as the hub said it last (``system`` or ``people``)."""
        ...

    async def registry(self) -> SchemaRegistry: ...


class Monitor(ScreenHost, Protocol):
    """The operator monitor, as its screens see it."""

    @property
    def stale_after(self) -> float: ...

    def keep_region(self, region: str | None) -> None:
        """The region the hub serves (the summary's ``region``), for the title."""
        ...


# --- what the screens tell their app -------------------------------------------------------


class ScreenReady(Message):
    """A screen is up: its top line and banner want drawing."""


class LetterRead(Message):
    """A letter was read: the letter it is, and which letter identifier it answers."""

    def __init__(
        self, message_id: str, *, letter: Correspondence | None, answers: str | None
    ) -> None:
        super().__init__()
        self.message_id = message_id
        self.letter = letter
        self.answers = answers


class HubUptime(Message):
    """How long the hub process that answered has run (None: it does not say)."""

    def __init__(self, seconds: float | None) -> None:
        super().__init__()
        self.seconds = seconds


# --- the rooms -----------------------------------------------------------------------------


class HubRoom(DOMNode):
    """A screen that talks to the hub: :meth:`hub` for one call, :meth:`start` for a load in a
    worker, :meth:`reload` (what the app calls when the hub is back)."""

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._loads_running: set[str] = set()
        self._loads_again: dict[str, Callable[[], Awaitable[None]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if issubclass(cls, Screen) and not issubclass(cls.__bases__[0], Screen):
            raise TypeError(f"{cls.__name__}: the Textual screen comes first, then the room")

    async def hub(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """``await call()``; None (and the banner) when the hub cannot be reached; raises as
        :func:`tui.workers.through_hub` says (a refusal left unhandled is the app's)."""
        return await through_hub(cast(HubHost, self.app), call)

    def start(self, group: str, load: Callable[[], Awaitable[None]]) -> None:
        """Run ``load()`` in a worker; while one of the same group runs, the newest request
        waits and runs after it (a refresh never piles up, a new lookup is not lost, and no
        coroutine is made that is never awaited). A refused load is started again the same
        way when the app is told to (a new token)."""
        if group in self._loads_running:
            self._loads_again[group] = load
            return
        self._loads_running.add(group)
        latest = load

        async def run() -> None:
            nonlocal latest
            current: Callable[[], Awaitable[None]] | None = load
            try:
                while current is not None:
                    latest = current
                    await current()
                    current = self._loads_again.pop(group, None)
            finally:
                self._loads_running.discard(group)
                self._loads_again.pop(group, None)

        # the function: no coroutine exists until it runs
        in_worker(self, run, group, again=lambda: self.start(group, latest))

    def reload(self) -> None:
        """Load again what the screen shows (nothing, unless the screen says otherwise)."""

    def ready(self) -> None:
        """Ask the app to draw this screen's top line and banner."""
        self.app.post_message(ScreenReady())

    def opened(self, keys: list[tuple[str, str]], *, focus: str | None = None) -> None:
        """The screen is up: its ``keys`` shown in its :class:`KeyBar`, its top line and
        banner asked for (:meth:`ready`), and the focus on the widget ``focus`` selects."""
        self.query_one(KeyBar).show(keys)
        self.ready()
        if focus is not None:
            self.query_one(focus).focus()

    @on(events.ScreenResume)
    def _chrome_again(self) -> None:
        """Back on this screen: its top line drawn again (the clock moved on meanwhile)."""
        self.ready()


class CaseworkerRoom(HubRoom):
    """A screen of the caseworker app."""

    @property
    def caseworker(self) -> Caseworker:
        return cast(Caseworker, self.app)


class MonitorRoom(HubRoom):
    """A screen of the operator monitor."""

    @property
    def monitor(self) -> Monitor:
        return cast(Monitor, self.app)
