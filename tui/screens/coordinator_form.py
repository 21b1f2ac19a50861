"""Name the child's coordinator (tovholder): an organisation from the directory and a contact.

``PUT /v1/children/{cpr}/coordinator`` replaces whoever was named before; the hub accepts it
only from an organisation with its own active case for the child, and only for an
organisation it knows. Prefilled with the coordinator named now, or with my organisation.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Select, Static

from tui.screens.base import CaseworkerRoom
from tui.widgets.notice import Notice
from wire.errors import HubRefused


class CoordinatorForm(ModalScreen[bool], CaseworkerRoom):
    """Dismisses with True once the hub has the new coordinator, False when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", show=False),
        Binding("escape", "cancel", show=False),
    ]

    def __init__(self, cpr: str, current: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.cpr = cpr
        self.current = current or {}

    def compose(self) -> ComposeResult:
        app = self.caseworker
        t = app.texts
        # a coordinator named before, or me at my organisation
        contact = self.current.get("contact") or {"name": app.me.get("name", "")}
        choices = [(f"{o['name']} ({o['gln']})", str(o["gln"])) for o in app.directory]
        known = {gln for _, gln in choices}
        chosen = self.current.get("organisation") or app.org_gln
        with VerticalScroll(id="dialog"):
            yield Static(t("coord.title"), classes="heading")
            yield Static(t("coord.rule"), classes="rule")
            yield Select(
                choices,
                prompt=t("coord.organisation"),
                value=chosen if chosen in known else Select.NULL,
                id="organisation",
            )
            with Horizontal(classes="row"):
                yield Input(
                    value=str(contact.get("name") or ""),
                    placeholder=t("coord.name"),
                    max_length=200,
                    id="contact-name",
                )
                yield Input(
                    value=str(contact.get("role") or ""),
                    placeholder=t("coord.role"),
                    max_length=100,
                    id="contact-role",
                )
            with Horizontal(classes="row"):
                yield Input(
                    value=str(contact.get("phone") or ""),
                    placeholder=t("coord.phone"),
                    max_length=40,
                    id="contact-phone",
                )
                yield Input(
                    value=str(contact.get("email") or ""),
                    placeholder=t("coord.email"),
                    max_length=200,
                    id="contact-email",
                )
            yield Notice(id="form-notice")
            yield Static(f"{t('form.save')}   {t('form.cancel')}", classes="keys")

    def on_mount(self) -> None:
        self.query_one("#organisation", Select).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def action_save(self) -> None:
        t = self.caseworker.texts
        notice = self.query_one("#form-notice", Notice)
        organisation = self.query_one("#organisation", Select).value
        if not isinstance(organisation, str):
            notice.tell("✖ " + t("coord.organisation"), error=True)
            return
        name, role = self._value("contact-name"), self._value("contact-role")
        for value, label in ((name, "coord.name"), (role, "coord.role")):
            if not value:
                notice.tell("✖ " + t(label), error=True)
                return
        body: dict[str, Any] = {
            "organisation": organisation,
            "contact": {
                "name": name,
                "role": role,
                "phone": self._value("contact-phone") or None,
                "email": self._value("contact-email") or None,
            },
        }
        self.start("coordinator-form", partial(self._save, body))

    async def _save(self, body: dict[str, Any]) -> None:
        app = self.caseworker
        try:
            done = await self.hub(lambda: app.client.set_coordinator(self.cpr, body))
        except HubRefused as exc:
            self.query_one("#form-notice", Notice).tell(
                app.texts("error", detail=exc.detail), error=True
            )
            return
        if done is not None:
            self.dismiss(True)
