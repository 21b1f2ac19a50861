"""Name the child's coordinator (tovholder): an organisation from the directory and a contact.

``PUT /v1/children/{cpr}/coordinator`` replaces whoever was named before; the hub accepts it
only from an organisation with its own active case for the child, and only for an
organisation it knows. Prefilled with the coordinator named now, or with my organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Select, Static

from tui.screens.form import CaseworkerForm

_CONTACT_ROWS = (
    (("name", 200), ("role", 100)),
    (("phone", 40), ("email", 200)),
)
"""The contact's fields, row by row: (field, longest value)."""


class CoordinatorForm(CaseworkerForm):
    """Dismisses with True once the hub has the new coordinator, False when cancelled."""

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
            for row in _CONTACT_ROWS:
                with Horizontal(classes="row"):
                    for field, max_length in row:
                        yield self._contact_input(contact, field, max_length)
            yield from self.footer()

    def _contact_input(self, contact: Mapping[str, Any], field: str, max_length: int) -> Input:
        return Input(
            value=str(contact.get(field) or ""),
            placeholder=self.caseworker.texts(f"coord.{field}"),
            max_length=max_length,
            id=f"contact-{field}",
        )

    def on_mount(self) -> None:
        self.query_one("#organisation", Select).focus()

    def action_save(self) -> None:
        organisation = self.query_one("#organisation", Select).value
        if not isinstance(organisation, str):
            self.missing("coord.organisation")
            return
        name, role = self.text_of("contact-name"), self.text_of("contact-role")
        for value, label in ((name, "coord.name"), (role, "coord.role")):
            if not value:
                self.missing(label)
                return
        body: dict[str, Any] = {
            "organisation": organisation,
            "contact": {
                "name": name,
                "role": role,
                "phone": self.text_of("contact-phone") or None,
                "email": self.text_of("contact-email") or None,
            },
        }
        self.submit(
            "coordinator-form", lambda: self.caseworker.client.set_coordinator(self.cpr, body)
        )
