"""The child overview: cases, appointments, whom to call, the coordinator and consent.

Enter a CPR number (checked as it is typed); the overview comes from
``GET /v1/children/{cpr}/overview`` in a worker. When nothing may be shown the screen says
why and what to do, in one line each.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static

from tui import problems
from tui.clock import parse_time
from tui.screens.access_log import AccessLogScreen
from tui.screens.base import CaseworkerRoom
from tui.screens.consents import ConsentsScreen
from tui.screens.coordinator_form import CoordinatorForm
from tui.screens.formatting import cpr_problem, fit, show_cpr
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar
from wire.errors import HubError, HubRefused

RULE = "─"


class ChildScreen(Screen[None], CaseworkerRoom):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_cpr", show=False),
        Binding("i", "app.inbox", show=False),
        Binding("n", "app.compose", show=False),
        Binding("s", "consents", show=False),
        Binding("t", "coordinator", show=False),
        Binding("l", "access_log", show=False),
        Binding("question_mark", "app.help", show=False),
        Binding("q", "app.quit", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cpr: str | None = None
        self.overview: dict[str, Any] | None = None
        self.outcome = ""  # said under the overview once it has been drawn again

    def compose(self) -> ComposeResult:
        t = self.caseworker.texts
        yield TopBar()
        yield ConnectionBanner()
        yield Input(placeholder=t("child.prompt"), id="cpr", max_length=11)
        with VerticalScroll(id="body"):
            yield Static(t("child.start"), id="overview")
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.caseworker.texts
        self.query_one(KeyBar).show(
            [
                ("/", t("key.child")),
                ("i", t("key.inbox")),
                ("n", t("key.new")),
                ("s", t("key.consent")),
                ("t", t("key.coordinator")),
                ("l", t("key.log")),
                ("?", t("key.help")),
            ]
        )
        self.ready()
        self.query_one("#body").focus()  # letters are keys here; "/" goes to the CPR field

    # --- input -----------------------------------------------------------------------------

    def action_focus_cpr(self) -> None:
        self.query_one("#cpr", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        value = event.value.strip()
        notice = self.query_one(Notice)
        digits = value.replace("-", "")
        if len(digits) >= 10:
            problem = cpr_problem(value)
        elif len(digits) >= 6 or not digits.isdigit():
            problem = cpr_problem(digits[:6].ljust(6, "0") + "0000") if digits.isdigit() else None
            problem = problem or (None if digits.isdigit() else cpr_problem(digits))
        else:
            problem = None
        if problem:
            notice.tell(self.caseworker.texts("child.invalid", reason=problem), error=True)
            return
        notice.tell("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        problem = cpr_problem(value)
        if problem:
            self.query_one(Notice).tell(
                self.caseworker.texts("child.invalid", reason=problem), error=True
            )
            return
        self.cpr = value.replace("-", "")
        self.query_one("#body").focus()
        self.reload()

    def reload(self) -> None:
        if self.cpr:
            self.start("overview", partial(self._load, self.cpr))

    async def _load(self, cpr: str) -> None:
        app = self.caseworker
        notice = self.query_one(Notice)
        try:
            overview = await self.hub(lambda: app.client.overview(cpr))
        except HubRefused as exc:
            self.overview = None
            if exc.code == "no-active-case":
                text = app.texts("child.no_case", org=app.org_name)
            else:
                text = problems.notice(app.texts, exc)
            self.query_one("#overview", Static).update(Text(text))
            notice.tell(self.outcome)
            return
        if overview is None:
            return
        refused: HubError | None = None
        try:  # how often others looked: the overview is shown whatever the answer
            views = await self.hub(lambda: app.client.access_log(cpr))
        except HubError as exc:  # refused, or a 429/5xx: said under the overview
            views, refused = None, exc
        seen = None
        if views is not None:
            seen = sum(1 for v in views if v.get("organisation") != app.org_gln)
        self.overview = overview
        self.query_one("#overview", Static).update(self.render_overview(cpr, overview, seen))
        if refused is not None:
            notice.tell(problems.notice(app.texts, refused), error=True)
        else:
            notice.tell(self.outcome)
        self.outcome = ""

    # --- drawing ---------------------------------------------------------------------------

    def render_overview(self, cpr: str, overview: dict[str, Any], seen: int | None) -> Text:
        """``seen``: how often other organisations looked (None: not known just now)."""
        app = self.caseworker
        t = app.texts
        consent = overview["consent"]
        out = Text()
        head = t("child.head", cpr=show_cpr(cpr), age=consent.get("age", "?"))
        state = t(f"consent.state.{consent.get('state', 'missing')}")
        out.append(head, style="bold")
        out.append("   ")
        out.append(
            state, style={"complete": "green", "partial": "yellow"}.get(consent["state"], "red")
        )
        out.append("\n")
        withheld = [
            t(f"sector.{sector}")
            for sector, verdict in sorted(consent.get("sectors", {}).items())
            if verdict != "shared" and sector != app.org_sector
        ]
        if withheld:
            out.append(
                t(
                    "child.consent_missing",
                    own=t(f"sector.{app.org_sector}"),
                    others=", ".join(withheld),
                )
                + "\n",
                style="yellow",
            )
        out.append(_section(t("child.cases")))
        cases = [*overview["own"]["cases"], *overview["others"]["cases"]]
        if not cases:
            out.append(t("child.none") + "\n")
        for case in cases:
            active = case["status"] == "active"
            when = (
                t("child.active_from", date=_day(case["opened_on"]))
                if active
                else t("child.closed", date=_day(case.get("closed_on") or case["opened_on"]))
            )
            out.append(" ● " if active else " ○ ", style="green" if active else "dim")
            out.append(f"{fit(case['organisation_name'], 20)} ")
            out.append(f"{fit(t('kind.' + case['kind']), 17)} ")
            out.append(f"{fit(when, 16)} ")
            contact = case.get("contact") or {}
            out.append(fit(str(contact.get("name", "")), 15).rstrip() + "\n")
            if active and contact.get("phone"):
                out.append(" " * 58 + str(contact["phone"]) + "\n", style="dim")
        out.append(_section(t("child.appointments")))
        appointments = sorted(
            [*overview["own"]["appointments"], *overview["others"]["appointments"]],
            key=lambda a: (parse_time(a["starts_at"]) < app.now(), parse_time(a["starts_at"])),
        )
        if not appointments:
            out.append(t("child.none") + "\n")
        for appointment in appointments:
            out.append(f" {app.local(appointment['starts_at'], '%d.%m %H:%M')}  ")
            out.append(f"{fit(appointment['organisation_name'], 20)} ")
            person = appointment.get("with") or {}
            out.append(f"{fit(person.get('role', ''), 20)} ")
            out.append(t(f"appt.{appointment['status']}") + "\n")
        for hint in overview.get("hints", []):
            sectors = " + ".join(t(f"sector.{s}") for s in hint.get("sectors", []))
            out.append("   " + t("child.hint", sectors=sectors) + "\n", style="bold yellow")
        coordinator = overview.get("coordinator")
        if coordinator:
            line = t(
                "child.coordinator",
                org=coordinator["organisation_name"],
                name=coordinator["contact"]["name"],
            )
        elif withheld:  # one may be named in a sector whose entries are withheld
            line = t("child.coordinator_hidden")
        else:
            line = t("child.no_coordinator")
        out.append(_section(""))
        out.append(f" {line}   {t('child.seen', n='?' if seen is None else seen)}\n")
        return out

    # --- elsewhere -------------------------------------------------------------------------

    def action_consents(self) -> None:
        if self.cpr and self.overview is not None:
            self.app.push_screen(ConsentsScreen(self.cpr, int(self.overview["consent"]["age"])))

    def action_coordinator(self) -> None:
        if self.cpr and self.overview is not None:

            def named(done: bool | None) -> None:
                if done:
                    self.outcome = self.caseworker.texts("coord.named")
                    self.reload()

            current = self.overview.get("coordinator")
            self.app.push_screen(CoordinatorForm(self.cpr, current), named)

    def action_access_log(self) -> None:
        if self.cpr and self.overview is not None:
            self.app.push_screen(AccessLogScreen(self.cpr))


def _section(title: str) -> Text:
    line = Text()
    line.append(f" {title} " if title else " ", style="bold")
    line.append(RULE * 60 + "\n", style="dim")
    return line


def _day(iso: str) -> str:
    return date.fromisoformat(iso[:10]).strftime("%d.%m")
