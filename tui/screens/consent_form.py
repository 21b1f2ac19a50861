"""Record a consent: who gave it, their relation, which sectors may share, form, validity."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, Input, Select, Static

from messages.timezone import COPENHAGEN
from tui.screens.form import CaseworkerForm
from tui.screens.formatting import age_rule_key

SECTORS = ("ppr", "family", "psychiatry", "gp")
RELATIONS = ("custodial-parent", "self", "guardian")
FORMS = ("written", "oral", "digital")


class ConsentForm(CaseworkerForm):
    def __init__(self, cpr: str, age: int) -> None:
        super().__init__()
        self.cpr = cpr
        self.age = age

    def compose(self) -> ComposeResult:
        t = self.caseworker.texts
        relation = "self" if self.age >= 15 else "custodial-parent"
        with VerticalScroll(id="dialog"):
            yield Static(t("form.title"), classes="heading")
            yield Static(t(age_rule_key(self.age)), classes="rule")
            yield Input(placeholder=t("form.name"), id="given-by")
            with Horizontal(classes="row"):
                yield Select(
                    [(t(f"relation.{r}"), r) for r in RELATIONS],
                    value=relation,
                    allow_blank=False,
                    id="relation",
                )
                yield Select(
                    [(t(f"form.{f}"), f) for f in FORMS],
                    value="written",
                    allow_blank=False,
                    id="form",
                )
            with Horizontal(classes="row"):
                for sector in SECTORS:
                    yield Checkbox(t(f"sector.{sector}"), value=True, id=f"sector-{sector}")
            yield Input(placeholder=t("form.until"), id="until")
            yield from self.footer()

    def on_mount(self) -> None:
        self.query_one("#given-by", Input).focus()

    def action_save(self) -> None:
        name = self.text_of("given-by")
        if not name:
            self.missing("form.name")
            return
        body: dict[str, Any] = {
            "given_by_name": name,
            "relation": self.query_one("#relation", Select).value,
            "form": self.query_one("#form", Select).value,
            "sectors": [s for s in SECTORS if self.query_one(f"#sector-{s}", Checkbox).value],
        }
        until = self.text_of("until")
        if until:
            try:
                day = date.fromisoformat(until)
            except ValueError:
                self.missing("form.until")
                return
            body["valid_until"] = datetime.combine(day, time(23, 59), COPENHAGEN).isoformat()
        self.submit("consent-form", lambda: self.caseworker.client.add_consent(self.cpr, body))
