"""Write a letter (XDIS91) or a reply: receiver from the directory, the child, subject,
priority, text and whether to ask for a receipt. Built and checked by the message layer."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from messages.errors import MessageError
from messages.identifiers import new_episode_id
from messages.medcom.correspondence import new_correspondence, reply_reference
from messages.medcom.documents import build_message
from messages.medcom.model import Correspondence, Party, Patient, Priority
from tui.client import HubRefused
from tui.screens.child import cpr_problem
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from tui.caseworker_app import CaseworkerApp


def _party(gln: str, name: str) -> Party:
    return Party(
        ean=gln, identifier=gln, identifier_code="lokationsnummer", organisation_name=name[:35]
    )


class ComposeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", show=False),
        Binding("escape", "app.pop_screen", show=False),
    ]

    def __init__(self, *, reply_to: Correspondence | None = None, cpr: str | None = None) -> None:
        super().__init__()
        self.reply_to = reply_to
        self.cpr = cpr

    @property
    def hub_app(self) -> CaseworkerApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.hub_app
        t = app.texts
        reply = self.reply_to
        title = t("compose.reply_title", subject=reply.subject) if reply else t("compose.title")
        receivers = [
            (f"{o['name']} ({o['gln']})", o["gln"])
            for o in app.directory
            if o["gln"] != app.org_gln
        ]
        yield TopBar()
        yield ConnectionBanner()
        with VerticalScroll(id="body"):
            yield Static(title, classes="heading")
            yield Select(
                receivers,
                prompt=t("compose.to"),
                value=reply.sender.ean if reply else Select.BLANK,
                id="receiver",
            )
            with Horizontal(classes="row"):
                yield Input(
                    value=(reply.patient.cpr or "") if reply else (self.cpr or ""),
                    placeholder=t("compose.cpr"),
                    id="cpr",
                )
                yield Input(
                    value=reply.patient.surname if reply else "",
                    placeholder=t("compose.surname"),
                    id="surname",
                )
            subject = f"Sv: {reply.subject}"[:70] if reply and reply.subject else ""
            yield Input(
                value=subject, placeholder=t("compose.subject"), max_length=70, id="subject"
            )
            with Horizontal(classes="row"):
                yield Select(
                    [(t(f"priority.{p.value}"), p.value) for p in Priority],
                    value=Priority.ROUTINE.value,
                    allow_blank=False,
                    id="priority",
                )
                yield Checkbox(t("compose.ack"), value=True, id="ack")
            yield TextArea(id="text")
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.hub_app.texts
        self.query_one(KeyBar).show([("ctrl+s", t("compose.send")), ("esc", t("key.back"))])
        self.hub_app.update_chrome()
        self.query_one("#text" if self.reply_to else "#receiver").focus()

    def action_send(self) -> None:
        app = self.hub_app
        notice = self.query_one(Notice)
        receiver = self.query_one("#receiver", Select).value
        cpr = self.query_one("#cpr", Input).value.strip().replace("-", "")
        if not isinstance(receiver, str):
            notice.tell("✖ " + app.texts("compose.to"), error=True)
            return
        if problem := cpr_problem(cpr):
            notice.tell(app.texts("child.invalid", reason=problem), error=True)
            return
        reply = self.reply_to
        names = {o["gln"]: o["name"] for o in app.directory}
        try:
            letter = new_correspondence(
                sender=_party(app.org_gln, app.org_name),
                receiver=_party(receiver, names.get(receiver, receiver)),
                patient=Patient(
                    cpr=cpr, surname=self.query_one("#surname", Input).value.strip() or "Ukendt"
                ),
                subject=self.query_one("#subject", Input).value.strip(),
                text=self.query_one("#text", TextArea).text,
                priority=Priority(str(self.query_one("#priority", Select).value)),
                ask_for_receipt=self.query_one("#ack", Checkbox).value,
                episode_of_care_identifier=(reply.episode_of_care_identifier if reply else None)
                or new_episode_id(),
                references=(reply_reference(reply.letter_identifier),) if reply else (),
            )
            document = build_message(letter)
        except MessageError as exc:
            notice.tell(app.texts("error", detail=exc.message), error=True)
            return
        self.hub_app.start(self, "compose", partial(self._send, document))

    async def _send(self, document: bytes) -> None:
        app = self.hub_app
        try:
            done = await app.hub(lambda: app.client.submit(document))
        except HubRefused as exc:
            self.query_one(Notice).tell(app.texts("error", detail=exc.detail), error=True)
            return
        if done is not None:
            app.notify(app.texts("compose.sent", id=str(done["id"])[:8]))
            app.pop_screen()
