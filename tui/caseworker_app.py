"""``samspil tui``: the caseworker app — child overview, consent, inbox and letters.

Starts on the child overview; ``m`` shows "Mine børn" (the organisation's children and the
person's recent lookups, kept in memory only for the session: :mod:`tui.screens.lookups`).
Who the caller is (``/v1/whoami``) and the organisation directory are loaded in a worker at
start-up; MedCom schemas are compiled once, off the event loop, the first time a letter is
read.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from messages.medcom.model import Correspondence
from messages.medcom.registry import SchemaRegistry
from tui.base import HubApp
from tui.screens.archive import ArchiveScreen
from tui.screens.base import LetterRead
from tui.screens.child import ChildScreen
from tui.screens.compose import ComposeScreen
from tui.screens.inbox import InboxScreen
from tui.screens.lookups import ChildLookedUp, OpenChild, RecentLookups
from tui.screens.my_children import MyChildrenScreen
from tui.workers import in_worker


class CaseworkerApp(HubApp):
    CSS_PATH = "caseworker.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("m", "my_children", show=False)]
    HELP_KEYS = (
        ("/", "key.child"),
        ("m", "key.children"),
        ("i", "key.inbox"),
        ("b", "key.archive"),
        ("n", "key.new"),
        ("s", "key.consent"),
        ("t", "key.coordinator"),
        ("l", "key.log"),
        ("enter", "key.open"),
        ("r", "key.reply"),
        ("f", "key.forward"),
        ("k", "key.receipt"),
        ("a", "key.ack"),
        ("v", "key.attachments"),
        ("d", "key.dispute"),
        ("ctrl+s", "key.send"),
        ("esc", "key.back"),
        ("q", "key.quit"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory: list[dict[str, Any]] = []
        self.letters: dict[str, Correspondence] = {}  # read since the app started, for threads
        self.answers: dict[str, str] = {}  # message id -> letter id it answers (read ones)
        self._schemas: SchemaRegistry | None = None
        self._schemas_lock = asyncio.Lock()
        self.recent = RecentLookups()  # this person's lookups, in memory for the session
        self._letters_owner: str | None = None  # as the archive last said; else whoami's

    @property
    def org_gln(self) -> str:
        return str(self.me.get("organisation", {}).get("gln", ""))

    @property
    def org_name(self) -> str:
        return str(self.me.get("organisation", {}).get("name", ""))

    @property
    def org_sector(self) -> str:
        return str(self.me.get("organisation", {}).get("sector", ""))

    @property
    def system_takes_letters(self) -> bool:
        owner = self._letters_owner or self.me.get("organisation", {}).get("letters_consumed_by")
        return owner != "people"

    def keep_letters_owner(self, owner: str) -> None:
        self._letters_owner = owner

    def org_label(self, gln: str) -> str:
        for o in self.directory:
            if o["gln"] == gln:
                return str(o["name"])
        return gln

    def title_line(self) -> str:
        parts = ["Samspil", self.org_name, str(self.me.get("name", ""))]
        return " · ".join(p for p in parts if p)

    async def registry(self) -> SchemaRegistry:
        async with self._schemas_lock:
            if self._schemas is None:
                self._schemas = await asyncio.to_thread(SchemaRegistry)
            return self._schemas

    def on_mount(self) -> None:
        self.push_screen(ChildScreen())
        in_worker(self, self._who, "who")
        self.set_interval(self.CHROME_SECONDS, self.tick)

    def keep_directory(self, directory: list[dict[str, Any]]) -> None:
        self.directory = directory

    def on_letter_read(self, event: LetterRead) -> None:
        if event.letter is not None:
            self.letters[event.message_id] = event.letter
        if event.answers is not None:
            self.answers[event.message_id] = event.answers

    def on_child_looked_up(self, event: ChildLookedUp) -> None:
        self.recent.note(event.cpr, self.now())

    def on_open_child(self, event: OpenChild) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ChildScreen):
            self.pop_screen()
        if isinstance(self.screen, ChildScreen):
            self.screen.look_up(event.cpr)

    # --- app-wide keys ---------------------------------------------------------------------

    def action_my_children(self) -> None:
        # not over a dialog (a question, a form, the token prompt): it is answered first
        if not isinstance(self.screen, MyChildrenScreen | ModalScreen):
            self.push_screen(MyChildrenScreen(self.recent))

    def action_inbox(self) -> None:
        self.push_screen(InboxScreen())

    def action_archive(self) -> None:
        self.push_screen(ArchiveScreen())

    def action_compose(self) -> None:
        cpr = getattr(self.screen, "cpr", None)
        self.push_screen(ComposeScreen(cpr=cpr if isinstance(cpr, str) else None))
