"""A child's consents: see all, record one, revoke one, dispute one another organisation
attested — with the age rule spelt out.

Each consent shows who gave it (relation, form), until when, how the hub knows it (verified
through the consent service, or attested by an organisation's caseworker), and per sector
what it opens for this child as the hub judges it; an owner's dispute is marked. Above the
list: the age rule, what the hub's policy keeps closed to an attested consent, and what is
open to the caller's organisation now (the overview's per-sector state).

After a consent is recorded or revoked the child overview is looked at again at once
(``look_again``, one logged look) and its new consent state shown here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui import problems
from tui.screens.base import CaseworkerRoom
from tui.screens.confirm import ConfirmScreen
from tui.screens.consent_form import ConsentForm
from tui.screens.consent_text import consent_card, opens_text, policy_line, shown_verdicts
from tui.screens.dispute_form import DisputeForm, may_dispute
from tui.screens.formatting import age_rule_key, show_cpr
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar
from tui.workers import in_worker
from wire.errors import HubRefused

__all__ = ["ConsentsScreen", "LookAgain"]

LookAgain = Callable[[], Awaitable[Mapping[str, Any] | None]]
"""Look at the child overview again (one logged look): its new consent state, or None when
it could not be read."""


class ConsentsScreen(Screen[None], CaseworkerRoom):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "record", show=False),
        Binding("r", "revoke", show=False),
        Binding("d", "dispute", show=False),
        Binding("escape", "app.pop_screen", show=False),
        Binding("question_mark", "app.help", show=False),
    ]

    def __init__(
        self, cpr: str, state: Mapping[str, Any], look_again: LookAgain | None = None
    ) -> None:
        super().__init__()
        self.cpr = cpr
        self.state = state  # the overview's consent state: age, per-sector verdicts, previews
        self.look_again = look_again
        self.consents: list[dict[str, Any]] = []

    @property
    def age(self) -> int:
        return int(self.state["age"])

    def compose(self) -> ComposeResult:
        t = self.caseworker.texts
        yield TopBar()
        yield ConnectionBanner()
        yield Static(t("consents.title", cpr=show_cpr(self.cpr), age=self.age), classes="heading")
        yield Static(id="rule")
        yield Static(id="for-us")
        yield OptionList(id="consents")
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        self.show_keys()
        self.show_state()
        self.ready()
        self.query_one(OptionList).focus()
        self.reload()

    def show_keys(self) -> None:
        """The keys that work on the highlighted consent: ``d`` only for one the caller's
        organisation may dispute."""
        t = self.caseworker.texts
        keys = [("n", t("key.record")), ("r", t("key.revoke"))]
        if self._disputable() is not None:
            keys.append(("d", t("key.dispute")))
        self.query_one(KeyBar).show([*keys, ("esc", t("key.back"))])

    def _highlighted(self) -> dict[str, Any] | None:
        option = self.query_one(OptionList).highlighted_option
        return next((c for c in self.consents if option and c["id"] == option.id), None)

    def _disputable(self) -> dict[str, Any] | None:
        app = self.caseworker
        chosen = self._highlighted()
        if chosen is None or not may_dispute(
            chosen, org_gln=app.org_gln, org_sector=app.org_sector
        ):
            return None
        return chosen

    def on_option_list_option_highlighted(self, _: OptionList.OptionHighlighted) -> None:
        self.show_keys()

    def show_state(self) -> None:
        """The rules above the list and what is open to the caller now, from ``state``."""
        app = self.caseworker
        t = app.texts
        rule = t(age_rule_key(self.age))
        policy = policy_line(t, self.state.get("would_open") or {})
        self.query_one("#rule", Static).update(rule + (f"\n{policy}" if policy else ""))
        verdicts = shown_verdicts(self.state.get("sectors") or {}, leave_out=app.org_sector)
        line = Text(t("consents.for_us", org=app.org_name or app.org_gln) + " ", style="bold")
        line.append_text(opens_text(t, verdicts))
        self.query_one("#for-us", Static).update(line)

    def reload(self) -> None:
        self.start("consents", self._load)

    async def _load(self) -> None:
        app = self.caseworker
        rows = await self.hub(lambda: app.client.consents(self.cpr))
        if rows is None:
            return
        self.consents = rows
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        for n, c in enumerate(rows):
            card = Option(
                consent_card(app.texts, c, local=app.local, org_label=app.org_label), c["id"]
            )
            listing.add_options([None, card] if n else [card])
        if rows:
            listing.highlighted = min(highlighted or 0, len(rows) - 1)
        else:
            self.query_one(Notice).tell(app.texts("consents.none"))
        self.show_keys()

    async def _changed(self, outcome: str) -> None:
        """A consent was recorded or revoked: the overview looked at again, the list read
        again, the outcome said."""
        if self.look_again is not None:
            state = await self.look_again()
            if state is not None:
                self.state = state
                self.show_state()
        await self._load()
        self.query_one(Notice).tell(self.caseworker.texts(outcome))

    def action_record(self) -> None:
        def recorded(done: bool | None) -> None:
            if done:
                in_worker(self, partial(self._changed, "consents.recorded_ok"), "consents")

        self.app.push_screen(ConsentForm(self.cpr, self.state), recorded)

    def action_dispute(self) -> None:
        chosen = self._disputable()
        if chosen is None:
            return

        def disputed(done: bool | None) -> None:
            if done:
                in_worker(self, partial(self._changed, "consents.disputed_ok"), "consents")

        self.app.push_screen(DisputeForm(self.cpr, chosen), disputed)

    def action_revoke(self) -> None:
        chosen = self._highlighted()
        if chosen is None or chosen.get("revoked_at"):
            return
        t = self.caseworker.texts

        def answer(yes: bool | None) -> None:
            if yes:
                in_worker(self, partial(self._revoke, chosen["id"]), "consents")

        name = chosen.get("given_by_name") or t("consents.name_withheld")
        self.app.push_screen(
            ConfirmScreen(t("consents.revoke_q", name=name), t("confirm.yes"), t("confirm.no")),
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
            await self._changed("consents.revoked_ok")
