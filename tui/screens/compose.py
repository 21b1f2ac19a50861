"""Write a letter (XDIS91), a reply or a forward: receiver from the directory, the child,
subject, priority, text and whether to ask for a receipt. Built and checked by the message
layer.

A reply goes to the original's sender with ``Sv:``, the same episode of care and a reference
to the letter it answers. A forward goes to a receiver picked from the directory with ``Vs:``,
the same episode of care (so it stays in the thread) and the original quoted below a header.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

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
from messages.medcom.text import to_plain
from tui import problems
from tui.screens.base import CaseworkerRoom
from tui.screens.confirm import ConfirmScreen
from tui.screens.formatting import cpr_problem, short_id
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar


def quoted(texts: Any, letter: Correspondence, sender: str, when: str) -> str:
    """The original below a short header, every line quoted with ``> ``."""
    body = "\n".join(to_plain(block) for block in letter.clinical_information)
    head = [
        texts("forward.header"),
        texts("forward.from", name=sender),
        texts("forward.date", date=when),
        texts("forward.subject", subject=letter.subject or ""),
    ]
    lines = [*head, "", *(f"> {line}" if line else ">" for line in body.splitlines())]
    return "\n\n" + "\n".join(lines)


_LABELS = {
    "receiver": "compose.to",
    "cpr": "compose.cpr",
    "given-name": "compose.given_name",
    "surname": "compose.surname",
    "subject": "compose.subject",
    "priority": "compose.priority",
    "text": "compose.text",
}
"""Each field's label, on its frame: a placeholder is gone once the field is filled in."""
_TYPED = ("cpr", "given-name", "surname", "subject")


def _party(gln: str, name: str) -> Party:
    return Party(
        ean=gln, identifier=gln, identifier_code="lokationsnummer", organisation_name=name[:35]
    )


class ComposeScreen(Screen[None], CaseworkerRoom):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", show=False),
        Binding("escape", "leave", show=False),
    ]

    def __init__(
        self,
        *,
        reply_to: Correspondence | None = None,
        forward_of: Correspondence | None = None,
        cpr: str | None = None,
    ) -> None:
        super().__init__()
        self.reply_to = reply_to
        self.forward_of = forward_of
        self.cpr = cpr

    def compose(self) -> ComposeResult:
        app = self.caseworker
        t = app.texts
        reply, forward = self.reply_to, self.forward_of
        original = reply or forward
        if reply:
            title = t("compose.reply_title", subject=reply.subject)
        elif forward:
            title = t("compose.forward_title", subject=forward.subject)
        else:
            title = t("compose.title")
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
                value=reply.sender.ean if reply else Select.NULL,
                id="receiver",
            )
            with Horizontal(classes="row"):
                yield Input(
                    value=(original.patient.cpr or "") if original else (self.cpr or ""),
                    placeholder=t("compose.cpr"),
                    id="cpr",
                )
                yield Input(
                    value=(original.patient.given_name or "") if original else "",
                    placeholder=t("compose.given_name"),
                    id="given-name",
                )
                yield Input(
                    value=original.patient.surname if original else "",
                    placeholder=t("compose.surname"),
                    id="surname",
                )
            subject = ""
            if original and original.subject:
                subject = f"{'Sv' if reply else 'Vs'}: {original.subject}"[:70]
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
            text = ""
            if forward:
                sender = forward.sender.organisation_name or app.org_label(forward.sender.ean)
                text = quoted(t, forward, sender, app.local(forward.authorised, "%d.%m.%Y %H:%M"))
            yield TextArea(text, id="text")
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.caseworker.texts
        for field, label in _LABELS.items():  # a label stays when the field is filled in
            widget = self.query_one(f"#{field}")
            framed = widget.query_one("SelectCurrent") if isinstance(widget, Select) else widget
            framed.border_title = t(label)
        self.opened(
            [("ctrl+s", t("key.send")), ("esc", t("key.back")), ("ctrl+q", t("key.quit"))],
            focus="#text" if self.reply_to else "#receiver",
        )
        if self.forward_of:
            self.query_one("#text", TextArea).move_cursor((0, 0))  # write above the quote
        self.started = self.draft()

    def draft(self) -> tuple[object, ...]:
        """What the fields hold now."""
        return (
            self.query_one("#receiver", Select).value,
            *(self.query_one(f"#{field}", Input).value for field in _TYPED),
            self.query_one("#priority", Select).value,
            self.query_one("#ack", Checkbox).value,
            self.query_one("#text", TextArea).text,
        )

    def action_leave(self) -> None:
        """Back, after asking whether to throw away what was written since the screen
        opened (nothing asked when nothing was)."""
        if self.draft() == self.started:
            self.app.pop_screen()
            return
        t = self.caseworker.texts

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.pop_screen()

        self.app.push_screen(
            ConfirmScreen(t("compose.discard_q"), t("confirm.yes"), t("confirm.no")), answer
        )

    def action_send(self) -> None:
        app = self.caseworker
        notice = self.query_one(Notice)
        receiver = self.query_one("#receiver", Select).value
        cpr = self.query_one("#cpr", Input).value.strip().replace("-", "")
        if not isinstance(receiver, str):
            notice.tell("✖ " + app.texts("compose.to"), error=True)
            return
        if problem := cpr_problem(cpr, app.texts):
            notice.tell(app.texts("child.invalid", reason=problem), error=True)
            return
        reply = self.reply_to
        original = reply or self.forward_of
        names = {o["gln"]: o["name"] for o in app.directory}
        try:
            letter = new_correspondence(
                sender=_party(app.org_gln, app.org_name),
                receiver=_party(receiver, names.get(receiver, receiver)),
                patient=Patient(
                    cpr=cpr,
                    surname=self.query_one("#surname", Input).value.strip() or "Ukendt",
                    given_name=self.query_one("#given-name", Input).value.strip() or None,
                ),
                subject=self.query_one("#subject", Input).value.strip(),
                text=self.query_one("#text", TextArea).text,
                priority=Priority(str(self.query_one("#priority", Select).value)),
                ask_for_receipt=self.query_one("#ack", Checkbox).value,
                episode_of_care_identifier=(
                    original.episode_of_care_identifier if original else None
                )
                or new_episode_id(),
                references=(reply_reference(reply.letter_identifier),) if reply else (),
            )
            document = build_message(letter)
        except MessageError as exc:  # said by its code: the message layer's words are English
            notice.tell(
                app.texts("error", detail=problems.code_sentence(app.texts, exc.code)), error=True
            )
            return
        self.start("compose", partial(self._send, document))

    async def _send(self, document: bytes) -> None:
        app = self.caseworker
        done = await self.hub(lambda: app.client.submit(document))  # refused: the app says so
        if done is not None:
            self.app.notify(app.texts("compose.sent", id=short_id(done["id"])))
            self.app.pop_screen()
