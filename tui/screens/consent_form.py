"""Record a consent: who gave it, their relation, which sectors may share, form, validity.

The relation has no default: whoever records the consent chooses it (a young person of 15
or more is not assumed to have given it, nor a parent). Before saving, the form shows what
the consent will open for this child per chosen sector — the hub's own preview for an
attested consent the caller's organisation records (``would_open`` in the overview's consent
state: the age rule, incl. the health-sector rule from 15, and the hub's policy on attested
consents). When it would leave some chosen sector closed, saving asks first.

A consent may also name organisations from the directory (its scope besides its sectors, or
instead of them): each is judged as an organisation of its sector.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, Input, Select, SelectionList, Static

from messages.timezone import COPENHAGEN
from tui.screens.confirm import ConfirmScreen
from tui.screens.consent_text import SECTORS, closed, named_text, opens_text
from tui.screens.form import CaseworkerForm
from tui.screens.formatting import age_rule_key

__all__ = ["FORMS", "RELATIONS", "ConsentForm"]

RELATIONS = ("custodial-parent", "guardian", "self")
FORMS = ("written", "oral", "digital")


class ConsentForm(CaseworkerForm):
    def __init__(self, cpr: str, state: Mapping[str, Any]) -> None:
        super().__init__()
        self.cpr = cpr
        self.state = state  # the overview's consent state (age, would_open)
        self.would_open: Mapping[str, Mapping[str, str]] = state.get("would_open") or {}

    @property
    def age(self) -> int:
        return int(self.state["age"])

    def relations(self) -> list[str]:
        """The relations whose consent the hub takes at this child's age (all, when the hub
        does not say)."""
        return [r for r in RELATIONS if r in self.would_open] or list(RELATIONS)

    def compose(self) -> ComposeResult:
        t = self.caseworker.texts
        with VerticalScroll(id="dialog"):
            yield Static(t("form.title"), classes="heading")
            yield Static(t(age_rule_key(self.age)), classes="rule")
            yield Input(placeholder=t("form.name"), id="given-by")
            with Horizontal(classes="row"):
                yield Select(
                    [(t(f"relation.{r}"), r) for r in self.relations()],
                    prompt=t("form.relation"),
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
            yield Static(id="preview")
            yield Input(placeholder=t("form.until"), id="until")
            others = self.others()
            if others:
                yield Static(t("form.orgs"), classes="label")
                yield SelectionList[str](
                    *((str(o["name"]), str(o["gln"])) for o in others), id="organisations"
                )
            yield from self.footer()

    def others(self) -> list[Mapping[str, Any]]:
        """The directory's organisations besides the caller's own (those a consent may name)."""
        app = self.caseworker
        return [o for o in app.directory if o.get("gln") != app.org_gln and o.get("sector")]

    def on_mount(self) -> None:
        self.show_preview()
        self.query_one("#given-by", Input).focus()

    # --- what the consent will open --------------------------------------------------------

    def relation(self) -> str | None:
        value = self.query_one("#relation", Select).value
        return value if isinstance(value, str) else None

    def chosen_sectors(self) -> list[str]:
        return [s for s in SECTORS if self.query_one(f"#sector-{s}", Checkbox).value]

    def named(self) -> list[Mapping[str, Any]]:
        """The organisations chosen to be named, as the directory has them."""
        chosen = set(self.query(SelectionList).first().selected) if self.others() else set()
        return [o for o in self.others() if o["gln"] in chosen]

    def named_verdicts(self) -> dict[str, str]:
        """Per named organisation (by name), what the consent opens of its data: its
        sector's verdict in the hub's preview."""
        relation = self.relation()
        preview = (self.would_open.get(relation) or {}) if relation else {}
        return {
            str(o["name"]): preview[str(o["sector"])]
            for o in self.named()
            if str(o["sector"]) in preview
        }

    def verdicts(self) -> dict[str, str]:
        """Per chosen sector, what the chosen relation's attested consent opens (the hub's
        preview; empty without a relation or a preview)."""
        relation = self.relation()
        if relation is None:
            return {}
        preview = self.would_open.get(relation) or {}
        return {s: preview[s] for s in self.chosen_sectors() if s in preview}

    def show_preview(self) -> None:
        t = self.caseworker.texts
        relation = self.relation()
        preview = self.query_one("#preview", Static)
        verdicts = self.verdicts()
        named = self.named_verdicts()
        if relation is None:
            preview.update(Text(t("form.choose"), style="italic"))
        elif verdicts or named:
            line = Text(t("form.preview", relation=t(f"relation.{relation}")) + " ")
            line.append_text(opens_text(t, verdicts, short=False))
            if verdicts and named:
                line.append(" · ", style="dim")
            line.append_text(named_text(t, named))
            preview.update(line)
        else:
            preview.update("")

    def on_select_changed(self, _: Select.Changed) -> None:
        self.show_preview()

    def on_checkbox_changed(self, _: Checkbox.Changed) -> None:
        self.show_preview()

    def on_selection_list_selected_changed(self, _: SelectionList.SelectedChanged[str]) -> None:
        self.show_preview()

    # --- saving ----------------------------------------------------------------------------

    def action_save(self) -> None:
        name = self.text_of("given-by")
        if not name:
            self.missing("form.name")
            return
        relation = self.relation()
        if relation is None:
            self.missing("form.relation_label")
            self.query_one("#relation", Select).focus()
            return
        sectors = self.chosen_sectors()
        named = sorted(str(o["gln"]) for o in self.named())
        if not sectors and not named:
            self.missing("form.sectors")
            return
        body: dict[str, Any] = {
            "given_by_name": name,
            "relation": relation,
            "form": self.query_one("#form", Select).value,
            "sectors": sectors,
        }
        if named:
            body["organisations"] = named
        until = self.text_of("until")
        if until:
            try:
                day = date.fromisoformat(until)
            except ValueError:
                self.missing("form.until")
                return
            body["valid_until"] = datetime.combine(day, time(23, 59), COPENHAGEN).isoformat()
        t = self.caseworker.texts
        shut = [(t(f"sector.{s}"), v) for s, v in closed(self.verdicts()).items()]
        shut += [(name, v) for name, v in self.named_verdicts().items() if v != "shared"]
        if not shut:
            self._send(body)
            return
        lines = "\n".join(f"✖ {what}: {t(f'verdict.{v}')}" for what, v in shut)

        def answer(yes: bool | None) -> None:
            if yes:
                self._send(body)

        self.app.push_screen(
            ConfirmScreen(t("form.confirm", closed=lines), t("confirm.yes"), t("confirm.no")),
            answer,
        )

    def _send(self, body: dict[str, Any]) -> None:
        self.submit("consent-form", lambda: self.caseworker.client.add_consent(self.cpr, body))
