"""The child overview: cases, appointments, whom to call, the coordinator and consent.

Enter a CPR number (checked as it is typed); the overview comes from
``GET /v1/children/{cpr}/overview`` in a worker. When nothing may be shown the screen says
why and what to do, in one line each.

One look is one logged read: the overview. Beside it the app reads only its organisation's
own notifications (``GET /v1/access-notifications``, not logged): how often others have seen
its entries about the child, and which organisations have newly joined the child's case
(``new-partner``). Under the head line: who consented, how the hub knows it (verified or
attested) and until when, and per reason the sectors still closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
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
from tui.screens.consent_text import opened_by_line, withheld_lines
from tui.screens.consents import ConsentsScreen
from tui.screens.coordinator_form import CoordinatorForm
from tui.screens.formatting import cpr_problem, fit, fit_words, show_cpr
from tui.screens.lookups import ChildLookedUp
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar
from wire.errors import HubError, HubRefused

RULE = "─"
ROOM = 78  # the overview's width when it has not been laid out yet (80 columns)
NAME_LEAST = 20  # an organisation's column, at least (the rest of a case row takes 54)
NEW_PARTNER_DAYS = 30  # a partner that joined within this many days is "new"
NOTES_READ = 1000  # the most notifications the hub lists at once: the newest, all children


class ChildScreen(Screen[None], CaseworkerRoom):
    # the overview takes the focus from the start (letters are keys here; "/" goes to the
    # CPR field): Textual's default would give it to the CPR field until on_mount moves it,
    # and a key typed while the first screen appears would land in the field
    AUTO_FOCUS = "#body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_cpr", show=False),
        Binding("i", "app.inbox", show=False),
        Binding("b", "app.archive", show=False),
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
        self._drawn: tuple[str, dict[str, Any], int | None, list[dict[str, Any]]] | None = None

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
        self.opened(
            [
                ("/", t("key.child")),
                ("i", t("key.inbox")),
                ("n", t("key.new")),
                ("s", t("key.consent")),
                ("t", t("key.coordinator")),
                ("l", t("key.log")),
                ("?", t("key.help")),
            ],
            focus="#body",  # letters are keys here; "/" goes to the CPR field
        )

    # --- input -----------------------------------------------------------------------------

    def action_focus_cpr(self) -> None:
        self.query_one("#cpr", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        value = event.value.strip()
        notice = self.query_one(Notice)
        t = self.caseworker.texts
        digits = value.replace("-", "")
        if len(digits) >= 10:
            problem = cpr_problem(value, t)
        elif len(digits) >= 6 or not digits.isdigit():
            typed = digits[:6].ljust(6, "0") + "0000"
            problem = cpr_problem(typed, t) if digits.isdigit() else None
            problem = problem or (None if digits.isdigit() else cpr_problem(digits, t))
        else:
            problem = None
        if problem:
            notice.tell(self.caseworker.texts("child.invalid", reason=problem), error=True)
            return
        notice.tell("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        problem = cpr_problem(value, self.caseworker.texts)
        if problem:
            self.query_one(Notice).tell(
                self.caseworker.texts("child.invalid", reason=problem), error=True
            )
            return
        self.cpr = value.replace("-", "")
        self.query_one("#body").focus()
        self.reload()

    def look_up(self, cpr: str) -> None:
        """Show ``cpr``'s overview, as if it had been typed (from "Mine børn")."""
        self.query_one("#cpr", Input).value = show_cpr(cpr)
        self.cpr = cpr
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
        notes: list[dict[str, Any]] | None = None
        try:  # how often others looked, who joined: the overview is shown whatever the answer
            notes = await self.hub(lambda: app.client.access_notifications(limit=NOTES_READ))
        except HubError as exc:  # refused, or a 429/5xx: said under the overview
            refused = exc
        seen: int | None = None
        partners: list[dict[str, Any]] = []
        if notes is not None:
            about = [n for n in notes if n.get("child_cpr") == cpr]
            seen = sum(1 for n in about if "viewer" in n)
            since = app.now() - timedelta(days=NEW_PARTNER_DAYS)
            partners = [
                n for n in about if n.get("kind") == "new-partner" and parse_time(n["at"]) >= since
            ]
        self.overview = overview
        self.app.post_message(ChildLookedUp(cpr))  # the person's recent lookups
        self._drawn = (cpr, overview, seen, partners)
        self.query_one("#overview", Static).update(
            self.render_overview(cpr, overview, seen, partners)
        )
        if refused is not None:
            notice.tell(problems.notice(app.texts, refused), error=True)
        else:
            notice.tell(self.outcome)
        self.outcome = ""

    def on_resize(self) -> None:
        """Drawn again at the new width: the columns take the room there is."""
        if self._drawn is not None and self.overview is self._drawn[1]:
            self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        if self._drawn is not None and self.overview is self._drawn[1]:
            self.query_one("#overview", Static).update(self.render_overview(*self._drawn))

    async def look_again(self) -> Mapping[str, Any] | None:
        """Look at the overview again now (after a consent changed): its consent state."""
        if self.cpr:
            await self._load(self.cpr)
        return self.overview["consent"] if self.overview is not None else None

    # --- drawing ---------------------------------------------------------------------------

    def render_overview(
        self,
        cpr: str,
        overview: dict[str, Any],
        seen: int | None,
        partners: list[dict[str, Any]] | None = None,
    ) -> Text:
        """``seen``: how often other organisations looked (None: not known just now);
        ``partners``: the new-partner notifications to show."""
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
        for opening in consent.get("opened_by", []):
            line = opened_by_line(t, opening, app.local, app.org_sector)
            if line:
                out.append(line + "\n", style="green")
        withheld = withheld_lines(t, consent.get("sectors", {}), app.org_sector)
        for line, style in withheld:
            out.append(line + "\n", style=style)
        for note in partners or []:
            out.append(self.partner_line(note) + "\n", style="bold cyan")
        out.append(_section(t("child.cases")))
        cases = [*overview["own"]["cases"], *overview["others"]["cases"]]
        appointments = sorted(
            [*overview["own"]["appointments"], *overview["others"]["appointments"]],
            key=lambda a: (parse_time(a["starts_at"]) < app.now(), parse_time(a["starts_at"])),
        )
        room = self.query_one("#overview", Static).size.width or ROOM
        longest = max(
            (len(str(e["organisation_name"])) for e in [*cases, *appointments]), default=0
        )
        width = max(NAME_LEAST, min(longest, room - 54))  # as wide as the names and the row
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
            out.append(f"{fit_words(case['organisation_name'], width)} ")
            out.append(f"{fit(t('kind.' + case['kind']), 17)} ")
            out.append(f"{fit(when, 16)} ")
            contact = case.get("contact") or {}
            out.append(fit(str(contact.get("name", "")), 15).rstrip() + "\n")
            if active and contact.get("phone"):
                out.append(" " * (width + 38) + str(contact["phone"]) + "\n", style="dim")
        out.append(_section(t("child.appointments")))
        if not appointments:
            out.append(t("child.none") + "\n")
        for appointment in appointments:
            out.append(f" {app.local(appointment['starts_at'], '%d.%m %H:%M')}  ")
            out.append(f"{fit_words(appointment['organisation_name'], width)} ")
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
        said = t("child.seen_once" if seen == 1 else "child.seen", n="?" if seen is None else seen)
        if len(line) + len(said) + 4 <= room:
            out.append(f" {line}   {said}\n")
        else:  # on a line of its own rather than wrapped mid-sentence
            out.append(f" {line}\n {said}\n")
        return out

    # --- elsewhere -------------------------------------------------------------------------

    def partner_line(self, note: Mapping[str, Any]) -> str:
        """``✚ Ny partner 01.12: Børne- og Ungdomspsyk.: Bo Overlæge 88 88 88 88``:
        who joined the child's case, and whom to call there."""
        app = self.caseworker
        t = app.texts
        partner = note.get("about") or {}
        contact = note.get("contact") or {}
        reach = " ".join(str(contact[k]) for k in ("name", "phone") if contact.get(k))
        return t(
            "child.new_partner",
            date=app.local(note["at"], "%d.%m"),
            org=partner.get("name", ""),
            contact=f": {reach}" if reach else "",
        )

    def action_consents(self) -> None:
        if self.cpr and self.overview is not None:
            self.app.push_screen(
                ConsentsScreen(self.cpr, self.overview["consent"], look_again=self.look_again)
            )

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
